"""The models of what the API takes and answers.

Requests (``OnboardingRequest``, ``Event``, ``EventBatch``, ``AvailabilityRequest``) are
generated from docs/openapi.json (``_openapi.py``). The document does not describe the answers
(each is ``{"type": "object"}`` there), so their models are written here from docs/api.md and
the handlers; they keep fields the API adds later (``extra="allow"``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from ._openapi import AvailabilityRequest, Error, Event, EventBatch, GatewayError, OnboardingRequest

__all__ = [
    "Artist",
    "ArtistList",
    "Availability",
    "AvailabilityRequest",
    "Carousel",
    "CarouselContent",
    "Error",
    "Event",
    "EventBatch",
    "EventsAcknowledgement",
    "GatewayError",
    "Genre",
    "Home",
    "Item",
    "Notice",
    "Onboarding",
    "OnboardingRequest",
    "Policy",
    "SimilarArtists",
    "SimilarSongs",
    "Song",
    "SongList",
    "Station",
]


class Answer(BaseModel):
    """Any answer: keeps fields this client does not know yet."""

    model_config = ConfigDict(extra="allow")


class Envelope(Answer):
    """What every successful answer carries: the id events refer to, the experiment variant and
    the model (or batch) version."""

    recommendation_id: str
    variant: str
    model_version: str


class Notice(Answer):
    """Where an answer deviated from the request (``field``) and why."""

    field: str
    message: str


class Item(Answer):
    """An entry of a list: its id and score; ``chart`` names the chart a fallback took it from
    (``<region>#<genre>``; None for personal and similar lists)."""

    id: str
    score: float
    genre: str | None = None
    chart: str | None = None


class Song(Item):
    title: str | None = None
    artist_id: str | None = None
    album_id: str | None = None


class Artist(Item):
    name: str | None = None


class Station(Item):
    name: str | None = None


class Genre(Answer):
    genre: str
    score: float


class Onboarding(Envelope):
    """``POST /v1/onboarding/recommendations``: genres, then stations, songs and artists."""

    genres: list[Genre]
    region: str
    source: Literal["model", "rules", "fallback"] | str
    stations: list[Station]
    songs: list[Song]
    artists: list[Artist]
    warnings: list[Notice] = []
    batch_version: str | None = None


class SongList(Envelope):
    """``GET /v1/users/{userId}/recommendations`` (songs)."""

    user_id: str
    kind: Literal["songs"]
    source: Literal["personal", "onboarding", "regional"] | str
    items: list[Song]


class ArtistList(Envelope):
    """``GET /v1/users/{userId}/artists`` and ``.../recommendations?kind=artists``."""

    user_id: str
    kind: Literal["artists"]
    source: Literal["personal", "onboarding", "regional"] | str
    items: list[Artist]


class SimilarSongs(Envelope):
    """``GET /v1/items/{itemId}/similar``."""

    item_id: str
    items: list[Song]


class SimilarArtists(Envelope):
    """``GET /v1/artists/{artistId}/similar`` ("fans also like")."""

    artist_id: str
    items: list[Artist]


SONG_KINDS = ("for_you", "because_you_played", "region_chart")
ARTIST_KINDS = ("artists_for_you", "fans_also_like")
STATION_KINDS = ("genre_station",)


class CarouselContent(Answer):
    """What a carousel shows: its kind, title, seed and items (songs, artists or stations, as
    its kind says), ``position`` from 0, ``propensity`` the policy's probability of that place."""

    kind: str
    title: str
    seed: str | None = None
    items: list[Song] | list[Artist] | list[Station] | list[Item]
    position: int
    propensity: float

    @field_validator("items", mode="before")
    @classmethod
    def _items_of_kind(cls, items: Any, info: Any) -> Any:
        """Songs, artists or stations, as the carousel's kind says."""
        kind = info.data.get("kind")
        model: type[Item] = Item
        if kind in SONG_KINDS:
            model = Song
        elif kind in ARTIST_KINDS:
            model = Artist
        elif kind in STATION_KINDS:
            model = Station
        if isinstance(items, list):
            return [
                model.model_validate(item) if isinstance(item, dict) else item for item in items
            ]
        return items


class Carousel(CarouselContent):
    """One carousel of the home screen, a recommendation of its own (``recommendation_id``)."""

    recommendation_id: str


class Policy(Answer):
    name: str
    version: str


class Home(Envelope):
    """``GET /v1/users/{userId}/home``: carousels in the bandit's order. Events name a
    carousel's ``recommendation_id``, not the top-level one (which is not recorded)."""

    user_id: str
    carousels: list[Carousel]
    policy: Policy
    warnings: list[Notice] = []


class EventsAcknowledgement(Envelope):
    """``POST /v1/events``: how many events came, were stored now, were retries of stored
    ones, and were counted for an experiment; ``warnings`` for the ones not counted."""

    accepted: int
    stored: int
    duplicates: int
    counted: int
    warnings: list[Notice] = []


class Availability(Envelope):
    """``PUT /v1/catalog/items/{itemId}/availability``."""

    item_id: str
    available: bool
