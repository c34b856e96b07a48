"""The answers of the console's admin routes (docs/api.md, "The console's routes"): traffic,
experiments, music KPIs, models and batch versions, the batch rollback and the two previews.

The document describes none of them (each is an open object there), so these models are written
from docs/api.md and the handlers (lambdas/api/admin/); like the app routes' models they keep
fields the API adds later (``extra="allow"``), and parts whose shape is the job's or the
report's own (a training run's metrics and checks, the off-policy estimates, the reasons of a
preview's lists) are kept as plain JSON with their main fields typed."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .models import Answer, Artist, CarouselContent, Genre, Notice, Song, Station

__all__ = [
    "BatchVersion",
    "BatchVersions",
    "CtrSeries",
    "ExperimentView",
    "Experiments",
    "FollowThrough",
    "HomePreview",
    "KpiCount",
    "Kpis",
    "ListReason",
    "ListenerFacts",
    "ListenerPreview",
    "Models",
    "OffPolicy",
    "OnboardingPreview",
    "PersonalArtists",
    "PersonalSongs",
    "PreviewAssignment",
    "PreviewCarousel",
    "PreviewPolicy",
    "Rollback",
    "RouteTotals",
    "RouteTraffic",
    "Schedule",
    "Series",
    "ServingModel",
    "Traffic",
    "TrainingRun",
    "VariantResult",
]


class Series(Answer):
    """A time series: period starts (ISO-8601, oldest first) and a value each (None: no datum)."""

    timestamps: list[str]
    values: list[float | None]


# traffic ---------------------------------------------------------------------------------------


class RouteTotals(Answer):
    count: float
    errors_4xx: float
    errors_5xx: float


class RouteTraffic(Answer):
    """One route's requests, 4xx and 5xx answers per period, and its latency's p50 and p99
    (ms)."""

    method: str
    path: str
    count: Series
    errors_4xx: Series
    errors_5xx: Series
    p50_ms: Series
    p99_ms: Series
    totals: RouteTotals


class Traffic(Answer):
    """``GET /v1/admin/traffic``: per route, over ``start``..``end`` in ``period_s`` periods,
    and each fallback's rate in percent (``fallback_rate["onboarding"]``, ``["home"]``)."""

    generated_at: str
    start: str
    end: str
    period_s: int
    routes: list[RouteTraffic]
    fallback_rate: dict[str, Series]


# experiments -----------------------------------------------------------------------------------


class VariantResult(Answer):
    """A variant's totals and its CTR's relative lift over the control, with its 95 % interval
    and p-value (None for the control, or without clicks)."""

    variant: str
    impressions: int
    clicks: int
    ctr: float
    lift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None


class CtrSeries(Answer):
    """A variant's impressions, clicks and CTR per period (None: no datum)."""

    timestamps: list[str]
    impressions: list[float | None]
    clicks: list[float | None]
    ctr: list[float | None]


class OffPolicy(Answer):
    """A bandit's off-policy estimates over the last ``hours`` of its log (``hours_read`` and
    ``complete``: how much of it was read in time); the estimates per policy as the report
    gives them (``python -m lambdas.ops.experiments ope --json``)."""

    bandit: str
    hours: int
    hours_read: float | None = None
    complete: bool | None = None


class ExperimentView(Answer):
    name: str
    control: str
    variants: list[VariantResult]
    series: dict[str, CtrSeries]
    off_policy: OffPolicy | None = None


class Experiments(Answer):
    """``GET /v1/admin/experiments``: each experiment's variants, CTR over time, lift."""

    generated_at: str
    experiments: list[ExperimentView]
    start: str | None = None
    end: str | None = None
    period_s: int | None = None


# music KPIs ------------------------------------------------------------------------------------


class KpiCount(Answer):
    total: int
    by_day: Series


class FollowThrough(Answer):
    """Of the listeners who followed a recommended artist, how many followed another
    (``rate``: None without followers)."""

    followers: int
    followed_another: int
    rate: float | None = None


class Kpis(Answer):
    """``GET /v1/admin/kpis``: the music KPIs of the last ``days`` UTC days."""

    generated_at: str
    days: int
    plays_from_recommendations: KpiCount
    follows_from_artists: KpiCount
    follow_through: FollowThrough


# models and batch versions ---------------------------------------------------------------------


class ServingModel(Answer):
    """The version the onboarding model's endpoint answers with (None, with ``note``, when it
    does not answer) and the endpoint's description (None locally)."""

    serving: str | None = None
    serving_run_id: str | None = None
    endpoint: dict[str, Any] | None = None
    note: str | None = None


class TrainingRun(Answer):
    """A training run: its gate verdict (``passed``; None before a verdict) and ``reason``,
    ``metrics`` per model against the baselines and ``checks``; an unreadable record has only
    ``run_id``, ``unreadable`` and ``note``."""

    run_id: str
    started_at: str | None = None
    finished_at: str | None = None
    passed: bool | None = None
    reason: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    checks: list[dict[str, Any]] = Field(default_factory=list)
    model_version: str | None = None
    complete: bool | None = None
    unreadable: bool = False
    note: str | None = None


class BatchVersion(Answer):
    version: str
    role: str  # "active" or "previous"
    switched_at: str | None = None
    loaded: bool | None = None


class BatchVersions(Answer):
    """The active batch version, the previous one, and whether a rollback is possible."""

    active: str | None = None
    previous: str | None = None
    switched_at: str | None = None
    rollback_possible: bool = False
    versions: list[BatchVersion] = Field(default_factory=list)


class Schedule(Answer):
    """The retraining schedule and its next run (None, with ``note``, when runs start by hand
    or the schedule is disabled)."""

    name: str | None = None
    group: str | None = None
    expression: str | None = None
    timezone: str | None = None
    state: str | None = None
    next_run: str | None = None
    note: str | None = None


class Models(Answer):
    """``GET /v1/admin/models``: the serving model, the newest training runs (newest first),
    the batch versions and the schedule."""

    generated_at: str
    model: ServingModel
    runs: list[TrainingRun]
    runs_truncated: bool = False
    batch: BatchVersions
    schedule: Schedule


class Rollback(Answer):
    """``POST /v1/admin/batch/rollback``: the version now active, the one it replaced."""

    active: str
    previous: str | None = None
    rolled_back_from: str
    switched_at: str | None = None


# previews --------------------------------------------------------------------------------------


class PreviewAssignment(Answer):
    """How the preview's variant was chosen: ``by`` variant (asked for), user_id, install_id
    or preview (the fixed unit ``unit``)."""

    by: str
    unit: str | None = None


class ListReason(Answer):
    """Why a list is what it is: its ``source`` (model, rules, fallback, charts or bandit) and
    a sentence; the rest (probabilities, charts, the bandit's ranking) as the route gives it."""

    source: str
    text: str | None = None


class OnboardingPreview(Answer):
    """``POST /v1/admin/preview/onboarding``: the onboarding answer (without its
    ``recommendation_id``: nothing is recorded), its variant and how it was chosen, and the
    ``reasons`` of each list (``genres``, ``stations``, ``songs``, ``artists``)."""

    generated_at: str
    variant: str
    assignment: PreviewAssignment
    model_version: str | None = None
    batch_version: str | None = None
    genres: list[Genre]
    region: str
    source: str
    stations: list[Station]
    songs: list[Song]
    artists: list[Artist]
    warnings: list[Notice] = Field(default_factory=list)
    reasons: dict[str, ListReason]


class ListenerFacts(Answer):
    known: bool
    has_list: bool | None = None
    onboarded: bool | None = None
    recent_plays: int | None = None
    days_since_signup: float | None = None


class PreviewCarousel(CarouselContent):
    """A carousel of the previewed home screen (no ``recommendation_id``), with its source."""

    source: str | None = None


class PreviewPolicy(Answer):
    name: str
    version: str | None = None
    problem: str | None = None


class HomePreview(Answer):
    variant: str
    policy: PreviewPolicy
    carousels: list[PreviewCarousel]
    candidates: list[str] = Field(default_factory=list)
    warnings: list[Notice] = Field(default_factory=list)


class PersonalSongs(Answer):
    """The listener's personal songs with their source and variant."""

    variant: str
    source: str
    items: list[Song]


class PersonalArtists(Answer):
    """The listener's personal artists with their source and variant."""

    variant: str
    source: str
    items: list[Artist]


class ListenerPreview(Answer):
    """``GET /v1/admin/listeners/{userId}/preview``: what is known of the listener, their home
    screen and their personal songs and artists; nothing is recorded."""

    generated_at: str
    user_id: str
    batch_version: str | None = None
    listener: ListenerFacts
    home: HomePreview
    songs: PersonalSongs
    artists: PersonalArtists
