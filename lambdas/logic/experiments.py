"""Experiments: configuration and deterministic assignment (the report:
:mod:`lambdas.ops.experiments`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ExperimentConfigError(ValueError):
    """An experiments file that cannot be used."""


@dataclass(frozen=True)
class Experiment:
    """Variants with integer weights; ``salt`` makes assignments independent across experiments."""

    name: str
    salt: str
    control: str
    variants: dict[str, int]

    def assign(self, unit_id: str) -> str:
        """The variant of a user (or install) id: stable for the id, proportional to weights."""
        digest = hashlib.sha256(f"{self.salt}:{unit_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(self.variants.values())
        for variant, weight in self.variants.items():
            if point < weight:
                return variant
            point -= weight
        raise AssertionError("unreachable: the weights sum to the modulus")


def parse(document: Mapping[str, Any]) -> dict[str, Experiment]:
    """Experiments from their JSON form, checked."""
    experiments = {}
    for name, spec in document.items():
        variants = spec.get("variants") if isinstance(spec, Mapping) else None
        if not isinstance(variants, Mapping) or not variants:
            raise ExperimentConfigError(f"{name}: 'variants' must map names to weights")
        if any(not isinstance(w, int) or w <= 0 for w in variants.values()):
            raise ExperimentConfigError(f"{name}: every weight must be a positive integer")
        control = spec.get("control", next(iter(variants)))
        if control not in variants:
            raise ExperimentConfigError(f"{name}: control {control!r} is not a variant")
        experiments[name] = Experiment(name, str(spec.get("salt", name)), control, dict(variants))
    return experiments


def load(path: str | Path) -> dict[str, Experiment]:
    return parse(json.loads(Path(path).read_text()))
