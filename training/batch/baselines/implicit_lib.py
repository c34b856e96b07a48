"""The optional ``implicit`` package (extra ``baselines``), imported only when ALS or BPR runs,
with one BLAS thread as it asks (its own threads use the cores)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from threadpoolctl import threadpool_limits


class MissingImplicitError(ImportError):
    """ALS and BPR need ``pip install -e '.[baselines]'``."""


def module(name: str) -> ModuleType:
    """``implicit.<name>`` (``als`` or ``bpr``), or a clear error when the extra is missing."""
    try:
        return importlib.import_module(f"implicit.{name}")
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise MissingImplicitError(
            "ALS and BPR use the `implicit` package: pip install -e '.[baselines]'"
        ) from error


@contextmanager
def one_blas_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="blas"):
        yield
