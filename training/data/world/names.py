"""Ids and names as Arrow string arrays, built without a Python string per row.

Id vocabularies (``u000042``, ``s00017``) come from Arrow compute kernels over integer arrays;
names are words taken from small vocabularies by numpy indices and joined by Arrow.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# fmt: off
FIRST = (
    "Ada", "Alex", "Ana", "Ben", "Bruno", "Carla", "Chris", "Dani", "Diego", "Eli", "Emma",
    "Felix", "Gabi", "Hana", "Hugo", "Ines", "Ivan", "Jade", "Jon", "Julia", "Kai", "Lara",
    "Leo", "Lina", "Luca", "Luz", "Mara", "Max", "Mia", "Nico", "Nina", "Noah", "Olga", "Omar",
    "Paula", "Rafa", "Rosa", "Sam", "Sara", "Theo", "Tina", "Toni", "Vera", "Yara", "Zoe",
)
LAST = (
    "Alves", "Baker", "Becker", "Brooks", "Costa", "Cruz", "Diaz", "Evans", "Fischer", "Flores",
    "Garcia", "Gomez", "Gray", "Hayes", "Hughes", "Jones", "Keller", "King", "Lima", "Lopez",
    "Meyer", "Moreau", "Morris", "Novak", "Ortiz", "Perez", "Price", "Reed", "Reyes", "Rocha",
    "Ross", "Santos", "Silva", "Stone", "Torres", "Vargas", "Walsh", "Weber", "Wolf", "Young",
)
ADJECTIVES = (
    "Blue", "Broken", "Bright", "Burning", "Cold", "Crimson", "Dark", "Electric", "Empty",
    "Endless", "Falling", "Fading", "Golden", "Hidden", "Hollow", "Wild", "Last", "Little",
    "Lonely", "Lost", "Lucky", "Midnight", "Neon", "Northern", "Quiet", "Red", "Restless",
    "Rolling", "Secret", "Silent", "Silver", "Slow", "Southern", "Summer", "Sweet", "Velvet",
    "Wandering", "Young",
)
NOUNS = (
    "Avenue", "Birds", "Bridges", "Canyon", "City", "Clouds", "Coast", "Dreams", "Echo",
    "Embers", "Fire", "Flowers", "Ghosts", "Harbor", "Heart", "Highway", "Horizon", "Lights",
    "Lines", "Machines", "Moon", "Mountains", "Night", "Ocean", "Rain", "Rivers", "Roads",
    "Roses", "Shadows", "Signals", "Skies", "Sparks", "Stars", "Stones", "Storm", "Streets",
    "Sun", "Tides", "Waves", "Wolves",
)
# fmt: on


def make_ids(prefix: str, start: int, count: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers ``start .. start+count-1`` as an Arrow string array."""
    numbers = pa.array(np.arange(start, start + count, dtype=np.int64))
    digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def id_width(count: int) -> int:
    """Digits needed to number ``count`` things, at least 5."""
    return max(5, len(str(max(count - 1, 0))))


def words(vocabulary: list[str] | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """The words ``vocabulary[index]`` as an Arrow string array."""
    return pc.take(pa.array(vocabulary, type=pa.string()), pa.array(index))


def join(parts: list[pa.Array | str], separator: str = " ") -> pa.Array:
    """Element-wise join of string arrays (or scalars) with ``separator``."""
    result = pc.binary_join_element_wise(*parts, separator)
    assert isinstance(result, pa.Array)
    return result


def person_or_band_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Artist names: half 'First Last', half 'The Adjective Nouns'."""
    person = join(
        [
            words(FIRST, rng.integers(len(FIRST), size=n)),
            words(LAST, rng.integers(len(LAST), size=n)),
        ]
    )
    band = join(
        [
            "The",
            words(ADJECTIVES, rng.integers(len(ADJECTIVES), size=n)),
            words(NOUNS, rng.integers(len(NOUNS), size=n)),
        ]
    )
    is_band = pa.array(rng.random(n) < 0.5)
    result = pc.if_else(is_band, band, person)
    assert isinstance(result, pa.Array)
    return result


def titles(rng: np.random.Generator, n: int) -> pa.Array:
    """Song titles: 'Adjective Noun', some 'Noun of the Noun'."""
    adjective_noun = join(
        [
            words(ADJECTIVES, rng.integers(len(ADJECTIVES), size=n)),
            words(NOUNS, rng.integers(len(NOUNS), size=n)),
        ]
    )
    noun_of_noun = join(
        [
            words(NOUNS, rng.integers(len(NOUNS), size=n)),
            "of the",
            words(NOUNS, rng.integers(len(NOUNS), size=n)),
        ]
    )
    result = pc.if_else(pa.array(rng.random(n) < 0.25), noun_of_noun, adjective_noun)
    assert isinstance(result, pa.Array)
    return result
