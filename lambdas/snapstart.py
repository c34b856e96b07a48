"""Lambda SnapStart runtime hooks (prod's API functions run from a snapshot of their initialized
execution environment, restored for each new environment).

The hooks come from ``snapshot_restore_py``, which the Lambda Python runtimes include (it is not
in lambdas/requirements.txt); elsewhere (tests, the local gateway, the loader's runs) there is no
snapshot and registering does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def after_restore(hook: Callable[[], Any]) -> bool:
    """Run ``hook`` whenever Lambda resumes an environment from the snapshot; whether a runtime
    to run it exists (False outside Lambda)."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(hook)
    return True
