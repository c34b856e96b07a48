"""Training-time features: fit a :class:`~training.model.features.FeatureSpec` on a ``users`` table
and encode whole tables with pyarrow (the vectorised twin of
:func:`training.model.features.encode_instances`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.data.contract import USERS
from training.model.features import (
    CATEGORICAL,
    COUNT,
    DTYPE,
    FIRST,
    MAX_DROPPED_LEVELS,
    MULTI_HOT,
    NUMERIC,
    FeatureBlock,
    FeatureSpec,
    FeatureSpecError,
)

#: Contract columns of ``users`` that are not model inputs.
NOT_FEATURES = ("user_id", "signup_ts")
GENRE_SOURCE = "selected_genres"


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t)


def _is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_string(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _strings(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.cast(pa.string())


class Levels(NamedTuple):
    """The levels fitted on one input and the values left out of them."""

    levels: tuple[str, ...]
    dropped: tuple[tuple[str, int], ...]
    dropped_omitted: int


def fit_levels(values: pa.ChunkedArray | pa.Array, min_count: int, max_levels: int) -> Levels:
    """The values seen at least ``min_count`` times (the ``max_levels`` most frequent), sorted;
    and the values left out (too rare, or beyond ``max_levels``) with how many times each was
    seen, the most frequent first (ties by value), at most
    :data:`~training.model.features.MAX_DROPPED_LEVELS` of them, and how many more there were.
    """
    counts = pc.value_counts(_strings(values).drop_null())
    if len(counts) == 0:
        return Levels((), (), 0)
    names = counts.field("values").to_numpy(zero_copy_only=False)
    freq = counts.field("counts").to_numpy()
    order = np.lexsort((names, -freq))
    frequent = [i for i in order if freq[i] >= min_count][:max_levels]
    kept = set(frequent)
    left_out = [(str(names[i]), int(freq[i])) for i in order if i not in kept]
    return Levels(
        levels=tuple(sorted(str(names[i]) for i in frequent)),
        dropped=tuple(left_out[:MAX_DROPPED_LEVELS]),
        dropped_omitted=max(0, len(left_out) - MAX_DROPPED_LEVELS),
    )


def _block(name: str, encoding: str, fitted: Levels) -> FeatureBlock:
    return FeatureBlock(name, encoding, fitted.levels, fitted.dropped, fitted.dropped_omitted)


def selections_ordered(column: pa.ChunkedArray | pa.Array, genres: Sequence[str]) -> bool:
    """Whether the order of the selected genres can carry information: False when every list
    follows one fixed order of the genres (e.g. sorted, as a form sends its checked boxes),
    True when no single order fits them all (the precedences of the lists have a cycle)."""
    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    codes = _codes(pc.list_flatten(lists), genres)
    parents = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    known = ~np.isnan(codes)
    codes, parents = codes[known].astype(np.int64), parents[known]
    same = (parents[1:] == parents[:-1]) & (codes[1:] != codes[:-1])
    g = len(genres)
    before = np.zeros((g, g), dtype=bool)  # before[a, b]: a was listed right before b
    before[codes[:-1][same], codes[1:][same]] = True
    alive = np.ones(g, dtype=bool)
    while alive.any():  # Kahn: peel genres nothing alive comes before; a cycle is left over
        free = alive & ~(before & alive[:, None]).any(axis=0)
        if not free.any():
            return True
        alive &= ~free
    return False


def fit_feature_spec(
    users: pa.Table,
    genres: Sequence[str],
    min_level_count: int = 5,
    max_levels: int = 500,
    selection_order: str = "auto",
) -> FeatureSpec:
    """The feature specification for ``users`` (the training users): built-in answers first,
    then every further column (numbers numeric, strings categorical, lists of strings multi-hot).

    ``selection_order``: "yes" adds the first selected genre as a feature, "no" does not,
    "auto" adds it when the order of the selections can carry information
    (:func:`selections_ordered`)."""
    if GENRE_SOURCE not in users.column_names:
        raise FeatureSpecError(f"users has no {GENRE_SOURCE!r} column")
    blocks = [FeatureBlock("age", NUMERIC)]
    for name in ("gender", "region"):
        fitted = (
            fit_levels(users.column(name), min_level_count, max_levels)
            if name in users.column_names
            else Levels((), (), 0)
        )
        blocks.append(_block(name, CATEGORICAL, fitted))
    blocks.append(FeatureBlock(GENRE_SOURCE, MULTI_HOT, tuple(genres)))
    blocks.append(FeatureBlock(GENRE_SOURCE, COUNT))
    if selection_order == "yes" or (
        selection_order == "auto" and selections_ordered(users.column(GENRE_SOURCE), genres)
    ):
        blocks.append(FeatureBlock(GENRE_SOURCE, FIRST, tuple(genres)))
    ignored: dict[str, str] = {}
    for name in users.column_names:
        if name in USERS.column_names:
            continue
        column = users.column(name)
        t = column.type
        if _is_number(t):
            if column.null_count == len(column):
                ignored[name] = "always missing"
                continue
            blocks.append(FeatureBlock(name, NUMERIC))
        elif _is_string(t) or (_is_list(t) and _is_string(t.value_type)):
            values = pc.list_flatten(column) if _is_list(t) else column
            fitted = fit_levels(values, min_level_count, max_levels)
            if not fitted.levels:
                ignored[name] = f"no value seen at least {min_level_count} times"
                continue
            blocks.append(_block(name, MULTI_HOT if _is_list(t) else CATEGORICAL, fitted))
        else:
            ignored[name] = f"type {t} is neither a number, a string nor a list of strings"
    return FeatureSpec(
        blocks=tuple(blocks),
        genres=tuple(genres),
        genre_source=GENRE_SOURCE,
        ignored=ignored,
        min_level_count=min_level_count,
    )


def _codes(column: pa.ChunkedArray | pa.Array, levels: Sequence[str]) -> np.ndarray:
    """Index of each value in ``levels`` as float64, NaN where missing or unknown."""
    codes = pc.index_in(_strings(column), value_set=pa.array(list(levels), pa.string()))
    return np.asarray(pc.fill_null(codes.cast(pa.float64()), np.nan), dtype=np.float64)


def encode_table(spec: FeatureSpec, users: pa.Table) -> np.ndarray:
    """Encode every row of ``users`` exactly as :func:`training.model.features.encode_instances`
    would encode the same rows as JSON instances. Absent columns are missing values."""
    n = users.num_rows
    out = np.zeros((n, spec.n_columns), dtype=DTYPE)
    multi_hot: dict[str, tuple[int, int]] = {}
    for block, offset in spec.block_offsets():
        present = block.source in users.column_names
        column = users.column(block.source) if present else None
        where = f"users.{block.source}"
        if block.encoding == NUMERIC:
            if column is None:
                out[:, offset] = np.nan
                continue
            if not _is_number(column.type):
                raise FeatureSpecError(f"{where}: numeric feature of type {column.type}")
            floats = pc.fill_null(column.cast(pa.float64()), np.nan)
            out[:, offset] = np.asarray(floats, dtype=np.float64)
        elif block.encoding == CATEGORICAL:
            if column is None:
                out[:, offset] = np.nan
                continue
            if _is_list(column.type):
                raise FeatureSpecError(f"{where}: categorical feature of type {column.type}")
            out[:, offset] = _codes(column, block.levels)
        elif block.encoding == MULTI_HOT:
            multi_hot[block.source] = (offset, block.width)
            if column is None or not block.levels:
                continue
            if not _is_list(column.type):
                raise FeatureSpecError(f"{where}: multi-hot feature of type {column.type}")
            lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            flat = pc.list_flatten(lists)
            parents = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
            codes = _codes(flat, block.levels)
            known = ~np.isnan(codes)
            out[parents[known], offset + codes[known].astype(np.int64)] = 1.0
        elif block.encoding == FIRST:
            out[:, offset] = np.nan
            if column is None or not block.levels:
                continue
            if not _is_list(column.type):
                raise FeatureSpecError(f"{where}: first-of-list feature of type {column.type}")
            lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            codes = _codes(pc.list_flatten(lists), block.levels)
            parents = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
            known = ~np.isnan(codes)
            rows, first = np.unique(parents[known], return_index=True)  # list order is kept
            out[rows, offset] = codes[known][first]
        else:  # count
            start, width = multi_hot[block.source]
            out[:, offset] = out[:, start : start + width].sum(axis=1, dtype=np.float64)
    return out
