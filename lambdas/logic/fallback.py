"""Fallbacks that never thin a list: the charts a list is filled from, best first, until it has
the length asked for.

The batch writes a chart per region and per region and genre, and the same under ``*``, which
counts the plays of every region of every country: the global chart (docs/batch-format.md calls
it national; it serves listeners whose region is unknown). There is no country chart; one is
composed here from the charts of the country's regions (a region ``us-tx`` is in the country
``us``), their play counts summed. A listener in region R who likes genres G gets, in order:

1. G's charts of R, then of R's country, then global (each level interleaving the genres);
2. the all-genre charts of R, its country, and global;
3. the global charts of every other genre of the catalogue (the deepest reach of the charts).

A level is read only while the list is still short, each song, artist or station is taken once
(where it first appears), and each item says which chart it came from (``chart``:
``<region, country or *>#<genre or *>``). Stations skip the country level: a region's station
chart already holds every national station (the global station chart holds nothing else), and
the other regions' local stations are not for this listener.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lambdas.logic.rerank import interleave
from lambdas.logic.rules import ranked
from lambdas.logic.services import Services
from lambdas.logic.vocabulary import Vocabulary
from lambdas.store import keys

GLOBAL = keys.NATIONAL  # the chart of every region's plays
ChartKind = Literal["songs", "artists", "stations"]
Tagged = tuple[str, float, str | None]  # id, score, the chart it came from (None: not a chart)


def country_of(region: str) -> str | None:
    """The country part of a region code (``us`` of ``us-tx``); None for a region without one
    (``*``, or a code like ``ca`` or ``other`` that is a whole country or no country at all)."""
    country, dash, _ = region.partition("-")
    return country if dash and country else None


@dataclass(frozen=True)
class Place:
    """Where a chart counts plays: ``name`` (a region, a country or ``*``) and the regional
    charts it is made of (one, or a country's regions)."""

    name: str
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Level:
    """One step of a fallback: a place's charts of some genres (None: all genres)."""

    place: Place
    genres: tuple[str | None, ...]


def places(region: str, known_regions: Sequence[str], kind: ChartKind) -> list[Place]:
    """The region, its country (when the vocabulary knows other regions of it; not for
    stations), then global."""
    found = [] if region == GLOBAL else [Place(region, (region,))]
    country = country_of(region)
    if country and kind != "stations":
        members = tuple(r for r in known_regions if r.partition("-")[0] == country)
        if set(members) - {region}:
            found.append(Place(country, members))
    return [*found, Place(GLOBAL, (GLOBAL,))]


def levels(
    region: str, genres: Sequence[str], vocab: Vocabulary | None, kind: ChartKind
) -> list[Level]:
    """The fallback order of a list for a listener in ``region`` who likes ``genres``."""
    where = places(region, vocab.regions if vocab else (), kind)
    chosen = tuple(dict.fromkeys(genres))
    found = [Level(p, chosen) for p in where] if chosen else []
    found += [Level(p, (None,)) for p in where]
    others = tuple(g for g in (vocab.genres if vocab else ()) if g not in chosen)
    if others:
        found.append(Level(Place(GLOBAL, (GLOBAL,)), others))
    return found


def summed(charts: Iterable[Sequence[tuple[str, float]]], depth: int) -> list[tuple[str, float]]:
    """Several charts as one: each id's scores (play counts) added up, best first (ties in the
    order of first appearance), the first ``depth``."""
    total: dict[str, float] = {}
    for chart in charts:
        for item, score in chart:
            total[item] = total.get(item, 0.0) + score
    return sorted(total.items(), key=lambda kv: -kv[1])[:depth]


def read_level(svc: Services, level: Level, kind: ChartKind, depth: int) -> list[Tagged]:
    """A level's candidates: per genre, the place's chart (a country's: its regions' whole
    charts summed), at most ``depth`` of it; the genres interleaved."""
    regions = level.place.regions
    wanted = [keys.chart_key(r, g) for g in level.genres for r in regions]
    found = svc.store.records("regional", wanted)
    per_genre: list[list[Tagged]] = []
    for genre in level.genres:
        charts = [ranked(found.get(keys.chart_key(r, genre), {}).get(kind)) for r in regions]
        merged = charts[0][:depth] if len(charts) == 1 else summed(charts, depth)
        tag = keys.chart_key(level.place.name, genre)  # what an item says of its chart
        per_genre.append([(item, score, tag) for item, score in merged])
    return interleave(per_genre)


def chart_levels(
    svc: Services, region: str, genres: Sequence[str], vocab: Vocabulary | None,
    kind: ChartKind, depth: int,
) -> Iterator[list[Tagged]]:  # fmt: skip
    """The candidates of each level, read only when the consumer asks for the next one."""
    for level in levels(region, genres, vocab, kind):
        yield read_level(svc, level, kind, depth)


def untagged(candidates: Iterable[tuple[str, float]]) -> list[Tagged]:
    """Candidates of the listener's own lists (not from a chart)."""
    return [(item, score, None) for item, score in candidates]


def fill(
    segments: Iterable[Sequence[Tagged]],
    pick: Callable[[list[tuple[str, float]]], list[dict[str, Any]]],
    limit: int,
    exclude: set[str],
    depth: int,
) -> list[dict[str, Any]]:
    """The best ``limit`` items: ``pick`` (the business rules) over the candidates of the
    segments taken in order, each id once (where it first appears), at most ``depth`` new ones
    per segment, the next segment read only while the pick is short. Each item gets ``chart``:
    where it came from."""
    pool: list[tuple[str, float]] = []
    origin: dict[str, str | None] = {}
    chosen: list[dict[str, Any]] = []
    for segment in segments:
        added = 0
        for item, score, tag in segment:
            if added == depth:
                break
            if item in origin or item in exclude:
                continue
            origin[item] = tag
            pool.append((item, score))
            added += 1
        if added:
            chosen = pick(pool)
        if len(chosen) >= limit:
            break
    return [{**entry, "chart": origin[entry["id"]]} for entry in chosen[:limit]]
