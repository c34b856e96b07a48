"""Request bodies, validated by pydantic through Powertools (errors: 400s naming the field)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z._:@#/-]+$")]
Answer = Annotated[str, Field(max_length=256)] | StrictInt | float | StrictBool | None
MAX_EVENTS = 100
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: DynamoDB numbers hold 38 digits


class OnboardingRequest(BaseModel):
    """A new listener's onboarding answers."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id | None = None
    install_id: Id | None = None
    age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None
    gender: Literal["f", "m", "x"] | None = None
    region: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    selected_genres: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=50)
    ] = Field(default_factory=list)
    answers: Annotated[dict[Annotated[str, Field(max_length=64)], Answer], Field(max_length=50)] = (
        Field(default_factory=dict, description="further onboarding answers (scalars)")
    )
    limit: Annotated[StrictInt, Field(ge=1, le=50)] = 10


EventType = Literal["play", "skip", "like", "follow", "click", "impression"]


class Event(BaseModel):
    """One thing a listener did; ``event_id`` makes retries idempotent (per listener: another
    listener's same id is a different event). ``ts`` within the last 30 days (the stage's
    setting) and at most 5 minutes ahead of the server's clock."""

    model_config = ConfigDict(extra="forbid")

    event_id: Id
    user_id: Id
    type: EventType
    item_id: Id | None = None
    artist_id: Id | None = None
    ts: (
        Annotated[StrictInt, Field(ge=0, le=MAX_TS_MS, description="milliseconds since the epoch")]
        | None
    ) = None
    recommendation_id: Id | None = Field(
        default=None,
        description="the answer an impression or click refers to (required for those): the "
        "experiment and variant are the ones the server recorded for it",
    )
    experiment: Id | None = Field(default=None, description="ignored: the server attributes")
    variant: Id | None = Field(default=None, description="ignored: the server attributes")


class EventBatch(BaseModel):
    """Up to :data:`MAX_EVENTS` events."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class AvailabilityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: StrictBool
