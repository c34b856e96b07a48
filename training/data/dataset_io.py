"""Read and write dataset directories laid out per the data contract.

Reading casts every contract column to its canonical type (see :mod:`training.data.contract`), so
code downstream sees one set of types whatever wrote the files (pandas, Spark, pyarrow). Writing is
either whole-table (:func:`write_table`) or streamed in batches (:class:`TableWriter`) for tables
too large to hold twice in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from training.data.contract import TABLES, TableSpec


class DatasetError(ValueError):
    """A dataset directory cannot be read as the contract says."""


def table_path(root: str | Path, name: str) -> Path | None:
    """Where table ``name`` lives under ``root``: ``name.parquet`` or a ``name/`` directory."""
    root = Path(root)
    single = root / f"{name}.parquet"
    if single.is_file():
        return single
    parts = root / name
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return parts
    return None


def type_matches(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether ``actual`` can stand for the contract type ``expected`` without losing meaning."""
    if pa.types.is_null(actual):  # an all-null column: fine wherever nulls are allowed
        return True
    if pa.types.is_dictionary(actual):
        return type_matches(actual.value_type, expected)
    if pa.types.is_string(expected):
        return (
            pa.types.is_string(actual)
            or pa.types.is_large_string(actual)
            or pa.types.is_string_view(actual)
        )
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) and actual.tz in (None, "UTC", "utc", "+00:00")
    if pa.types.is_list(expected):
        is_list = (
            pa.types.is_list(actual)
            or pa.types.is_large_list(actual)
            or pa.types.is_list_view(actual)
        )
        return is_list and type_matches(actual.value_type, expected.value_type)
    return bool(actual.equals(expected))


def _dataset(root: str | Path, name: str) -> ds.Dataset:
    path = table_path(root, name)
    if path is None:
        raise DatasetError(f"{name}: no {name}.parquet (or {name}/ of part files) in {root}")
    return ds.dataset(path, format="parquet")


def _cast_to_contract(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast the contract's columns to their canonical types; other columns pass unchanged."""
    for i, field in enumerate(table.schema):
        if field.name not in spec.column_names:
            continue
        expected = spec.column(field.name).type
        if field.type.equals(expected):
            continue
        if not type_matches(field.type, expected):
            raise DatasetError(
                f"{spec.name}.{field.name}: type {field.type} does not match "
                f"the contract's {expected}"
            )
        # Timestamps finer than the contract's milliseconds (pandas writes ns) are truncated.
        safe = not pa.types.is_timestamp(expected)
        table = table.set_column(i, field.name, table.column(i).cast(expected, safe=safe))
    return table


def read_table(root: str | Path, name: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read table ``name`` (or some of its columns) with contract columns in canonical types."""
    spec = TABLES[name]
    table = _dataset(root, name).to_table(columns=list(columns) if columns else None)
    return _cast_to_contract(table, spec)


def iter_batches(
    root: str | Path, name: str, columns: Sequence[str] | None = None, batch_size: int = 1 << 20
) -> Iterator[pa.RecordBatch]:
    """Stream table ``name`` in record batches, cast like :func:`read_table`."""
    spec = TABLES[name]
    dataset = _dataset(root, name)
    for batch in dataset.to_batches(
        columns=list(columns) if columns else None, batch_size=batch_size
    ):
        yield from _cast_to_contract(pa.Table.from_batches([batch]), spec).to_batches()


def has_table(root: str | Path, name: str) -> bool:
    return table_path(root, name) is not None


def _conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Order the contract's columns first, cast them, keep extra columns where allowed."""
    missing = [c for c in spec.column_names if c not in table.column_names]
    if missing:
        raise DatasetError(f"{spec.name}: missing columns {missing}")
    extra = [c for c in table.column_names if c not in spec.column_names]
    if extra and not spec.open_columns:
        raise DatasetError(f"{spec.name}: columns not in the contract: {extra}")
    table = table.select([*spec.column_names, *extra])
    return _cast_to_contract(table, spec)


def write_table(root: str | Path, name: str, table: pa.Table) -> Path:
    """Write a whole table as ``root/name.parquet``, conformed to the contract."""
    spec = TABLES[name]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.parquet"
    pq.write_table(_conform(table, spec), path, compression="zstd")
    return path


class TableWriter:
    """Stream one table into ``root/name.parquet`` batch by batch (one row group per write).

    Use as a context manager; the file is complete only after a clean exit.
    """

    def __init__(self, root: str | Path, name: str, schema: pa.Schema | None = None) -> None:
        self.spec = TABLES[name]
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / f"{name}.parquet"
        self._schema = schema or self.spec.schema
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        table = _conform(table, self.spec)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is None:
            pq.write_table(self._schema.empty_table(), self.path, compression="zstd")
        else:
            self._writer.close()
        if exc_type is not None:
            self.path.unlink(missing_ok=True)
