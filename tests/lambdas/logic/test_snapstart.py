"""SnapStart: after a restore, the API functions forget the services (boto3 clients and their
connections) the snapshot may hold; outside Lambda there is no runtime hook to register."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

from lambdas.logic.services import reset_after_restore, services
from lambdas.snapstart import after_restore
from tests.conftest import REPO_ROOT


def test_reset_after_restore_clears_the_cached_services(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    services.cache_clear()
    try:
        first = services()
        assert services() is first
        reset_after_restore()
        assert services.cache_info().currsize == 0
        assert services() is not first
    finally:
        services.cache_clear()


def test_after_restore_registers_with_the_runtime_only_where_there_is_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails: not Lambda
    assert after_restore(reset_after_restore) is False
    hooks: list = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = hooks.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert after_restore(reset_after_restore) is True
    assert hooks == [reset_after_restore]


def test_importing_the_services_registers_the_hook_with_the_runtime():
    """In a fresh interpreter with a stand-in for the runtime's ``snapshot_restore_py``: the
    handlers' services module registers its hook on import, and running the registered hooks
    (as Lambda does after a restore) makes the next request build new services."""
    code = textwrap.dedent(
        """
        import sys, types
        hooks = []
        fake = types.ModuleType("snapshot_restore_py")
        fake.register_after_restore = lambda f, *a, **k: hooks.append(f)
        sys.modules["snapshot_restore_py"] = fake
        import lambdas.handlers.onboarding
        from lambdas.logic import services as module
        assert hooks == [module.reset_after_restore], hooks
        first = module.services()
        for hook in hooks:
            hook()
        assert module.services() is not first
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
