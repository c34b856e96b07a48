"""Onboarding features: the specification and the serve-time encoder (numpy and stdlib only).

A :class:`FeatureSpec` says, for every input of the onboarding model, where it comes from (a
column of ``users`` at training time, a key of a JSON instance at serve time) and how it is
encoded. It is stored in the model artifact, so the inference server needs nothing else.

Encodings (one or more matrix columns each):

- ``numeric``: the value as a float; missing (``None``, absent, not a number) is NaN.
- ``categorical``: the index of the value in ``levels``; missing or unknown values are NaN
  (LightGBM's native categoricals treat NaN as missing).
- ``multi_hot``: one 0/1 column per level; values not in ``levels`` are ignored and reported.
- ``count``: how many distinct known levels a ``multi_hot`` source holds.
- ``first``: the index in ``levels`` of the first value of a list source that is a level (the
  genre selected first, where the app keeps the order of the selections); none is NaN. A
  categorical column for LightGBM.

Levels are fitted on the training users: a value seen fewer than ``min_level_count`` times, or
beyond the ``max_levels`` most frequent, is left out of ``levels``. Such values are remembered in
``dropped`` with how often they were seen (at most :data:`MAX_DROPPED_LEVELS` per input, the most
frequent first; how many more were dropped is ``dropped_omitted``), so that the encoder can tell
a value the model saw too rarely (an expected property of the model, noted in
:attr:`Encoded.rare`) from one it never saw (a problem with the request, in
:attr:`Encoded.warnings`).

:func:`encode_instances` encodes JSON instances one by one in pure Python (a few microseconds
each); :mod:`training.model.feature_table` encodes a whole ``users`` table with pyarrow and
must give exactly the same matrix (the tests check it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

SCHEMA_VERSION = 1

NUMERIC = "numeric"
CATEGORICAL = "categorical"
MULTI_HOT = "multi_hot"
COUNT = "count"
FIRST = "first"
ENCODINGS = (NUMERIC, CATEGORICAL, MULTI_HOT, COUNT, FIRST)

#: The matrix dtype, at training and at serve time alike.
DTYPE = np.float32

#: At most this many dropped levels are remembered per input (the most frequent first).
MAX_DROPPED_LEVELS = 2000

_DESCRIPTIONS = {
    NUMERIC: "the value as a float; missing or not a number -> NaN (missing)",
    CATEGORICAL: "index of the value in levels; missing or unknown -> NaN (missing)",
    MULTI_HOT: "one 0/1 column per level; unknown values are ignored and reported",
    COUNT: "number of distinct known levels of the multi-hot source",
    FIRST: "index in levels of the first value of the list that is a level; none -> NaN",
}


class FeatureSpecError(ValueError):
    """A feature specification document is malformed."""


@dataclass(frozen=True)
class FeatureBlock:
    """One input and its encoding; it fills :attr:`width` consecutive matrix columns."""

    source: str
    encoding: str
    levels: tuple[str, ...] = ()
    #: Values seen in training but left out of ``levels`` (too rare, or beyond ``max_levels``)
    #: with how many times each was seen, the most frequent first; at most
    #: :data:`MAX_DROPPED_LEVELS` of them.
    dropped: tuple[tuple[str, int], ...] = ()
    #: How many further dropped values (the rarest) are not listed in ``dropped``.
    dropped_omitted: int = 0

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise FeatureSpecError(f"{self.source}: unknown encoding {self.encoding!r}")
        if (self.dropped or self.dropped_omitted) and self.encoding not in (CATEGORICAL, MULTI_HOT):
            raise FeatureSpecError(f"{self.source}: {self.encoding} block with dropped levels")

    @property
    def width(self) -> int:
        return len(self.levels) if self.encoding == MULTI_HOT else 1

    @property
    def column_names(self) -> list[str]:
        if self.encoding == MULTI_HOT:
            return [f"{self.source}={level}" for level in self.levels]
        if self.encoding == COUNT:
            return [f"n_{self.source}"]
        if self.encoding == FIRST:
            return [f"first_{self.source}"]
        return [self.source]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "source": self.source,
            "encoding": self.encoding,
            "description": _DESCRIPTIONS[self.encoding],
        }
        if self.encoding in (CATEGORICAL, MULTI_HOT):
            doc["levels"] = list(self.levels)
            doc["dropped_levels"] = dict(self.dropped)
            if self.dropped_omitted:
                doc["dropped_levels_omitted"] = self.dropped_omitted
        elif self.encoding == FIRST:
            doc["levels"] = list(self.levels)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureBlock:
        """Read a block back; a document written before dropped levels were kept (no
        ``dropped_levels``) reads as a block that dropped nothing."""
        try:
            dropped = tuple(
                (str(v), int(n)) for v, n in dict(doc.get("dropped_levels", {})).items()
            )
            omitted = int(doc.get("dropped_levels_omitted", 0))
        except (TypeError, ValueError):
            raise FeatureSpecError(
                f"{doc.get('source')}: dropped_levels must map values to times seen"
            ) from None
        try:
            return cls(
                source=str(doc["source"]),
                encoding=str(doc["encoding"]),
                levels=tuple(str(v) for v in doc.get("levels", ())),
                dropped=dropped,
                dropped_omitted=omitted,
            )
        except KeyError as exc:
            raise FeatureSpecError(f"feature block without {exc.args[0]!r}: {doc}") from None


class RareValue(NamedTuple):
    """An answer the model saw in training, but too rarely (or beyond ``max_levels``) to keep
    as a level: it encodes as missing (categorical) or is ignored (multi-hot)."""

    key: str
    value: str
    seen: int
    note: str


class Encoded(NamedTuple):
    """Encoded instances: the feature matrix and, per instance, what was ignored or unknown.

    ``warnings`` are problems with the request (unknown genres, values of the wrong type, values
    never seen in training); ``rare`` are answers seen in training too rarely to be levels of
    the model, an expected property of the model rather than of the request.
    """

    matrix: np.ndarray
    unknown_genres: list[list[str]]
    warnings: list[list[str]]
    rare: list[list[RareValue]]


@dataclass(frozen=True)
class FeatureSpec:
    """The ordered feature blocks of a model, its genre vocabulary and what was left out."""

    blocks: tuple[FeatureBlock, ...]
    genres: tuple[str, ...]
    genre_source: str = "selected_genres"
    ignored: Mapping[str, str] = field(default_factory=dict)
    #: Levels were values seen at least this many times in training (``None``: not recorded,
    #: as in documents written before it was).
    min_level_count: int | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        seen_multi_hot: set[str] = set()
        for block in self.blocks:
            if (block.dropped or block.dropped_omitted) and self.min_level_count is None:
                raise FeatureSpecError(f"{block.source}: dropped levels without min_level_count")
            if block.encoding == MULTI_HOT:
                seen_multi_hot.add(block.source)
            elif block.encoding == COUNT and block.source not in seen_multi_hot:
                raise FeatureSpecError(f"count of {block.source!r} before its multi_hot block")
        object.__setattr__(self, "_plan", _compile(self))

    @property
    def columns(self) -> list[str]:
        """The matrix's column names, in order."""
        return [name for block in self.blocks for name in block.column_names]

    @property
    def n_columns(self) -> int:
        return sum(block.width for block in self.blocks)

    @property
    def categorical_columns(self) -> list[int]:
        """Indices of the columns holding categorical codes (LightGBM ``categorical_feature``)."""
        out: list[int] = []
        offset = 0
        for block in self.blocks:
            if block.encoding in (CATEGORICAL, FIRST):
                out.append(offset)
            offset += block.width
        return out

    def block_offsets(self) -> list[tuple[FeatureBlock, int]]:
        """Each block with the index of its first column."""
        out = []
        offset = 0
        for block in self.blocks:
            out.append((block, offset))
            offset += block.width
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "genres": list(self.genres),
            "genre_source": self.genre_source,
            "features": [block.to_dict() for block in self.blocks],
            "columns": self.columns,
            "categorical_columns": self.categorical_columns,
            "ignored": dict(self.ignored),
            **({} if self.min_level_count is None else {"min_level_count": self.min_level_count}),
            "dtype": np.dtype(DTYPE).name,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureSpec:
        version = int(doc.get("schema_version", -1))
        if version != SCHEMA_VERSION:
            raise FeatureSpecError(
                f"feature spec schema version {version}; this code reads {SCHEMA_VERSION}"
            )
        try:
            spec = cls(
                blocks=tuple(FeatureBlock.from_dict(b) for b in doc["features"]),
                genres=tuple(str(g) for g in doc["genres"]),
                genre_source=str(doc.get("genre_source", "selected_genres")),
                ignored={str(k): str(v) for k, v in dict(doc.get("ignored", {})).items()},
                min_level_count=_optional_int(doc.get("min_level_count")),
                schema_version=version,
            )
        except KeyError as exc:
            raise FeatureSpecError(f"feature spec without {exc.args[0]!r}") from None
        if "columns" in doc and list(doc["columns"]) != spec.columns:
            raise FeatureSpecError("feature spec 'columns' do not match its feature blocks")
        return spec

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        return cls.from_dict(json.loads(text))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- the serve-time encoder -------------------------------------------------------------------

_NAN = float("nan")

# Plan steps: (op, column, key, lookup, block, dropped): the level codes of the block and how
# often each of its dropped levels was seen. Ops are small ints for a fast dispatch.
_OP_NUMERIC, _OP_CATEGORICAL, _OP_MULTI_HOT, _OP_COUNT, _OP_FIRST = range(5)
_Step = tuple[int, int, str, dict[str, int], FeatureBlock, dict[str, int]]


def _compile(spec: FeatureSpec) -> tuple[list[float], list[_Step]]:
    """The row template (NaN or 0 per column) and the steps that fill a row."""
    template: list[float] = []
    steps: list[_Step] = []
    for block, offset in spec.block_offsets():
        lookup = {level: i for i, level in enumerate(block.levels)}
        dropped = dict(block.dropped)
        if block.encoding == NUMERIC:
            template.append(_NAN)
            steps.append((_OP_NUMERIC, offset, block.source, lookup, block, dropped))
        elif block.encoding == CATEGORICAL:
            template.append(_NAN)
            steps.append((_OP_CATEGORICAL, offset, block.source, lookup, block, dropped))
        elif block.encoding == MULTI_HOT:
            template.extend([0.0] * block.width)
            steps.append((_OP_MULTI_HOT, offset, block.source, lookup, block, dropped))
        elif block.encoding == FIRST:
            template.append(_NAN)
            steps.append((_OP_FIRST, offset, block.source, lookup, block, dropped))
        else:
            template.append(0.0)
            steps.append((_OP_COUNT, offset, block.source, lookup, block, dropped))
    return template, steps


def _not_a_level(
    spec: FeatureSpec,
    block: FeatureBlock,
    dropped: dict[str, int],
    value: Any,
    text: str,
    outcome: str,
) -> tuple[RareValue | None, str]:
    """Why ``value`` (``text`` as a string) is not a level of ``block``: a rare value seen in
    training, or the warning for a value never seen. ``outcome`` ends the sentence."""
    key = block.source
    seen = dropped.get(text)
    if seen is not None:
        m = spec.min_level_count
        if m is not None and seen < m:
            why = f"fewer than the minimum {m}"
        else:
            why = f"but only the {len(block.levels)} most frequent values are kept"
        note = f"{key}: {value!r} seen {seen} times in training, {why}: {outcome}"
        return RareValue(key, text, seen, note), note
    if block.dropped_omitted:
        rarest = f"at most {block.dropped[-1][1]} times" if block.dropped else "too rarely"
        return None, (
            f"{key}: {value!r} never seen in training, or seen {rarest} (the model remembers "
            f"only the {len(block.dropped)} most frequent of the values it dropped): {outcome}"
        )
    return None, f"{key}: {value!r} never seen in training: {outcome}"


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _as_list(value: Any) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return value
    return ()


def encode_instance_row(
    spec: FeatureSpec, instance: Mapping[str, Any]
) -> tuple[list[float], list[str], list[str], list[RareValue]]:
    """One instance as a row of floats, its unknown genres, its warnings and its rare values."""
    template, steps = spec._plan  # type: ignore[attr-defined]
    row = list(template)
    unknown_genres: list[str] = []
    warnings: list[str] = []
    rare: list[RareValue] = []
    counts: dict[str, int] = {}
    for op, col, key, lookup, block, dropped in steps:
        if op == _OP_COUNT:
            row[col] = float(counts.get(key, 0))
            continue
        value = instance.get(key)
        if op == _OP_FIRST:  # problems with the list are reported by its multi-hot block
            for item in _as_list(value):
                code = lookup.get(item) if isinstance(item, str) else None
                if code is not None:
                    row[col] = float(code)
                    break
            continue
        if op == _OP_MULTI_HOT:
            if value is not None and not isinstance(value, (list, tuple, str)):
                warnings.append(f"{key}: expected a list of strings; ignored")
            n = 0
            for item in _as_list(value):
                code = lookup.get(item) if isinstance(item, str) else None
                if code is None:
                    if key == spec.genre_source:
                        unknown_genres.append(str(item))
                        warnings.append(f"{key}: unknown value {item!r} ignored")
                        continue
                    found, note = _not_a_level(spec, block, dropped, item, str(item), "ignored")
                    if found is None:
                        warnings.append(note)
                    else:
                        rare.append(found)
                elif row[col + code] == 0.0:
                    row[col + code] = 1.0
                    n += 1
            counts[key] = n
        elif value is None:
            continue
        elif op == _OP_NUMERIC:
            number = _as_number(value)
            if number is None:
                warnings.append(f"{key}: expected a number, got {value!r}; treated as missing")
            else:
                row[col] = number
        else:
            text = value if isinstance(value, str) else str(value)
            code = lookup.get(text)
            if code is None:
                found, note = _not_a_level(spec, block, dropped, value, text, "treated as missing")
                if found is None:
                    warnings.append(note)
                else:
                    rare.append(found)
            else:
                row[col] = float(code)
    return row, unknown_genres, warnings, rare


def encode_instances(spec: FeatureSpec, instances: Sequence[Mapping[str, Any]]) -> Encoded:
    """Encode JSON instances (dicts of onboarding answers) into the model's feature matrix.

    Keys the spec does not know are ignored; missing keys are missing values. Unknown
    categorical values encode as missing; unknown selected genres are ignored and returned in
    ``unknown_genres`` (and, like every other problem with the request, in ``warnings``).
    Values seen in training too rarely to be levels encode the same way, but are noted in
    ``rare`` instead of ``warnings``: they are a property of the model, not of the request.
    """
    rows: list[list[float]] = []
    unknown: list[list[str]] = []
    warnings: list[list[str]] = []
    rare: list[list[RareValue]] = []
    for instance in instances:
        row, genres, notes, rare_values = encode_instance_row(spec, instance)
        rows.append(row)
        unknown.append(genres)
        warnings.append(notes)
        rare.append(rare_values)
    template = spec._plan[0]  # type: ignore[attr-defined]
    matrix = np.array(rows, dtype=DTYPE) if rows else np.empty((0, len(template)), DTYPE)
    return Encoded(matrix, unknown, warnings, rare)
