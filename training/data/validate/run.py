"""Validate a dataset directory: open every table, then check the small tables whole and
stream the large ones (``interactions``, ``follows``) in chunks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from training.data.contract import TABLES
from training.data.validate.checks import (
    Context,
    check_duplicates,
    check_rows,
    genre_vocabulary,
    keys_of,
    users_of,
)
from training.data.validate.problems import Findings, Problem
from training.data.validate.source import Source, UnreadableFileError, open_source, read_error

#: Tables read whole (they hold the ids the others refer to); the rest are streamed.
WHOLE = ("users", "items", "artists", "stations")
STREAMED = ("interactions", "follows")

#: Rows per chunk of a streamed table: large enough that looking ids up in the users' and
#: items' ids (a hash table built once per chunk) costs little next to the lookups.
CHUNK_ROWS = 1 << 21


@dataclass(frozen=True)
class Report:
    """What validating a directory found: the problems, and the rows of each table read."""

    root: Path
    problems: list[Problem]
    rows: dict[str, int]

    @property
    def valid(self) -> bool:
        return not self.problems


def validate(
    root: str | Path, *, chunk_rows: int = CHUNK_ROWS, progress: bool | None = None
) -> list[Problem]:
    """Every problem of the dataset at ``root`` against the data contract (empty: valid).

    ``progress`` shows a progress bar over the streamed tables on stderr (None: when a TTY).
    """
    return check_dataset(root, chunk_rows=chunk_rows, progress=progress).problems


def check_dataset(
    root: str | Path, *, chunk_rows: int = CHUNK_ROWS, progress: bool | None = None
) -> Report:
    """Validate ``root`` and report row counts along with the problems."""
    root = Path(root)
    findings = Findings()
    sources = {name: open_source(root, spec, findings) for name, spec in TABLES.items()}
    tables = {name: _read_whole(sources[name], findings) for name in WHOLE}
    ctx = _context(findings, sources, tables)
    for name in WHOLE:
        source, table = sources[name], tables[name]
        if source is not None and table is not None:
            check_rows(table, source, ctx)
            check_duplicates(table, source, findings)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ctx.pool = pool
        for name in STREAMED:
            source = sources[name]
            if source is not None:
                _check_streamed(source, ctx, chunk_rows, progress)
    rows = {name: s.rows for name, s in sources.items() if s is not None}
    return Report(root, findings.problems(), rows)


def _read_whole(source: Source | None, findings: Findings) -> pa.Table | None:
    if source is None:
        return None
    try:
        return source.read()
    except UnreadableFileError as exc:
        findings.report(source.name, exc.label, None, read_error(exc.cause))
        return None


def _context(
    findings: Findings, sources: dict[str, Source | None], tables: dict[str, pa.Table | None]
) -> Context:
    """The genre vocabulary and the ids other tables refer to."""

    def label(name: str) -> str:
        source = sources[name]
        return source.label if source is not None else f"{name}.parquet"

    ctx = Context(findings, genre_vocabulary(tables["items"]))
    for name, key in (("items", "item_id"), ("artists", "artist_id")):
        keys = keys_of(tables[name], key, label(name))
        if keys is not None:
            ctx.keys[name] = keys
    ctx.users = users_of(tables["users"], label("users"))
    return ctx


def _check_streamed(source: Source, ctx: Context, chunk_rows: int, progress: bool | None) -> None:
    """Check a large table chunk by chunk, with a progress bar over its rows."""
    disable = None if progress is None else not progress
    with tqdm(
        total=source.rows, desc=source.name, unit="rows", unit_scale=True, disable=disable
    ) as bar:
        try:
            for chunk in source.scan(chunk_rows):
                check_rows(chunk, source, ctx)
                bar.update(chunk.num_rows)
                del chunk  # before the next one is read
        except UnreadableFileError as exc:
            ctx.findings.report(source.name, exc.label, None, read_error(exc.cause))
