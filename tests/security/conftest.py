"""The security regression tests run the handlers against moto tables holding batch version v1
of the lambdas tests (the small world's), with a fake model that records what it is asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lambdas.api.loaded import FakeModel, Loaded, loaded
from tests.lambdas.conftest import batch_root  # noqa: F401 (a fixture, used by name)


@pytest.fixture(scope="module")
def handlers(batch_root: Path) -> Iterator[Loaded]:  # noqa: F811 (the fixture imported above)
    """Batch version v1 loaded and active (``stack`` is the whole local stack)."""
    with loaded(batch_root / "v1", FakeModel(["Jazz", "Rock"])) as found:
        yield found
