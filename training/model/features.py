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
ENCODINGS = (NUMERIC, CATEGORICAL, MULTI_HOT, COUNT)

#: The matrix dtype, at training and at serve time alike.
DTYPE = np.float32

_DESCRIPTIONS = {
    NUMERIC: "the value as a float; missing or not a number -> NaN (missing)",
    CATEGORICAL: "index of the value in levels; missing or unknown -> NaN (missing)",
    MULTI_HOT: "one 0/1 column per level; unknown values are ignored and reported",
    COUNT: "number of distinct known levels of the multi-hot source",
}


class FeatureSpecError(ValueError):
    """A feature specification document is malformed."""


@dataclass(frozen=True)
class FeatureBlock:
    """One input and its encoding; it fills :attr:`width` consecutive matrix columns."""

    source: str
    encoding: str
    levels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise FeatureSpecError(f"{self.source}: unknown encoding {self.encoding!r}")

    @property
    def width(self) -> int:
        return len(self.levels) if self.encoding == MULTI_HOT else 1

    @property
    def column_names(self) -> list[str]:
        if self.encoding == MULTI_HOT:
            return [f"{self.source}={level}" for level in self.levels]
        if self.encoding == COUNT:
            return [f"n_{self.source}"]
        return [self.source]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "source": self.source,
            "encoding": self.encoding,
            "description": _DESCRIPTIONS[self.encoding],
        }
        if self.encoding in (CATEGORICAL, MULTI_HOT):
            doc["levels"] = list(self.levels)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureBlock:
        try:
            return cls(
                source=str(doc["source"]),
                encoding=str(doc["encoding"]),
                levels=tuple(str(v) for v in doc.get("levels", ())),
            )
        except KeyError as exc:
            raise FeatureSpecError(f"feature block without {exc.args[0]!r}: {doc}") from None


class Encoded(NamedTuple):
    """Encoded instances: the feature matrix and, per instance, what was ignored or unknown."""

    matrix: np.ndarray
    unknown_genres: list[list[str]]
    warnings: list[list[str]]


@dataclass(frozen=True)
class FeatureSpec:
    """The ordered feature blocks of a model, its genre vocabulary and what was left out."""

    blocks: tuple[FeatureBlock, ...]
    genres: tuple[str, ...]
    genre_source: str = "selected_genres"
    ignored: Mapping[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        seen_multi_hot: set[str] = set()
        for block in self.blocks:
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
            if block.encoding == CATEGORICAL:
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


# --- the serve-time encoder -------------------------------------------------------------------

_NAN = float("nan")

# Plan steps: (op, column, key, lookup). Ops are small ints for a fast dispatch.
_OP_NUMERIC, _OP_CATEGORICAL, _OP_MULTI_HOT, _OP_COUNT = range(4)


def _compile(spec: FeatureSpec) -> tuple[list[float], list[tuple[int, int, str, dict[str, int]]]]:
    """The row template (NaN or 0 per column) and the steps that fill a row."""
    template: list[float] = []
    steps: list[tuple[int, int, str, dict[str, int]]] = []
    for block, offset in spec.block_offsets():
        lookup = {level: i for i, level in enumerate(block.levels)}
        if block.encoding == NUMERIC:
            template.append(_NAN)
            steps.append((_OP_NUMERIC, offset, block.source, lookup))
        elif block.encoding == CATEGORICAL:
            template.append(_NAN)
            steps.append((_OP_CATEGORICAL, offset, block.source, lookup))
        elif block.encoding == MULTI_HOT:
            template.extend([0.0] * block.width)
            steps.append((_OP_MULTI_HOT, offset, block.source, lookup))
        else:
            template.append(0.0)
            steps.append((_OP_COUNT, offset, block.source, lookup))
    return template, steps


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
) -> tuple[list[float], list[str], list[str]]:
    """One instance as a row of floats, its unknown genres and its warnings."""
    template, steps = spec._plan  # type: ignore[attr-defined]
    row = list(template)
    unknown_genres: list[str] = []
    warnings: list[str] = []
    counts: dict[str, int] = {}
    for op, col, key, lookup in steps:
        if op == _OP_COUNT:
            row[col] = float(counts.get(key, 0))
            continue
        value = instance.get(key)
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
            code = lookup.get(value if isinstance(value, str) else str(value))
            if code is None:
                warnings.append(f"{key}: unknown value {value!r} treated as missing")
            else:
                row[col] = float(code)
    return row, unknown_genres, warnings


def encode_instances(spec: FeatureSpec, instances: Sequence[Mapping[str, Any]]) -> Encoded:
    """Encode JSON instances (dicts of onboarding answers) into the model's feature matrix.

    Keys the spec does not know are ignored; missing keys are missing values. Unknown
    categorical values encode as missing; unknown selected genres are ignored and returned in
    ``unknown_genres`` (and, like every other oddity, in ``warnings``).
    """
    rows: list[list[float]] = []
    unknown: list[list[str]] = []
    warnings: list[list[str]] = []
    for instance in instances:
        row, genres, notes = encode_instance_row(spec, instance)
        rows.append(row)
        unknown.append(genres)
        warnings.append(notes)
    template = spec._plan[0]  # type: ignore[attr-defined]
    matrix = np.array(rows, dtype=DTYPE) if rows else np.empty((0, len(template)), DTYPE)
    return Encoded(matrix, unknown, warnings)
