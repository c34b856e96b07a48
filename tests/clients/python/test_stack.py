"""The client against the running local stack: every route, errors as exceptions with the API's
code, message and field, a listener's token refused for another listener, event batching and
deduplication, SigV4 (the server access mode), the catalogue's operator route, and the
console's admin routes with the operators' ID token."""

from __future__ import annotations

import uuid

import pytest
from musicrec_client import (
    AdminKeyAuth,
    AuthError,
    ClientError,
    ListenerAuth,
    MusicRec,
    NotFound,
    ServerAuth,
    ValidationError,
    static_credentials,
)
from musicrec_client.models import Artist, Song, Station

from local.cognito import listener_token
from tests.local_stack import a_listener

pytestmark = pytest.mark.slow
LOCAL_REGION, LOCAL_KEYS = "us-east-1", static_credentials("test", "test")  # local.aws


def fresh(prefix: str = "sdk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def known(api_stack) -> str:
    """A listener with a batch list."""
    return a_listener(api_stack)


def test_onboarding_then_the_listeners_lists(listener_client):
    user = fresh()
    api = listener_client(user)
    first = api.onboard(user_id=user, age=30, gender="f", limit=5)
    genres = [g.genre for g in first.genres]
    answer = api.onboard(user_id=user, age=30, selected_genres=[g.upper() for g in genres[:2]],
                         answers={"occupation": "student"}, limit=5)  # fmt: skip
    assert answer.source in ("model", "rules", "fallback")
    assert answer.stations
    assert answer.songs
    assert answer.artists
    assert answer.batch_version
    songs = api.recommendations(user, limit=5)
    assert (songs.kind, songs.source, len(songs.items)) == ("songs", "onboarding", 5)
    assert all(isinstance(item, Song) and item.title for item in songs.items)
    artists = api.artists(user, limit=4)
    assert artists.kind == "artists"
    assert len(artists.items) == 4
    assert api.recommendations(user, "artists", limit=3).items[0].name


def test_a_known_listeners_lists_home_and_similar(listener_client, known):
    api = listener_client(known)
    songs = api.recommendations(known, limit=10, max_per_artist=1, max_per_album=1)
    assert songs.source == "personal"
    assert len(songs.items) == 10
    assert len({song.artist_id for song in songs.items}) == 10
    home = api.home(known, limit=3, carousels=4)
    assert 1 <= len(home.carousels) <= 4
    assert home.variant == "softmax"
    kinds = {"for_you": Song, "region_chart": Song, "because_you_played": Song,
             "artists_for_you": Artist, "fans_also_like": Artist,
             "genre_station": Station}  # fmt: skip
    for place, carousel in enumerate(home.carousels):
        assert carousel.position == place
        assert 0 < carousel.propensity <= 1
        assert all(isinstance(item, kinds[carousel.kind]) for item in carousel.items)
    similar = api.similar_items(songs.items[0].id, user_id=known, limit=5)
    assert similar.item_id == songs.items[0].id
    assert similar.items
    artist = api.artists(known, limit=1).items[0].id
    fans = api.similar_artists(artist, limit=5)
    assert fans.artist_id == artist
    assert all(isinstance(a, Artist) for a in fans.items)


def test_a_bad_request_is_an_exception_naming_the_field(listener_client):
    user = fresh()
    api = listener_client(user)
    with pytest.raises(ValidationError) as caught:
        api.onboard(user_id=user, selected_genres=["No Such Genre"])
    error = caught.value
    assert (error.status, error.code, error.field) == (400, "invalid_request", "selected_genres.0")
    assert error.message.startswith("selected_genres.0:")
    with pytest.raises(ValidationError) as caught:
        api.recommendations(user, limit=0)
    assert (caught.value.code, caught.value.field) == ("invalid_request", "limit")
    with pytest.raises(NotFound) as missing:
        api.similar_items("no-such-song")
    assert (missing.value.code, missing.value.field) == ("not_found", "itemId")


def test_a_listeners_token_is_refused_for_another_listener(listener_client, known):
    intruder = listener_client(fresh("intruder"))
    for call, field in ((lambda: intruder.recommendations(known), "userId"),
                        (lambda: intruder.home(known), "userId"),
                        (lambda: intruder.similar_items("s00001", user_id=known), "user_id"),
                        (lambda: intruder.onboard(user_id=known), "user_id")):  # fmt: skip
        with pytest.raises(AuthError) as caught:
            call()
        assert (caught.value.status, caught.value.code, caught.value.field) == (
            403, "forbidden", field
        )  # fmt: skip
    intruder.events.track(known, "play", item_id="s00001")
    with pytest.raises(AuthError) as refused:
        intruder.events.flush()
    assert refused.value.field == "events.0.user_id"
    assert len(intruder.events.rejected) == 1
    assert intruder.events.pending == 0


def test_no_token_is_a_401(api_stack):
    with MusicRec(api_stack.gateway_url, None) as anonymous, pytest.raises(AuthError) as caught:
        anonymous.artists("u1")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        401, "UnauthorizedException", "Unauthorized"
    )  # fmt: skip


def test_events_are_batched_and_a_resent_batch_is_deduplicated(api_stack):
    user = fresh()
    auth = ListenerAuth(api_stack.api_key, lambda: listener_token(user, api_stack.aws_url))
    with MusicRec(api_stack.gateway_url, auth) as api:
        tracked = [api.events.track(user, "play", item_id=f"s{i:05d}") for i in range(150)]
        assert api.events.pending == 50  # the first 100 went as one request
        assert api.events.stored == 100
    assert api.events.pending == 0
    assert api.events.stored == 150
    with MusicRec(api_stack.gateway_url, auth) as again:
        resent = again.post_events(tracked[:100])
    assert (resent.accepted, resent.stored, resent.duplicates) == (100, 0, 100)


def test_impressions_and_clicks_of_a_carousel_count(listener_client, known):
    api = listener_client(known)
    carousel = api.home(known, limit=3).carousels[0]
    api.events.track(known, "impression", recommendation_id=carousel.recommendation_id)
    shown = carousel.items[0]
    key = "artist_id" if isinstance(shown, Artist) else "item_id"
    api.events.track(known, "click", recommendation_id=carousel.recommendation_id,
                     **{key: shown.id})  # fmt: skip
    [acknowledgement] = api.events.flush()
    assert (acknowledgement.stored, acknowledgement.counted) == (2, 2), acknowledgement


def test_the_operator_route(operator, listener_client, known):
    song = listener_client(known).recommendations(known, limit=1).items[0].id
    answer = operator.set_availability(song, True)
    assert (answer.item_id, answer.available) == (song, True)
    with pytest.raises(NotFound) as caught:
        operator.set_availability("no-such-song", True)
    assert caught.value.field == "itemId"
    with pytest.raises(AuthError) as refused:
        listener_client(known).set_availability(song, True)  # a listener is no operator
    assert refused.value.status == 403


def test_a_backend_calls_for_any_listener_with_sigv4(server_mode, known):
    auth = ServerAuth(server_mode.api_key, LOCAL_REGION, LOCAL_KEYS)
    with MusicRec(server_mode.gateway_url, auth) as backend:
        assert backend.recommendations(known, limit=3).source == "personal"
        other = fresh()
        assert backend.home(other, limit=2).user_id == other
        assert backend.onboard(user_id=other, age=22).region
        backend.events.track(other, "play", item_id="s00001")
        backend.events.track(known, "skip", item_id="s00002")
        [acknowledgement] = backend.events.flush()
        assert acknowledgement.accepted == 2
    unsigned = MusicRec(server_mode.gateway_url, None)
    with unsigned, pytest.raises(AuthError) as caught:
        unsigned.artists(known)
    assert (caught.value.status, caught.value.message) == (403, "Missing Authentication Token")


def test_the_console_reads_with_the_operators_token(console, known):
    traffic = console.traffic(hours=1, period=300)
    assert traffic.period_s == 300
    assert {(r.method, r.path) for r in traffic.routes} >= {("GET", "/v1/users/{userId}/home")}
    for route in traffic.routes:
        assert len(route.count.timestamps) == len(route.count.values) == len(route.p99_ms.values)
    assert "onboarding" in traffic.fallback_rate
    experiments = console.experiments(days=1, period=3600)
    assert experiments.experiments
    for experiment in experiments.experiments:
        assert experiment.control in {v.variant for v in experiment.variants}
    kpis = console.kpis(days=2)
    assert (kpis.days, len(kpis.plays_from_recommendations.by_day.values)) == (2, 2)
    models = console.models()
    assert models.batch.active
    assert models.batch.active in {v.version for v in models.batch.versions}
    preview = console.preview_listener(known, limit=3)
    assert (preview.user_id, preview.listener.known) == (known, True)
    assert preview.home.carousels
    assert preview.songs.items
    assert all(isinstance(a, Artist) for a in preview.artists.items)


def test_the_onboarding_preview_answers_lists_and_their_reasons(console):
    preview = console.preview_onboarding(age=30, gender="f", region="us-tx", limit=5)
    assert preview.genres
    assert preview.stations
    assert preview.songs
    assert preview.artists
    assert set(preview.reasons) == {"genres", "stations", "songs", "artists"}
    assert preview.assignment.by == "preview"
    variant = preview.variant
    again = console.preview_onboarding(age=30, gender="f", region="us-tx", limit=5,
                                       variant=variant)  # fmt: skip
    assert (again.variant, again.assignment.by) == (variant, "variant")
    with pytest.raises(ValidationError) as caught:
        console.preview_onboarding(age=30, variant="no-such-variant")
    assert (caught.value.code, caught.value.field) == ("invalid_request", "variant")


def test_a_stale_rollback_is_a_409_and_changes_nothing(console):
    # never the real active version: the session's other tests share this stack
    before = console.models().batch
    with pytest.raises(ClientError) as caught:
        console.rollback_batch("sdk-not-the-active-version")
    error = caught.value
    assert (error.status, error.code, error.field) == (409, "conflict", "expected_active")
    assert console.models().batch.active == before.active


def test_the_console_routes_refuse_other_credentials(api_stack, listener_client, known):
    calls = (lambda api: api.traffic(), lambda api: api.experiments(), lambda api: api.kpis(),
             lambda api: api.models(), lambda api: api.preview_listener(known),
             lambda api: api.preview_onboarding(age=30),
             lambda api: api.rollback_batch("sdk-not-the-active-version"))  # fmt: skip
    listener = listener_client(known)  # an app's key and a listener's token
    admin_key = MusicRec(api_stack.gateway_url, AdminKeyAuth(api_stack.admin_key))
    with admin_key:
        for client in (listener, admin_key):
            for call in calls:
                with pytest.raises(AuthError) as caught:
                    call(client)
                assert (caught.value.status, caught.value.code) == (401, "UnauthorizedException")


def test_bad_console_parameters_are_400s_naming_the_field(console):
    with pytest.raises(ValidationError) as caught:
        console.traffic(hours=72, period=60)  # more than 1,440 points
    assert (caught.value.status, caught.value.field) == (400, "period")
    with pytest.raises(ValidationError) as caught:
        console.kpis(days=0)
    assert caught.value.field == "days"
