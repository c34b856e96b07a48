"""The ``implicit`` package's models for the ALS and BPR baselines, run with one BLAS thread as
it asks (its own threads use the cores): :func:`training.batch.als.one_blas_thread`."""

from __future__ import annotations

import importlib
from types import ModuleType

from training.batch.als import one_blas_thread

__all__ = ["module", "one_blas_thread"]


def module(name: str) -> ModuleType:
    """``implicit.<name>`` (``als`` or ``bpr``)."""
    return importlib.import_module(f"implicit.{name}")
