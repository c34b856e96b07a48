"""Every route through its Lambda handler, with moto DynamoDB and the real inference server."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from lambdas.handlers import catalog, events, onboarding, recommendations
from lambdas.logic.services import services
from lambdas.store.tables import table
from tests.container.conftest import running_server
from tests.lambdas.api.loaded import handler_tables
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext, api_event
from tests.local_stack import listener_like_its_first

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_server(trained_model_dir: Path):
    with running_server(trained_model_dir) as server:
        yield server


@pytest.fixture(scope="module")
def api(batch_root: Path, model_server) -> Iterator[dict]:
    """moto tables with batch version v1 loaded, and the handlers' environment pointing at them."""
    with handler_tables(batch_root / "v1", model_server.url) as (_, mp):
        yield {"mp": mp, "root": batch_root}


def call(handler, method, path, body=None, **kwargs) -> tuple[int, dict]:
    response = handler.lambda_handler(api_event(method, path, body, **kwargs), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def user_with(variant: str) -> str:
    svc = services()
    return next(f"new-{i}" for i in range(1000) if svc.variant(f"new-{i}") == variant)


def first_record(root: Path, family: str) -> dict:
    """The first record of a family in batch version v1."""
    path = sorted((root / "v1" / family).glob("*.gz"))[0]
    with gzip.open(path, "rt") as handle:
        return json.loads(handle.readline())


def similar_to(root: Path, song: str) -> list[str]:
    """The songs of batch version v1's similar-items record of ``song``."""
    for path in sorted((root / "v1" / "similar-items").glob("*.gz")):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                record = json.loads(line)
                if record["item_id"] == song:
                    return list(record["ids"])
    return []


def a_listener(root: Path) -> str:
    return first_record(root, "personal")["user_id"]


ANSWERS = {"age": 24, "gender": "f", "region": "us-tx", "selected_genres": ["Hip Hop", "R&B"]}


def test_onboarding_model_variant(api, model_server):
    status, body = call(onboarding, "POST", "/v1/onboarding/recommendations",
                        {**ANSWERS, "user_id": user_with("model")})  # fmt: skip
    assert status == 200, body
    assert body["source"] == "model"
    assert body["variant"] == "model"
    assert body["model_version"] not in ("rules", "unknown")
    assert len(body["genres"]) == 3
    assert body["stations"]
    assert body["songs"]
    assert body["artists"]
    assert body["recommendation_id"]


def test_onboarding_rules_variant_answers_a_station_of_a_selected_genre(api):
    status, body = call(onboarding, "POST", "/v1/onboarding/recommendations",
                        {**ANSWERS, "user_id": user_with("rules")})  # fmt: skip
    assert status == 200, body
    assert (body["source"], body["model_version"]) == ("rules", "rules")
    assert body["genres"][0]["genre"] in ANSWERS["selected_genres"]
    assert body["stations"][0]["genre"] == body["genres"][0]["genre"]


class _MisbehavingEndpoint:
    """A TCP server that never answers (``mode="silent"``) or answers garbage."""

    def __init__(self, mode: str) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.mode = mode
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if self.mode == "garbage":
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!")

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("mode", ["silent", "garbage", "down"])
def test_onboarding_falls_back_to_the_rule_when_the_endpoint_fails(api, mode):
    bad = _MisbehavingEndpoint(mode)
    if mode == "down":
        bad.close()
    api["mp"].setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", bad.url)
    api["mp"].setenv("ENDPOINT_TIMEOUT_MS", "200")
    services.cache_clear()
    try:
        status, body = call(onboarding, "POST", "/v1/onboarding/recommendations",
                            {**ANSWERS, "user_id": user_with("model")})  # fmt: skip
    finally:
        bad.close()
        api["mp"].delenv("ENDPOINT_TIMEOUT_MS")
        services.cache_clear()
    assert status == 200, body
    assert body["source"] == "fallback"
    assert body["genres"][0]["genre"] in ANSWERS["selected_genres"]
    assert body["stations"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"age": -1}, "age"),
        ({"age": "old"}, "age"),
        ({"gender": "q"}, "gender"),
        ({"selected_genres": "Rock"}, "selected_genres"),
        ({"limit": 0}, "limit"),
        ({"favourite": "x"}, "favourite"),
        ({"answers": {"q": [1]}}, "answers.q"),
    ],
)
def test_onboarding_validation_errors_name_the_field(api, body, field):
    status, error = call(onboarding, "POST", "/v1/onboarding/recommendations", body)
    assert status == 400
    assert error["code"] == "invalid_request"
    assert error["field"].startswith(field)
    assert field in error["message"]


def test_malformed_bodies_get_400_413_415(api):
    status, error = call(onboarding, "POST", "/v1/onboarding/recommendations", raw_body="{nope")
    assert (status, error["field"]) == (400, "body")
    status, error = call(onboarding, "POST", "/v1/onboarding/recommendations", {},
                         headers={"Content-Type": "text/plain"})  # fmt: skip
    assert (status, error["code"]) == (415, "unsupported_media_type")
    status, error = call(onboarding, "POST", "/v1/onboarding/recommendations",
                         {"answers": {"a": "x" * 250}}, raw_body="x" * 300_000)  # fmt: skip
    assert (status, error["code"]) == (413, "payload_too_large")


def test_logs_never_contain_raw_answers(api, capsys):
    secret = "zz-secret-answer-42"
    call(onboarding, "POST", "/v1/onboarding/recommendations",
         {**ANSWERS, "answers": {"pet": secret}, "user_id": user_with("model")})  # fmt: skip
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err


def test_known_listener_gets_the_batch_list_under_the_rules(api):
    user = a_listener(api["root"])
    status, body = call(recommendations, "GET", f"/v1/users/{user}/recommendations",
                        query="limit=8&max_per_artist=1")  # fmt: skip
    assert status == 200, body
    assert body["source"] == "personal"
    assert 0 < len(body["items"]) <= 8
    artists = [i["artist_id"] for i in body["items"]]
    assert len(artists) == len(set(artists))
    assert body["model_version"] == "v1"


def test_a_play_changes_the_next_recommendations(api):
    user = listener_like_its_first(api["root"] / "v1")
    _, before = call(recommendations, "GET", f"/v1/users/{user}/recommendations", query="limit=10")
    played = before["items"][0]["id"]
    play = {"event_id": f"e-{user}-1", "user_id": user, "type": "play", "item_id": played}
    status, ack = call(events, "POST", "/v1/events", {"events": [play]})
    assert (status, ack["stored"]) == (200, 1)
    _, after = call(recommendations, "GET", f"/v1/users/{user}/recommendations", query="limit=10")
    ids_before, ids_after = [i["id"] for i in before["items"]], [i["id"] for i in after["items"]]
    assert played not in ids_after
    # Re-ranked, not just shifted up by one: a song similar to the play climbs further than the
    # removal of the played song explains, or enters the list.
    similar = set(similar_to(api["root"], played))
    assert similar & set(ids_after), "no song similar to the play in the new list"
    climbed = [
        song for song in similar & set(ids_after)
        if song not in ids_before or ids_after.index(song) < ids_before.index(song) - 1
    ]  # fmt: skip
    assert climbed, (ids_before, ids_after)


def test_unknown_and_onboarded_listeners(api):
    status, body = call(recommendations, "GET", "/v1/users/nobody-1/recommendations")
    assert (status, body["source"]) == (200, "regional")
    assert body["items"]
    user = "onboarded-7"
    call(onboarding, "POST", "/v1/onboarding/recommendations", {**ANSWERS, "user_id": user})
    status, body = call(recommendations, "GET", f"/v1/users/{user}/recommendations")
    assert (status, body["source"]) == (200, "onboarding")
    status, body = call(recommendations, "GET", f"/v1/users/{user}/artists")
    assert status == 200
    assert body["items"]


def test_similar_songs_and_artists(api):
    record = first_record(api["root"], "similar-items")
    song = record["item_id"]
    status, body = call(recommendations, "GET", f"/v1/items/{song}/similar", query="limit=5")
    assert status == 200, body
    ids = [i["id"] for i in body["items"]]
    assert 0 < len(ids) <= 5
    assert song not in ids
    assert set(ids) <= set(record["ids"])
    assert body["recommendation_id"]
    assert body["model_version"] == "v1"
    record = first_record(api["root"], "similar-artists")
    artist = record["artist_id"]
    status, body = call(recommendations, "GET", f"/v1/artists/{artist}/similar")
    assert status == 200, body
    assert [i["id"] for i in body["items"]] == [a for a in record["ids"] if a != artist][:20]
    status, error = call(recommendations, "GET", "/v1/artists/no-such-artist/similar")
    assert (status, error["field"]) == (404, "artistId")
    status, error = call(recommendations, "GET", "/v1/items/no-such-song/similar")
    assert (status, error["field"]) == (404, "itemId")
    status, error = call(recommendations, "GET", "/v1/users/x/recommendations", query="kind=videos")
    assert (status, error["field"]) == (400, "kind")
    status, error = call(recommendations, "GET", "/v1/users/x/recommendations", query="limit=1000")
    assert (status, error["field"]) == (400, "limit")


def test_unavailable_song_disappears(api):
    user = a_listener(api["root"])
    _, before = call(recommendations, "GET", f"/v1/users/{user}/recommendations")
    victim = before["items"][1]["id"]
    status, ack = call(
        catalog, "PUT", f"/v1/catalog/items/{victim}/availability", {"available": False}
    )
    assert status == 200
    assert (ack["item_id"], ack["available"], ack["variant"]) == (victim, False, "none")
    assert ack["recommendation_id"]
    assert ack["model_version"] == before["model_version"]
    _, after = call(recommendations, "GET", f"/v1/users/{user}/recommendations")
    assert victim not in [i["id"] for i in after["items"]]
    status, error = call(
        catalog, "PUT", f"/v1/catalog/items/{victim}/availability", {"available": "no"}
    )
    assert (status, error["field"]) == (400, "available")


def test_events_are_idempotent_and_validated(api):
    event = {"event_id": "dup-1", "user_id": "u-dup", "type": "play", "item_id": "s1"}
    _, ack = call(events, "POST", "/v1/events", {"events": [event]})
    assert ack["stored"] == 1
    assert ack["variant"] == services().variant("u-dup"), ack  # one listener: their variant
    assert ack["recommendation_id"]
    assert ack["model_version"] == services().store.active_version()
    _, again = call(events, "POST", "/v1/events", {"events": [event, event]})
    assert (again["stored"], again["duplicates"]) == (0, 2)
    no_item = {"event_id": "p", "user_id": "u", "type": "play"}
    status, error = call(events, "POST", "/v1/events", {"events": [no_item]})
    assert (status, error["field"]) == (400, "events.0.item_id")
    many = [{"event_id": f"m{i}", "user_id": "u", "type": "play", "item_id": "s"}
            for i in range(101)]  # fmt: skip
    status, error = call(events, "POST", "/v1/events", {"events": many})
    assert (status, error["code"], error["field"]) == (413, "too_many_items", "events")
    assert "at most 100" in error["message"]
    status, error = call(events, "POST", "/v1/events", {"events": [{**event, "type": "buy"}]})
    assert (status, error["field"]) == (400, "events.0.type")


def test_counters_are_summed_and_emitted_with_the_dashboard_dimensions(api, capsys):
    listener = user_with("model")
    _, answer = call(recommendations, "GET", f"/v1/users/{listener}/recommendations")
    base = {"user_id": listener, "recommendation_id": answer["recommendation_id"]}
    ids = [item["id"] for item in answer["items"][:3]]
    api["mp"].setenv("POWERTOOLS_SERVICE_NAME", "musicrec")
    shown = [{**base, "event_id": f"imp-{i}", "type": "impression", "item_id": item}
             for i, item in enumerate(ids)]  # fmt: skip
    click = {**base, "event_id": "clk-1", "type": "click", "item_id": ids[0]}
    capsys.readouterr()
    status, ack = call(events, "POST", "/v1/events", {"events": [*shown, click]})
    api["mp"].delenv("POWERTOOLS_SERVICE_NAME")
    assert (status, ack["stored"]) == (200, 4)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{") and '"_aws"' in line]  # fmt: skip
    emitted = {}
    for line in lines:
        directive = line["_aws"]["CloudWatchMetrics"][0]
        if directive["Namespace"] == "musicrec" and line.get("experiment") == "onboarding":
            assert directive["Dimensions"] == [["experiment", "variant"]]
            for metric in directive["Metrics"]:
                emitted[(metric["Name"], line["variant"])] = line[metric["Name"]]
    assert emitted == {("Impressions", "model"): [3.0], ("Clicks", "model"): [1.0]}


def test_throttled_dynamodb_is_a_429(api):
    from botocore.awsrequest import AWSResponse

    client = services().store.tables["lists"].meta.client

    def throttle(**kwargs):
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
        return AWSResponse("https://dynamodb", 400, {}, None), error

    client.meta.events.register("before-call.dynamodb.*", throttle, unique_id="throttle")
    try:
        response = recommendations.lambda_handler(
            api_event("GET", "/v1/users/u1/recommendations"), FakeContext()
        )
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="throttle")
    assert response["statusCode"] == 429
    assert json.loads(response["body"])["code"] == "throttled"
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]


def test_before_the_first_load_events_are_taken_and_lists_are_not_ready(api):
    from lambdas.store import keys

    state = services().store.tables["state"]
    pointer = state.get_item(Key=keys.ACTIVE)["Item"]
    state.delete_item(Key=keys.ACTIVE)
    try:
        event = {"event_id": "early-1", "user_id": "u-early", "type": "play", "item_id": "s1"}
        status, ack = call(events, "POST", "/v1/events", {"events": [event]})
        assert (status, ack["stored"], ack["model_version"]) == (200, 1, "none")
        status, error = call(recommendations, "GET", "/v1/users/u-early/recommendations")
        assert (status, error["code"]) == (503, "not_ready")
    finally:
        state.put_item(Item=pointer)


def catalog_songs(root: Path) -> list[dict]:
    """The catalogue's available, titled songs of batch version v1."""
    songs = []
    for path in sorted((root / "v1" / "catalog").glob("*.gz")):
        with gzip.open(path, "rt") as handle:
            songs += [json.loads(line) for line in handle]
    return [s for s in songs if s["kind"] == "item" and s["available"] and s.get("title")]


def test_personal_songs_are_capped_at_two_per_artist_and_one_per_album_by_default(api):
    """A batch list whose songs share artists and albums (batch lists are capped already, so one
    is written here): the route's default caps, not the caller's, keep the answer varied."""
    songs = catalog_songs(api["root"])
    by_artist: dict[str, list[dict]] = {}
    for song in songs:
        by_artist.setdefault(song["artist_id"], []).append(song)
    crowded = next(s for s in by_artist.values() if len({x["album_id"] for x in s}) < len(s) >= 4)
    album = next(a for a in {s["album_id"] for s in crowded}
                 if sum(s["album_id"] == a for s in crowded) >= 2)  # fmt: skip
    same_album = [s for s in crowded if s["album_id"] == album]
    listing = [*same_album[:2], *[s for s in crowded if s["album_id"] != album][:2]]
    user = "capped-listener"
    record = {"user_id": user, "ids": [s["id"] for s in listing],
              "scores": [1.0 - i / 10 for i in range(len(listing))]}  # fmt: skip
    lists = boto3.resource("dynamodb").Table(table("lists").physical_name(PREFIX))
    lists.put_item(Item={"pk": f"personal#v1#{user}", "doc": json.dumps(record)})
    path = f"/v1/users/{user}/recommendations"
    _, capped = call(recommendations, "GET", path)
    # the first song; the second shares its album; the third is the artist's second song (the
    # charts fill the rest of the list, under the same caps)
    own = [i["id"] for i in capped["items"] if i["chart"] is None]
    assert own == [listing[0]["id"], listing[2]["id"]]
    assert sum(i["artist_id"] == listing[0]["artist_id"] for i in capped["items"]) == 2
    _, loose = call(recommendations, "GET", path, query="max_per_artist=100&max_per_album=100")
    assert [i["id"] for i in loose["items"] if i["chart"] is None] == [s["id"] for s in listing]
