"""Named random streams: every part of the world draws from its own seed sequence.

A stream is ``SeedSequence(seed, spawn_key=key)``, the same child that
``SeedSequence(seed).spawn`` would hand out, addressed by a tuple instead of a position. Users are
generated in fixed-size blocks, each with its own stream, so the output depends on the seed only,
never on how (or in what order, or in how many processes) the blocks are computed.
"""

from __future__ import annotations

import numpy as np

REGIONS = 1
CATALOGUE = 2
STATIONS = 3
USERS = 4
LISTENING = 5


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random generator of the stream ``key`` of world ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


NAMES = 6
