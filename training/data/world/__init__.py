"""The synthetic music world: users, catalogue, stations and plays with planted structure.

``python -m training.data.world --users N --seed S --out DIR`` writes a dataset per the data
contract (:mod:`training.data.contract`) and the hidden truth under ``DIR/truth/``;
:class:`WorldTruth` loads the truth and gives click probabilities for simulated feedback. See
docs/world.md.
"""

from training.data.world.config import WorldConfig
from training.data.world.generate import generate_world
from training.data.world.truth import ClickModel, WorldTruth

__all__ = ["ClickModel", "WorldConfig", "WorldTruth", "generate_world"]
