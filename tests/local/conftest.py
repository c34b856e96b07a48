"""Local AWS for the tests of the local stack's access model: the project's moto server
(``python -m local.moto_server``, as ``make local`` starts it) on a free port, once per session,
with the listeners' user pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local import aws, cognito
from local.ports import free_port


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of a moto server of this session's own."""
    port = free_port()
    child, kind = aws.start(tmp_path_factory.mktemp("aws") / "aws.log", port)
    assert child is not None, f"port {port} was taken by a {kind}"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        child.stop()


@pytest.fixture(scope="session")
def user_pool(local_aws: str) -> cognito.UserPool:
    """The listeners' user pool on :func:`local_aws`, as ``make local`` creates it."""
    return cognito.ensure_pool(local_aws)
