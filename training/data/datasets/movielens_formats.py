"""Parse the raw MovieLens 100K and 1M files into one neutral, format-independent shape.

Both formats are latin-1 text. 100K (``u.user``, ``u.item``, ``u.data``, optional ``u.genre``)
separates fields with ``|`` (ratings with a tab) and flags genres with 19 0/1 columns; 1M
(``users.dat``, ``movies.dat``, ``ratings.dat``) separates with ``::``, lists genres as
``Genre1|Genre2`` and codes age bands and occupations as numbers. Anything that does not parse
raises :class:`MovieLensFormatError` naming the file and line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

ML_100K = "ml-100k"
ML_1M = "ml-1m"

#: The files that identify each format, in the order they are read.
FORMAT_FILES: dict[str, tuple[str, ...]] = {
    ML_100K: ("u.user", "u.item", "u.data"),
    ML_1M: ("users.dat", "movies.dat", "ratings.dat"),
}

#: 100K's genre flag columns, used when ``u.genre`` is absent.
GENRES_100K: tuple[str, ...] = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

#: Genre labels that say "no genre"; movies with nothing else are dropped.
NO_GENRE: frozenset[str] = frozenset({"unknown", "(no genres listed)", ""})

#: 1M age codes (the lower bound of a band) to the age used: the band's midpoint, rounded
#: down; "under 18" is taken as 13-17 and "56+" as 56-64.
AGE_1M: dict[int, int] = {1: 15, 18: 21, 25: 29, 35: 39, 45: 47, 50: 52, 56: 60}

#: 1M occupation codes, from its README.
OCCUPATIONS_1M: tuple[str, ...] = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)

RATING_COLUMNS: tuple[str, ...] = ("user", "movie", "rating", "ts")

_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)")


class MovieLensFormatError(ValueError):
    """The source directory is not MovieLens 100K or 1M, or one of its files is malformed."""


@dataclass(frozen=True)
class RawMovieLens:
    """MovieLens in a neutral shape, whatever the source format.

    ``users``: ``user`` int, ``age`` Int (nullable), ``gender`` raw letter, ``occupation`` str,
    ``zip`` str. ``movies``: ``movie`` int, ``title`` str, ``year`` Int (nullable), ``genres``
    list of str (without "unknown"). ``ratings``: ``user``, ``movie``, ``rating`` (1..5), ``ts``
    (Unix seconds), all int64.
    """

    format: str
    users: pd.DataFrame
    movies: pd.DataFrame
    ratings: pd.DataFrame


@dataclass(frozen=True)
class _Rows:
    """The fields of one file, column by column, with each row's line number."""

    path: Path
    lines: list[int]
    columns: list[list[str]]

    def error(self, row: int, message: str) -> MovieLensFormatError:
        return MovieLensFormatError(f"{self.path}: line {self.lines[row]}: {message}")


def detect_format(src: Path) -> str:
    """Which MovieLens format ``src`` holds, judged by the files present."""
    if not src.is_dir():
        raise MovieLensFormatError(f"{src}: not a directory")
    for name, files in FORMAT_FILES.items():
        present = [f for f in files if (src / f).is_file()]
        if len(present) == len(files):
            return name
        if present:
            missing = [f for f in files if f not in present]
            raise MovieLensFormatError(
                f"{src}: looks like MovieLens {name} ({', '.join(present)} present) "
                f"but some are missing: {', '.join(missing)}"
            )
    expected = " or ".join(", ".join(files) for files in FORMAT_FILES.values())
    raise MovieLensFormatError(f"{src}: no MovieLens files found (expected {expected})")


def read_movielens(src: str | Path) -> RawMovieLens:
    """Read the MovieLens directory ``src`` (100K or 1M, detected) into a :class:`RawMovieLens`."""
    src = Path(src)
    fmt = detect_format(src)
    raw = _read_100k(src) if fmt == ML_100K else _read_1m(src)
    _check_references(raw, src / FORMAT_FILES[fmt][2])
    return raw


# --- generic parsing -----------------------------------------------------------------------


def _split_lines(path: Path, sep: str, n_fields: int) -> _Rows:
    """Split every non-blank line of ``path`` into exactly ``n_fields`` fields."""
    lines: list[int] = []
    rows: list[list[str]] = []
    with path.open(encoding="latin-1", newline=None) as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(sep)
            if len(parts) != n_fields:
                raise MovieLensFormatError(
                    f"{path}: line {lineno}: expected {n_fields} fields separated by "
                    f"{sep!r}, found {len(parts)}"
                )
            lines.append(lineno)
            rows.append(parts)
    if not rows:
        raise MovieLensFormatError(f"{path}: the file is empty")
    columns = [list(col) for col in zip(*rows, strict=True)]
    return _Rows(path, lines, columns)


def _ints(rows: _Rows, index: int, field: str) -> np.ndarray:
    """Column ``index`` as int64; the first unparsable value is reported with its line."""
    values = rows.columns[index]
    try:
        return np.asarray(values, dtype=np.str_).astype(np.int64)
    except ValueError:
        for row, value in enumerate(values):
            try:
                int(value)
            except ValueError:
                raise rows.error(row, f"{field} is not an integer: {value!r}") from None
        raise  # pragma: no cover - numpy and int() disagree


def _unique_ids(rows: _Rows, ids: np.ndarray, field: str) -> None:
    duplicated = pd.Series(ids).duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise rows.error(row, f"duplicate {field} {ids[row]}")


def _reject(rows: _Rows, values: np.ndarray, ok: np.ndarray, what: str) -> None:
    """Raise for the first value where ``ok`` is false."""
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise rows.error(row, f"{what}: {values[row]}")


def _year(title: str, fallback: str = "") -> int | None:
    """The release year: the title's last ``(YYYY)``, else the last 4 digits of ``fallback``."""
    found = _YEAR_IN_TITLE.findall(title)
    if found:
        return int(found[-1])
    tail = fallback.strip()[-4:]
    return int(tail) if tail.isdigit() else None


def _ratings(path: Path, sep: str) -> pd.DataFrame:
    """A ratings file: the fast Arrow parser when the file is clean, else a precise error."""
    ratings = _ratings_fast(path, sep)
    if ratings is None or not ratings["rating"].between(1, 5).all():
        ratings = _ratings_checked(_split_lines(path, sep, 4))
    return ratings


def _ratings_fast(path: Path, sep: str) -> pd.DataFrame | None:
    """Parse four integer columns with Arrow; None when anything is off."""
    data = path.read_bytes()
    if sep != "\t":
        data = data.replace(sep.encode("latin-1"), b"\t")
    try:
        table = pv.read_csv(
            io.BytesIO(data),
            read_options=pv.ReadOptions(column_names=list(RATING_COLUMNS)),
            parse_options=pv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(RATING_COLUMNS, pa.int64())
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if table.num_rows == 0 or any(table.column(c).null_count for c in RATING_COLUMNS):
        return None
    return table.to_pandas()


def _ratings_checked(rows: _Rows) -> pd.DataFrame:
    """Parse four integer columns field by field, raising at the first bad line."""
    ratings = pd.DataFrame(
        {
            "user": _ints(rows, 0, "user id"),
            "movie": _ints(rows, 1, "movie id"),
            "rating": _ints(rows, 2, "rating"),
            "ts": _ints(rows, 3, "timestamp"),
        }
    )
    values = ratings["rating"].to_numpy()
    _reject(rows, values, (values >= 1) & (values <= 5), "rating not 1..5")
    return ratings


def _check_references(raw: RawMovieLens, ratings_path: Path) -> None:
    """Every rating must name a known user and a known movie."""
    for column, table, source in (("user", raw.users, "user"), ("movie", raw.movies, "movie")):
        unknown = ~raw.ratings[column].isin(table[column])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            value = raw.ratings[column].iloc[row]
            raise MovieLensFormatError(
                f"{ratings_path}: rating #{row + 1} names {source} {value}, "
                f"which the {source}s file does not list"
            )


# --- 100K ----------------------------------------------------------------------------------


def _genres_100k(src: Path) -> tuple[str, ...]:
    path = src / "u.genre"
    if not path.is_file():
        return GENRES_100K
    rows = _split_lines(path, "|", 2)
    order = _ints(rows, 1, "genre index")
    if sorted(order.tolist()) != list(range(len(order))):
        raise MovieLensFormatError(f"{path}: genre indexes are not 0..{len(order) - 1}")
    names = rows.columns[0]
    return tuple(names[i] for i in np.argsort(order))


def _read_100k(src: Path) -> RawMovieLens:
    users = _users_100k(src / "u.user")
    movies = _movies_100k(src / "u.item", _genres_100k(src))
    ratings = _ratings(src / "u.data", "\t")
    return RawMovieLens(ML_100K, users, movies, ratings)


def _users_100k(path: Path) -> pd.DataFrame:
    rows = _split_lines(path, "|", 5)
    ids = _ints(rows, 0, "user id")
    _unique_ids(rows, ids, "user id")
    ages = _ints(rows, 1, "age")
    _reject(rows, ages, (ages > 0) & (ages < 130), "age out of range")
    return pd.DataFrame(
        {
            "user": ids,
            "age": pd.array(ages, dtype="Int64"),
            "gender": rows.columns[2],
            "occupation": rows.columns[3],
            "zip": rows.columns[4],
        }
    )


def _movies_100k(path: Path, genre_names: Sequence[str]) -> pd.DataFrame:
    rows = _split_lines(path, "|", 5 + len(genre_names))
    ids = _ints(rows, 0, "movie id")
    _unique_ids(rows, ids, "movie id")
    flags = np.asarray(rows.columns[5:], dtype=np.str_).T  # one row per movie
    bad = ~np.isin(flags, ["0", "1"])
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise rows.error(row, f"genre flag {genre_names[col]!r} is not 0 or 1: {flags[row, col]!r}")
    genres = [
        [g for g, flag in zip(genre_names, movie_flags, strict=True) if flag == "1"]
        for movie_flags in flags
    ]
    titles, dates = rows.columns[1], rows.columns[2]
    return _movies_frame(
        ids, titles, [_year(t, d) for t, d in zip(titles, dates, strict=True)], genres
    )


def _movies_frame(
    ids: np.ndarray, titles: list[str], years: list[int | None], genres: list[list[str]]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "movie": ids,
            "title": titles,
            "year": pd.array(years, dtype="Int64"),
            "genres": [[g for g in gs if g not in NO_GENRE] for gs in genres],
        }
    )


# --- 1M ------------------------------------------------------------------------------------


def _read_1m(src: Path) -> RawMovieLens:
    users = _users_1m(src / "users.dat")
    movies = _movies_1m(src / "movies.dat")
    ratings = _ratings(src / "ratings.dat", "::")
    return RawMovieLens(ML_1M, users, movies, ratings)


def _users_1m(path: Path) -> pd.DataFrame:
    rows = _split_lines(path, "::", 5)
    ids = _ints(rows, 0, "user id")
    _unique_ids(rows, ids, "user id")
    age_codes = _ints(rows, 2, "age code")
    _reject(rows, age_codes, np.isin(age_codes, list(AGE_1M)), "unknown age code")
    occupations = _ints(rows, 3, "occupation code")
    known = (occupations >= 0) & (occupations < len(OCCUPATIONS_1M))
    _reject(rows, occupations, known, "unknown occupation code")
    return pd.DataFrame(
        {
            "user": ids,
            "age": pd.array([AGE_1M[int(a)] for a in age_codes], dtype="Int64"),
            "gender": rows.columns[1],
            "occupation": [OCCUPATIONS_1M[int(o)] for o in occupations],
            "zip": rows.columns[4],
        }
    )


def _movies_1m(path: Path) -> pd.DataFrame:
    rows = _split_lines(path, "::", 3)
    ids = _ints(rows, 0, "movie id")
    _unique_ids(rows, ids, "movie id")
    titles = rows.columns[1]
    genres = [g.split("|") for g in rows.columns[2]]
    return _movies_frame(ids, titles, [_year(t) for t in titles], genres)
