"""Turn MovieLens ratings into the data contract so that the onboarding task is the real one.

The protocol (explained with its numbers in docs/data.md, "MovieLens"):

- a movie's genre is its *least common* genre (fewest movies; ties alphabetical), so that
  Drama and Comedy do not swallow every multi-genre movie; movies with no genre but "unknown"
  are dropped with their ratings;
- pseudo-artists are (genre, release decade), albums (genre, release year);
- a user's first ``selection_ratings`` ratings (by time, then movie id) are the signup
  questionnaire: ``selected_genres`` are the genres seen at least ``min_repeats`` times among
  them (at least the most frequent one, at most ``max_selected``), ``signup_ts`` is the first
  rating's real time, and those ratings are not kept as plays;
- the remaining ratings become plays (ratings >= ``like_from`` also a like at the same time),
  re-timed by rank: the first half spread over days [first_day, window_start), the second half
  over [window_start, window_end), order preserved, so the label window holds the later half.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from training.data.contract import TIMESTAMP, Event
from training.data.datasets.movielens_formats import RawMovieLens

DAY_MS = 86_400_000

#: The country of every pseudo-artist: MovieLens says nothing about where a movie comes from.
ARTIST_REGION = "us"

_CANADIAN_FSA = re.compile(r"[ABCEGHJ-NPRSTVXY]\d[A-Z]")


@dataclass(frozen=True)
class Protocol:
    """The knobs of the conversion (defaults chosen on MovieLens 100K, see docs/data.md)."""

    selection_ratings: int = 15
    min_repeats: int = 2
    max_selected: int = 8
    first_day: float = 1.0
    window_start_day: float = 30.0
    window_end_day: float = 60.0
    like_from: int = 4

    def __post_init__(self) -> None:
        if self.selection_ratings < 1 or self.min_repeats < 1 or self.max_selected < 1:
            raise ValueError("selection_ratings, min_repeats and max_selected must be >= 1")
        if not 0 <= self.first_day < self.window_start_day < self.window_end_day:
            raise ValueError("need 0 <= first_day < window_start_day < window_end_day")


@dataclass(frozen=True)
class Converted:
    """The contract tables plus what was dropped on the way."""

    tables: dict[str, pa.Table]
    dropped_movies: int
    dropped_ratings: int
    dropped_users: int


def convert(raw: RawMovieLens, protocol: Protocol | None = None) -> Converted:
    """Apply the protocol to ``raw``: every table of the contract except ``follows``."""
    protocol = protocol or Protocol()
    genre_of = primary_genres(raw.movies)
    movies = raw.movies[raw.movies["movie"].isin(genre_of.index)]
    ratings = order_ratings(raw.ratings, genre_of)
    first, later = split_selection(ratings, protocol.selection_ratings)
    users = build_users(raw.users, first, protocol)
    items, artists = build_catalog(movies, genre_of)
    genres = sorted(set(genre_of))
    tables = {
        "users": users,
        "items": items,
        "artists": artists,
        "stations": build_stations(genres, sorted(set(users.column("region").to_pylist()))),
        "interactions": build_interactions(later, protocol),
    }
    return Converted(
        tables=tables,
        dropped_movies=len(raw.movies) - len(movies),
        dropped_ratings=len(raw.ratings) - len(ratings),
        dropped_users=len(raw.users) - users.num_rows,
    )


# --- genres and catalog --------------------------------------------------------------------


def primary_genres(movies: pd.DataFrame) -> pd.Series:
    """Each movie's genre: its least common genre by movie count, ties alphabetical.

    Movies without any genre are left out.
    """
    with_genres = movies[movies["genres"].map(len) > 0]
    counts = Counter(g for gs in with_genres["genres"] for g in gs)
    chosen = [min(gs, key=lambda g: (counts[g], g)) for gs in with_genres["genres"]]
    return pd.Series(chosen, index=with_genres["movie"].to_numpy(), name="genre")


def slug(text: str) -> str:
    """A lower-case id fragment: ``Children's`` -> ``childrens``, ``Sci-Fi`` -> ``sci-fi``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def artist_key(genre: str, year: int | None) -> tuple[str, str]:
    """The pseudo-artist of a movie: id and name from its genre and release decade."""
    if year is None:
        return f"a-{slug(genre)}-undated", f"{genre} (undated)"
    decade = f"{year // 10 * 10}s"
    return f"a-{slug(genre)}-{decade}", f"{genre} {decade}"


def album_id(genre: str, year: int | None) -> str | None:
    """The pseudo-album of a movie: its genre and release year (none when undated)."""
    return None if year is None else f"al-{slug(genre)}-{year}"


def build_catalog(movies: pd.DataFrame, genre_of: pd.Series) -> tuple[pa.Table, pa.Table]:
    """The ``items`` and ``artists`` tables of the kept movies."""
    genres = [str(genre_of[m]) for m in movies["movie"]]
    years: list[int | None] = [None if pd.isna(y) else int(y) for y in movies["year"]]
    artist_keys = [artist_key(g, y) for g, y in zip(genres, years, strict=True)]
    items = pa.table(
        {
            "item_id": [movie_id(m) for m in movies["movie"]],
            "title": [t if t else None for t in movies["title"]],
            "artist_id": [a for a, _ in artist_keys],
            "album_id": [album_id(g, y) for g, y in zip(genres, years, strict=True)],
            "genre": genres,
            "available": [True] * len(genres),
        }
    )
    artists = sorted({(a, name, g) for (a, name), g in zip(artist_keys, genres, strict=True)})
    artist_table = pa.table(
        {
            "artist_id": [a for a, _, _ in artists],
            "name": [name for _, name, _ in artists],
            "genre": [g for _, _, g in artists],
            "region": [ARTIST_REGION] * len(artists),
        }
    )
    return items, artist_table


def build_stations(genres: Sequence[str], regions: Sequence[str]) -> pa.Table:
    """One national station per genre, and one per genre and user region."""
    rows: list[tuple[str, str, str, str | None]] = []
    for genre in genres:
        rows.append((f"st-{slug(genre)}", f"{genre} Radio", genre, None))
        rows.extend(
            (f"st-{slug(genre)}-{region}", f"{genre} Radio {region}", genre, region)
            for region in regions
        )
    return pa.table(
        {
            "station_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "genre": [r[2] for r in rows],
            "region": pa.array([r[3] for r in rows], type=pa.string()),
        }
    )


def _ids(numbers: np.ndarray, name: Callable[[int], str]) -> np.ndarray:
    """``name`` applied to every number, computed once per distinct number."""
    distinct, inverse = np.unique(numbers, return_inverse=True)
    return np.array([name(int(n)) for n in distinct], dtype=object)[inverse]


def movie_id(movie: int) -> str:
    return f"m{movie}"


def user_id(user: int) -> str:
    return f"u{user}"


# --- users ---------------------------------------------------------------------------------


def zip_region(zip_code: str) -> str:
    """A region from a ZIP code: ``us-z0``..``us-z9`` (first digit), ``ca``, else ``other``."""
    code = zip_code.strip().upper()
    if code[:1].isdigit():
        return f"us-z{code[0]}"
    if _CANADIAN_FSA.match(code):
        return "ca"
    return "other"


def gender(raw: str) -> str | None:
    """``m``/``f`` from MovieLens' ``M``/``F``; anything else unknown."""
    value = raw.strip().lower()
    return value if value in ("m", "f") else None


def select_genres(genres_in_order: Sequence[str], protocol: Protocol) -> list[str]:
    """The questionnaire answer from the genres of the first ratings, in rating order.

    Genres seen at least ``min_repeats`` times, most frequent first (ties: seen first); the
    most frequent alone when none repeats; at most ``max_selected``.
    """
    counts = Counter(genres_in_order)
    first_seen = {g: i for i, g in reversed(list(enumerate(genres_in_order)))}
    ranked = sorted(counts, key=lambda g: (-counts[g], first_seen[g]))
    chosen = [g for g in ranked if counts[g] >= protocol.min_repeats] or ranked[:1]
    return chosen[: protocol.max_selected]


def build_users(raw_users: pd.DataFrame, first: pd.DataFrame, protocol: Protocol) -> pa.Table:
    """The ``users`` table: users with at least one kept rating, signup at their first one."""
    grouped = first.groupby("user", sort=True)
    answers = pd.DataFrame({"signup": grouped["ts"].min()})
    answers["genres"] = [select_genres(gs, protocol) for gs in grouped["genre"].agg(list)]
    users = raw_users.set_index("user").loc[answers.index]
    return pa.table(
        {
            "user_id": [user_id(u) for u in answers.index],
            "signup_ts": pa.array(answers["signup"].to_numpy() * 1000, type=pa.int64()).cast(
                TIMESTAMP
            ),
            "age": pa.array(users["age"].astype("Int32"), type=pa.int32(), from_pandas=True),
            "gender": pa.array([gender(g) for g in users["gender"]], type=pa.string()),
            "region": [zip_region(z) for z in users["zip"]],
            "selected_genres": pa.array(list(answers["genres"]), type=pa.list_(pa.string())),
            "occupation": list(users["occupation"]),
            "zip_prefix": [z.strip().upper()[:3] for z in users["zip"]],
        }
    )


# --- ratings -------------------------------------------------------------------------------


def order_ratings(ratings: pd.DataFrame, genre_of: pd.Series) -> pd.DataFrame:
    """Kept ratings in each user's order (time, then movie id) with ``genre``, ``rank``, ``n``."""
    kept = ratings[ratings["movie"].isin(genre_of.index)]
    kept = kept.sort_values(["user", "ts", "movie"], kind="stable").reset_index(drop=True)
    kept["genre"] = genre_of.reindex(kept["movie"]).to_numpy()
    kept["rank"] = kept.groupby("user").cumcount()
    kept["n"] = kept.groupby("user")["user"].transform("size")
    return kept


def split_selection(ratings: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``k`` ratings of each user (the questionnaire) and the rest (the future).

    ``later`` gains ``signup`` (the user's first rating time), ``j`` (rank among the later
    ratings) and ``m`` (how many later ratings the user has).
    """
    first = ratings[ratings["rank"] < k]
    later = ratings[ratings["rank"] >= k].copy()
    signup = first.groupby("user")["ts"].min()
    later["signup"] = signup.reindex(later["user"]).to_numpy()
    later["j"] = later["rank"] - k
    later["m"] = later["n"] - k
    return first, later


def retime_days(j: np.ndarray, m: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Days after signup for the ``j``-th of ``m`` later ratings (order kept, ties impossible).

    The first ``m // 2`` ranks are spread evenly over [first_day, window_start_day), the rest
    over [window_start_day, window_end_day), each at the middle of its slot, so every timestamp
    lies strictly inside its half whatever the window's boundary convention.
    """
    j = np.asarray(j, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    h = np.floor(m / 2)
    early = protocol.first_day + (protocol.window_start_day - protocol.first_day) * (j + 0.5) / (
        np.maximum(h, 1)
    )
    late = protocol.window_start_day + (protocol.window_end_day - protocol.window_start_day) * (
        j - h + 0.5
    ) / np.maximum(m - h, 1)
    return np.where(j < h, early, late)


def build_interactions(later: pd.DataFrame, protocol: Protocol) -> pa.Table:
    """A ``play`` per later rating, plus a ``like`` at the same time for good ratings."""
    days = retime_days(later["j"].to_numpy(), later["m"].to_numpy(), protocol)
    ts = later["signup"].to_numpy(dtype=np.int64) * 1000 + np.round(days * DAY_MS).astype(np.int64)
    users = _ids(later["user"].to_numpy(), user_id)
    items = _ids(later["movie"].to_numpy(), movie_id)
    liked = later["rating"].to_numpy() >= protocol.like_from
    # one row per play plus one per like; a stable sort on the rating index puts each like
    # right after its play, so the table stays in per-user time order
    index = np.concatenate([np.arange(len(ts)), np.flatnonzero(liked)])
    kinds = np.array([Event.PLAY.value, Event.LIKE.value], dtype=object)
    event = np.concatenate([np.zeros(len(ts), np.int8), np.ones(int(liked.sum()), np.int8)])
    order = np.argsort(index, kind="stable")
    pick, events = index[order], kinds[event[order]]
    return pa.table(
        {
            "user_id": pa.array(users[pick], type=pa.string()),
            "item_id": pa.array(items[pick], type=pa.string()),
            "ts": pa.array(ts[pick], type=pa.int64()).cast(TIMESTAMP),
            "event": pa.array(events, type=pa.string()),
        }
    )
