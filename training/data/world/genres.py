"""The genre axis of the world: the contract's radio genres and per-genre coefficient vectors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from training.data.contract import RADIO_GENRES

GENRES: tuple[str, ...] = RADIO_GENRES
N_GENRES = len(GENRES)
GENRE_INDEX: dict[str, int] = {g: i for i, g in enumerate(GENRES)}


def genre_vector(values: Mapping[str, float], default: float = 0.0) -> np.ndarray:
    """A float vector over :data:`GENRES` from ``{genre name: value}`` (others: ``default``)."""
    unknown = set(values) - set(GENRE_INDEX)
    if unknown:
        raise KeyError(f"unknown genres: {sorted(unknown)}")
    out = np.full(N_GENRES, default, dtype=np.float64)
    for name, value in values.items():
        out[GENRE_INDEX[name]] = value
    return out


def g(name: str) -> int:
    """The index of genre ``name``."""
    return GENRE_INDEX[name]
