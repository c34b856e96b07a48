"""The synthetic music world: users, catalogue, stations and plays with planted structure.

``python -m training.world --users N --seed S --out DIR`` writes a dataset per the data contract
(:mod:`training.contract`) and the hidden truth under ``DIR/truth/``; :class:`WorldTruth` loads
the truth and gives click probabilities for simulated feedback. See docs/world.md.
"""

from training.world.config import WorldConfig
from training.world.generate import generate_world
from training.world.truth import ClickModel, WorldTruth

__all__ = ["ClickModel", "WorldConfig", "WorldTruth", "generate_world"]
