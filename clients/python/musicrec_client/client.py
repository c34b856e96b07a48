"""The client: one method per route of the API, and the event buffer (``client.events``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel

from ._openapi import (
    AvailabilityRequest,
    Event,
    EventBatch,
    ExperimentsPeriod,
    OnboardingRequest,
    RollbackRequest,
    TrafficPeriod,
)
from .admin import Experiments, Kpis, ListenerPreview, Models, OnboardingPreview, Rollback, Traffic
from .auth import Auth
from .events import MAX_PER_REQUEST, EventBuffer
from .models import (
    ArtistList,
    Availability,
    EventsAcknowledgement,
    Home,
    Onboarding,
    SimilarArtists,
    SimilarSongs,
    SongList,
)
from .retry import RetryPolicy
from .routes import route
from .transport import ADMIN_TIMEOUT_S, DEFAULT_TIMEOUT_S, Query, Transport, expand

A = TypeVar("A", bound=BaseModel)
Kind = Literal["songs", "artists"]


def onboarding_request(
    method: str, request: OnboardingRequest | None, given: Mapping[str, Any]
) -> OnboardingRequest:
    """The request a method was given, or one of the fields it was given (not both)."""
    if request is not None and given:
        raise TypeError(f"{method}: pass a request or its fields, not both")
    return request or OnboardingRequest(**given)


class MusicRec:
    """A client of the musicrec API at ``base_url`` (the stage's URL, e.g.
    ``https://abc.execute-api.eu-west-1.amazonaws.com/prod``, or ``http://127.0.0.1:3000``).

    ``auth``: :class:`~musicrec_client.ListenerAuth`, :class:`~musicrec_client.ServerAuth`,
    :class:`~musicrec_client.OperatorTokenAuth` (the console's admin routes),
    :class:`~musicrec_client.OperatorAuth` or :class:`~musicrec_client.AdminKeyAuth` (the
    catalogue's route).
    ``timeout``: seconds per attempt (default 10; the console's admin routes, which may take up
    to API Gateway's 29 s, 30); ``retry``: the :class:`~musicrec_client.RetryPolicy`.
    Use it as a context manager (or call :meth:`close`): leaving flushes the events."""

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        event_batch_size: int = MAX_PER_REQUEST,
    ) -> None:
        # a timeout given applies to every route; else each kind of route has its own
        self._transport = Transport(base_url, auth, timeout or DEFAULT_TIMEOUT_S, retry, http)
        self._admin_timeout = timeout or ADMIN_TIMEOUT_S
        self.events = EventBuffer(self.post_events, event_batch_size)

    def with_options(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> MusicRec:
        """A client sharing this one's connections, credentials and event buffer, with another
        timeout or retry policy."""
        other = copy.copy(self)
        transport = copy.copy(self._transport)
        transport._owns_http = False  # the original closes the pool
        transport.timeout = transport.timeout if timeout is None else timeout
        other._admin_timeout = self._admin_timeout if timeout is None else timeout
        transport.retry = retry or transport.retry
        other._transport = transport
        return other

    def close(self) -> None:
        """Flush the events, then close the connections."""
        try:
            self.events.flush()
        finally:
            self._transport.close()

    def __enter__(self) -> MusicRec:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: str,
        template: str,
        answer: type[A],
        path: Mapping[str, str] | None = None,
        query: Query | None = None,
        body: BaseModel | None = None,
        timeout: float | None = None,
    ) -> A:
        data = self._transport.call(method, expand(template, path or {}), query, body, timeout)
        return answer.model_validate(data)

    def _admin(
        self,
        method: str,
        template: str,
        answer: type[A],
        path: Mapping[str, str] | None = None,
        query: Query | None = None,
        body: BaseModel | None = None,
    ) -> A:
        """A call of a console's admin route, with the admin routes' timeout."""
        return self._call(method, template, answer, path, query, body, self._admin_timeout)

    # onboarding ----------------------------------------------------------------------------

    @route("POST", "/v1/onboarding/recommendations")
    def onboard(
        self,
        request: OnboardingRequest | None = None,
        *,
        user_id: str | None = None,
        install_id: str | None = None,
        age: int | None = None,
        gender: Literal["f", "m", "x"] | None = None,
        region: str | None = None,
        selected_genres: Sequence[str] | None = None,
        answers: Mapping[str, str | int | float | bool | None] | None = None,
        limit: int | None = None,
    ) -> Onboarding:
        """Genres, stations, songs and artists for a listener who just answered the onboarding
        questions: pass an :class:`OnboardingRequest` or its fields."""
        fields = {"user_id": user_id, "install_id": install_id, "age": age, "gender": gender,
                  "region": region, "selected_genres": selected_genres, "answers": answers,
                  "limit": limit}  # fmt: skip
        given: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
        return self._call("POST", "/v1/onboarding/recommendations", Onboarding,
                          body=onboarding_request("onboard", request, given))  # fmt: skip

    # a listener's lists --------------------------------------------------------------------

    @overload
    def recommendations(
        self,
        user_id: str,
        kind: Literal["songs"] = "songs",
        *,
        limit: int | None = None,
        max_per_artist: int | None = None,
        max_per_album: int | None = None,
        region: str | None = None,
    ) -> SongList: ...

    @overload
    def recommendations(
        self,
        user_id: str,
        kind: Literal["artists"],
        *,
        limit: int | None = None,
        max_per_artist: int | None = None,
        max_per_album: int | None = None,
        region: str | None = None,
    ) -> ArtistList: ...

    @route("GET", "/v1/users/{userId}/recommendations")
    def recommendations(
        self,
        user_id: str,
        kind: Kind = "songs",
        *,
        limit: int | None = None,
        max_per_artist: int | None = None,
        max_per_album: int | None = None,
        region: str | None = None,
    ) -> SongList | ArtistList:
        """The listener's songs (or artists), re-ranked by their latest plays."""
        query = {"kind": kind, "limit": limit, "max_per_artist": max_per_artist,
                 "max_per_album": max_per_album, "region": region}  # fmt: skip
        answer: type[SongList | ArtistList] = ArtistList if kind == "artists" else SongList
        return self._call("GET", "/v1/users/{userId}/recommendations", answer,
                          {"userId": user_id}, query)  # fmt: skip

    @route("GET", "/v1/users/{userId}/artists")
    def artists(
        self, user_id: str, *, limit: int | None = None, region: str | None = None
    ) -> ArtistList:
        """Artists for the listener."""
        return self._call("GET", "/v1/users/{userId}/artists", ArtistList,
                          {"userId": user_id}, {"limit": limit, "region": region})  # fmt: skip

    @route("GET", "/v1/users/{userId}/home")
    def home(
        self,
        user_id: str,
        *,
        limit: int | None = None,
        carousels: int | None = None,
        region: str | None = None,
    ) -> Home:
        """The listener's home screen: carousels in the bandit's order (each has its own
        ``recommendation_id`` for impressions and clicks)."""
        query = {"limit": limit, "carousels": carousels, "region": region}
        return self._call("GET", "/v1/users/{userId}/home", Home, {"userId": user_id}, query)

    # similar songs and artists -------------------------------------------------------------

    @route("GET", "/v1/items/{itemId}/similar")
    def similar_items(
        self,
        item_id: str,
        *,
        user_id: str | None = None,
        limit: int | None = None,
        max_per_artist: int | None = None,
    ) -> SimilarSongs:
        """Songs similar to a song (re-ranked for ``user_id`` when given); NotFound when the
        song has no list."""
        query = {"user_id": user_id, "limit": limit, "max_per_artist": max_per_artist}
        return self._call("GET", "/v1/items/{itemId}/similar", SimilarSongs,
                          {"itemId": item_id}, query)  # fmt: skip

    @route("GET", "/v1/artists/{artistId}/similar")
    def similar_artists(self, artist_id: str, *, limit: int | None = None) -> SimilarArtists:
        """Artists whose fans also like this one; NotFound when the artist has no list."""
        return self._call("GET", "/v1/artists/{artistId}/similar", SimilarArtists,
                          {"artistId": artist_id}, {"limit": limit})  # fmt: skip

    # events --------------------------------------------------------------------------------

    @route("POST", "/v1/events")
    def post_events(self, events: Sequence[Event | Mapping[str, Any]]) -> EventsAcknowledgement:
        """One request with up to 100 events (each needs its ``event_id``); to batch, use
        ``client.events.track(...)``."""
        batch = EventBatch(events=[e if isinstance(e, Event) else Event(**e) for e in events])
        return self._call("POST", "/v1/events", EventsAcknowledgement, body=batch)

    # operators -----------------------------------------------------------------------------

    @route("PUT", "/v1/catalog/items/{itemId}/availability")
    def set_availability(self, item_id: str, available: bool) -> Availability:
        """Mark a song available or unavailable (operator credentials)."""
        body = AvailabilityRequest(available=available)
        return self._call("PUT", "/v1/catalog/items/{itemId}/availability", Availability,
                          {"itemId": item_id}, body=body)  # fmt: skip

    # the console's admin routes (OperatorTokenAuth) ---------------------------------------------

    @route("GET", "/v1/admin/traffic")
    def traffic(self, *, hours: int | None = None, period: TrafficPeriod | None = None) -> Traffic:
        """Requests, 4xx and 5xx answers and latency p50/p99 per route over the last ``hours``
        (1-72) in ``period`` s points (60, 300 or 3600), and the fallback rates (the API's
        defaults where None)."""
        return self._admin("GET", "/v1/admin/traffic", Traffic,
                          query={"hours": hours, "period": period})  # fmt: skip

    @route("GET", "/v1/admin/experiments")
    def experiments(
        self,
        *,
        days: int | None = None,
        period: ExperimentsPeriod | None = None,
        hours: int | None = None,
    ) -> Experiments:
        """Each experiment's variants: totals, CTR over the last ``days`` (1-90) in
        ``period`` s points (300, 3600 or 86400), lift with its interval, and a bandit's
        off-policy estimates over its log's last ``hours`` (the API's defaults where None)."""
        query = {"days": days, "period": period, "hours": hours}
        return self._admin("GET", "/v1/admin/experiments", Experiments, query=query)

    @route("GET", "/v1/admin/kpis")
    def kpis(self, *, days: int | None = None) -> Kpis:
        """Plays from recommendations, follows from "artists for you" and follow-through over
        the last ``days`` UTC days (1-90)."""
        return self._admin("GET", "/v1/admin/kpis", Kpis, query={"days": days})

    @route("GET", "/v1/admin/models")
    def models(self) -> Models:
        """The serving model, the training runs with their gate verdicts, the batch versions
        and the next scheduled run."""
        return self._admin("GET", "/v1/admin/models", Models)

    @route("POST", "/v1/admin/batch/rollback")
    def rollback_batch(self, expected_active: str) -> Rollback:
        """Make the previous batch version active again, if ``expected_active`` still is the
        active one (else a 409 ``conflict`` :class:`~musicrec_client.ClientError`).

        Retried like every call (429, 503, no answer): safe, as a rollback that landed makes
        its repeat a 409 rather than a second switch. So a 409 after a lost answer may mean the
        first attempt rolled back: :meth:`models` tells."""
        body = RollbackRequest(expected_active=expected_active)
        return self._admin("POST", "/v1/admin/batch/rollback", Rollback, body=body)

    @route("POST", "/v1/admin/preview/onboarding")
    def preview_onboarding(
        self,
        request: OnboardingRequest | None = None,
        *,
        variant: str | None = None,
        user_id: str | None = None,
        install_id: str | None = None,
        age: int | None = None,
        gender: Literal["f", "m", "x"] | None = None,
        region: str | None = None,
        selected_genres: Sequence[str] | None = None,
        answers: Mapping[str, str | int | float | bool | None] | None = None,
        limit: int | None = None,
    ) -> OnboardingPreview:
        """What :meth:`onboard` would answer these onboarding answers (an
        :class:`OnboardingRequest` or its fields), under ``variant`` if given, with each list's
        reasons; nothing is recorded."""
        fields = {"user_id": user_id, "install_id": install_id, "age": age, "gender": gender,
                  "region": region, "selected_genres": selected_genres, "answers": answers,
                  "limit": limit}  # fmt: skip
        given: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
        body = onboarding_request("preview_onboarding", request, given)
        return self._admin("POST", "/v1/admin/preview/onboarding", OnboardingPreview,
                          query={"variant": variant}, body=body)  # fmt: skip

    @route("GET", "/v1/admin/listeners/{userId}/preview")
    def preview_listener(
        self, user_id: str, *, limit: int | None = None, region: str | None = None
    ) -> ListenerPreview:
        """A listener's home screen and personal songs and artists, each with its source and
        variant, and what is known of them; nothing is recorded."""
        return self._admin("GET", "/v1/admin/listeners/{userId}/preview", ListenerPreview,
                          {"userId": user_id}, {"limit": limit, "region": region})  # fmt: skip
