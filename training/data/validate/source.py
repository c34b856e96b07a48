"""Find a table's files, check their schema against the contract, and read them for the checks.

A table whose file is missing, unreadable, or lacks a column is reported here; the value checks
then see only the contract columns that are present with a compatible type, cast to one
canonical type each (integers to int64, so an out-of-range value stays visible).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from training.data.contract import TIMESTAMP, Column, TableSpec
from training.data.dataset_io import table_path, type_matches
from training.data.validate.problems import Findings

#: What reading a broken file raises (pyarrow errors; OSError for I/O and permissions).
READ_ERRORS: tuple[type[Exception], ...] = (pa.ArrowException, OSError)

T = TypeVar("T")


class UnreadableFileError(Exception):
    """A file of a table failed part-way through reading."""

    def __init__(self, label: str, cause: BaseException) -> None:
        super().__init__(f"{label}: {cause}")
        self.label = label
        self.cause = cause


@dataclass(frozen=True)
class Source:
    """A table found on disk: its readable files, their schema and the usable contract columns."""

    spec: TableSpec
    root: Path
    label: str
    files: tuple[Path, ...]
    rows: int
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    def read(self) -> pa.Table:
        """All rows of the usable columns, in canonical types; raises UnreadableFileError."""
        return pa.concat_tables(self._tables(by_row_group=False))

    def scan(self, chunk_rows: int) -> Iterator[pa.Table]:
        """The usable columns in tables of about ``chunk_rows`` rows, in canonical types.

        The next chunk is read in a background thread while the caller checks this one: the
        reading overlaps the checks, and at most two chunks are held at a time.
        """
        return prefetch(self._chunks(chunk_rows))

    def _chunks(self, chunk_rows: int) -> Iterator[pa.Table]:
        """Row groups gathered into tables of at least ``chunk_rows`` rows (but the last)."""
        pending: list[pa.Table] = []
        size = 0
        for table in self._tables(by_row_group=True):
            pending.append(table)
            size += table.num_rows
            if size >= chunk_rows:
                yield pa.concat_tables(pending)
                pending, size = [], 0
        if size:
            yield pa.concat_tables(pending)

    def _tables(self, by_row_group: bool) -> Iterator[pa.Table]:
        """Each file's rows, whole or one row group at a time, in canonical types.

        Row groups are read one by one rather than with ``iter_batches``, whose reader keeps
        a growing share of what it has read (about 30 MB more per 2 million rows).
        """
        for file in self.files:
            try:
                parquet = pq.ParquetFile(file)
                columns = list(self.columns)
                if not by_row_group:
                    yield canonical(parquet.read(columns=columns), self.spec)
                    continue
                for i in range(parquet.num_row_groups):
                    yield canonical(parquet.read_row_group(i, columns=columns), self.spec)
            except READ_ERRORS as exc:
                raise UnreadableFileError(file.relative_to(self.root).as_posix(), exc) from exc


def prefetch(items: Iterator[T]) -> Iterator[T]:
    """Yield from ``items``, fetching the next item in a background thread meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(next, items, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, items, None)
            yield item


def canonical(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast each contract column of ``table`` to the type the checks work on.

    Unsafe casts: finer timestamps are truncated to ms, and an unsigned integer past int64
    wraps round to a negative number (still out of any range the checks allow).
    """
    for i, name in enumerate(table.column_names):
        target = check_type(spec.column(name))
        if not table.schema.field(i).type.equals(target):
            table = table.set_column(i, name, table.column(i).cast(target, safe=False))
    return table


def check_type(column: Column) -> pa.DataType:
    """The type a column is checked in: its contract type, but any integer as int64."""
    if pa.types.is_integer(column.type):
        return pa.int64()
    if pa.types.is_timestamp(column.type):
        return TIMESTAMP
    return column.type


def read_error(exc: BaseException) -> str:
    """A one-line account of why a file could not be read."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())
    return f"cannot read the file: {text or type(exc).__name__}"


def open_source(root: Path, spec: TableSpec, findings: Findings) -> Source | None:
    """Find table ``spec`` under ``root`` and check its schema (None: nothing to read)."""
    path = table_path(root, spec.name)
    if path is None:
        if not spec.optional:
            findings.report(
                spec.name,
                f"{spec.name}.parquet",
                None,
                f"required table is missing (no {spec.name}.parquet file "
                f"or {spec.name}/ directory of Parquet part files)",
            )
        return None
    label = path.name if path.is_file() else f"{path.name}/"
    readable: list[tuple[Path, pq.FileMetaData]] = []
    for file in data_files(path):
        try:
            readable.append((file, pq.read_metadata(file)))
        except READ_ERRORS as exc:
            findings.report(spec.name, file.relative_to(root).as_posix(), None, read_error(exc))
    if not readable:
        return None
    usable = set(spec.column_names)
    for file, meta in readable:  # part files may differ: problems add up under the table
        schema = meta.schema.to_arrow_schema()
        first_row = functools.partial(_first_row, file)
        usable &= set(check_schema(spec, schema, label, meta.num_rows, findings, first_row))
    columns = tuple(c for c in spec.column_names if c in usable)
    files = tuple(f for f, _ in readable)
    rows = sum(meta.num_rows for _, meta in readable)
    return Source(spec, root, label, files, rows, columns)


def data_files(path: Path) -> list[Path]:
    """The Parquet files of a table: the file itself, or every data file of its directory.

    Like pyarrow's dataset discovery, names starting with ``.`` or ``_`` are skipped.
    """
    if path.is_file():
        return [path]
    return sorted(
        f
        for f in path.rglob("*")
        if f.is_file() and not any(p.startswith((".", "_")) for p in f.relative_to(path).parts)
    )


def check_schema(
    spec: TableSpec,
    schema: pa.Schema,
    label: str,
    rows: int,
    findings: Findings,
    first_row: Callable[[], dict[str, Any] | None],
) -> tuple[str, ...]:
    """Report missing and mistyped contract columns; return the usable ones."""
    usable: list[str] = []
    wrong: list[tuple[str, str]] = []
    for column in spec.columns:
        index = schema.get_field_index(column.name)
        if index < 0:
            wrong.append((column.name, "required column is missing"))
        elif not type_matches(schema.field(index).type, column.type):
            actual = schema.field(index).type
            wrong.append((column.name, f"wrong type: {actual}, expected {column.type}"))
        else:
            usable.append(column.name)
    example = first_row() if wrong else None
    for name, message in wrong:
        findings.report(spec.name, label, name, message, rows, example)
    return tuple(usable)


def _first_row(file: Path) -> dict[str, Any] | None:
    """The first row of a file, raw, to show next to a schema problem (None if unreadable)."""
    try:
        batch = next(pq.ParquetFile(file).iter_batches(batch_size=1), None)
    except READ_ERRORS:
        return None
    if batch is None or batch.num_rows == 0:
        return None
    return dict(batch.to_pylist()[0])
