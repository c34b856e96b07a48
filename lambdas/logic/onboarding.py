"""A new listener's genres (the model's, or the business rule's) and the content of those genres
in their region: the best stations, songs and artists."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lambdas.logic.content import CANDIDATES_PER_RESULT, named, pick
from lambdas.logic.fallback import ChartKind, chart_levels, fill
from lambdas.logic.rules import Scored, ranked
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import AnswerError, Vocabulary
from lambdas.store import keys
from lambdas.store.endpoint import EndpointError, predict_genres

TOP_GENRES = 3
EVERY_GENRE = 100  # the top_k that asks the model for every genre's probability (its maximum)
RULES_VARIANT = "rules"
# Keys of the model's request body beside the answers (container/protocol.py): an answer named
# so would change the request itself (``instances`` turns it into a batch the model refuses).
MODEL_REQUEST_KEYS = ("instances", "top_k")


def clashing_answers(answers: dict[str, Any], reserved: Iterable[str]) -> list[str]:
    """The free answers whose key is (trimmed, in any case) a ``reserved`` name: a validated
    field of the request or a key of the model's request."""
    names = {name.casefold() for name in (*reserved, *MODEL_REQUEST_KEYS)}
    return [key for key in answers if key.strip().casefold() in names]


def check_free_answers(answers: dict[str, Any], fields: Iterable[str]) -> None:
    """A free answer may not stand for a validated field (one of ``fields``) nor a key of the
    model's request: :class:`AnswerError` (a 400) naming ``answers.<key>``."""
    fields = list(fields)
    for key in clashing_answers(answers, fields):
        field = f"answers.{key}"
        same = next((f for f in fields if f == key.strip().casefold()), None)
        if same:
            message = f"{field}: not a free answer; set it as the top-level field {same!r}"
        else:
            message = f"{field}: a name the model's request reserves; use another name"
        raise AnswerError(field, message)


def model_instance(validated: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """What the model is asked about: the free answers, then the validated fields over them (so
    an answer can never replace a validated value)."""
    return {**answers, **validated}


@dataclass(frozen=True)
class GenreChoice:
    """The genres to recommend from, where they came from (``model``, ``rules``, or ``fallback``
    when the model failed) and the version of what chose them."""

    genres: list[dict[str, Any]]
    source: str
    model_version: str
    error: str | None = None  # the model's failure, for the fallback
    probabilities: list[dict[str, Any]] = field(default_factory=list)  # all the model ranked


def rule_genres(selected: list[str], genre_order: list[str]) -> list[dict[str, Any]]:
    """The business rule: the selected genres, most popular first (popularity: ``genre_order``,
    the national station chart's genres); with no selection, the most popular genres."""
    rank = {genre: i for i, genre in enumerate(genre_order)}
    chosen = sorted(dict.fromkeys(selected), key=lambda g: rank.get(g, len(rank))) or genre_order
    return [
        {"genre": g, "score": round(1.0 / (i + 1), 6)} for i, g in enumerate(chosen[:TOP_GENRES])
    ]


def genre_popularity(svc: Services) -> list[str]:
    """Genres in the order of the national station chart (ranked by each genre's share)."""
    national = svc.store.record("regional", keys.chart_key(keys.NATIONAL, None)) or {}
    stations = ranked(national.get("stations"))
    catalog = svc.store.catalog([s for s, _ in stations], kind="station")
    order = [str(catalog[s]["genre"]) for s, _ in stations if s in catalog]
    return list(dict.fromkeys(order))


def choose_genres(
    svc: Services,
    variant: str,
    instance: dict[str, Any],
    selected: list[str],
    top_k: int = TOP_GENRES,
) -> GenreChoice:
    """The model's genres for the onboarding answers in ``instance`` (its first
    :data:`TOP_GENRES`; ``probabilities``: the ``top_k`` it was asked for); the rule's in the
    rules variant, and when the model fails (``source="fallback"``)."""
    if variant != RULES_VARIANT:
        try:
            ranked_genres, model_version = predict_genres(
                svc.runtime, svc.settings.endpoint_name, instance, max(top_k, TOP_GENRES),
                svc.settings.endpoint_timeout_s,
            )  # fmt: skip
        except EndpointError as exc:
            rule = rule_genres(selected, genre_popularity(svc))
            return GenreChoice(rule, "fallback", "rules", type(exc).__name__)
        if ranked_genres:
            top = ranked_genres[:TOP_GENRES]
            return GenreChoice(top, "model", model_version, probabilities=ranked_genres)
        return GenreChoice(rule_genres(selected, genre_popularity(svc)), "model", model_version)
    return GenreChoice(rule_genres(selected, genre_popularity(svc)), "rules", "rules")


def onboarding_content(
    svc: Services, region: str, genres: list[str], limit: int, vocab: Vocabulary | None
) -> dict[str, Any]:
    """The best stations, songs and artists of the genres in the region, ``limit`` of each
    wherever the charts can fill it (:mod:`lambdas.logic.fallback`: the region's charts, then
    its country's, then the global ones, then all genres'), each item naming its chart."""
    depth = limit * CANDIDATES_PER_RESULT

    def filled(
        kind: ChartKind, choose: Callable[[list[Scored]], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        found = chart_levels(svc, region, genres, vocab, kind, depth)
        return fill(found, choose, limit, set(), depth)

    return {
        "stations": filled("stations", lambda pool: named(svc, pool[:limit], "station")),
        "songs": filled("songs", lambda pool: pick(svc, pool, limit, 2, 1)),
        "artists": filled("artists", lambda pool: named(svc, pool[:limit], "artist")),
    }
