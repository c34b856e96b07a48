"""The client: one method per route of the API, and the event buffer (``client.events``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel

from ._openapi import AvailabilityRequest, Event, EventBatch, OnboardingRequest
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
from .transport import DEFAULT_TIMEOUT_S, Query, Transport, expand

A = TypeVar("A", bound=BaseModel)
Kind = Literal["songs", "artists"]


class MusicRec:
    """A client of the musicrec API at ``base_url`` (the stage's URL, e.g.
    ``https://abc.execute-api.eu-west-1.amazonaws.com/prod``, or ``http://127.0.0.1:3000``).

    ``auth``: :class:`~musicrec_client.ListenerAuth`, :class:`~musicrec_client.ServerAuth`,
    :class:`~musicrec_client.OperatorAuth` or :class:`~musicrec_client.AdminKeyAuth`.
    ``timeout``: seconds per attempt; ``retry``: the :class:`~musicrec_client.RetryPolicy`.
    Use it as a context manager (or call :meth:`close`): leaving flushes the events."""

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        event_batch_size: int = MAX_PER_REQUEST,
    ) -> None:
        self._transport = Transport(base_url, auth, timeout, retry, http)
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
    ) -> A:
        data = self._transport.call(method, expand(template, path or {}), query, body)
        return answer.model_validate(data)

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
        if request is not None and given:
            raise TypeError("onboard: pass a request or its fields, not both")
        request = request or OnboardingRequest(**given)
        return self._call("POST", "/v1/onboarding/recommendations", Onboarding, body=request)

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
