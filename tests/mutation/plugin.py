"""The pytest plugin of `make mutate` (mutmut loads it with ``-p tests.mutation.plugin``).

1. Each mutated module is tested by the tests of its own area only, the ``tests/`` directory that
   mirrors its package (``lambdas.store.keys`` -> ``tests/lambdas/store/``): when mutmut records
   which tests call which function, a call from another area's test is dropped, so mutmut never
   runs that test for the function's mutants.
2. Tests that need the session's generated world (``small_world``, ``world_dir``: the batch
   versions, the model trained on it and the inference server running it are built on top) or
   real data are deselected, and so are the tests of the training entry points (the command line
   and SageMaker's ``train``), which train several models each. mutmut starts one pytest session
   per mutant, and each such session would rebuild them (2 s to 2 min); ``make test`` runs them.
3. A mutant's tests run fastest first (by their time in mutmut's first, recording run): the run
   stops at the first failure (``-x``). mutmut sorts them so itself only when it forks its
   workers from its main process, which ``process_isolation = "forkserver"`` (pyproject.toml)
   replaces.
4. Hypothesis draws the same examples every run (derandomized) and does not shrink a failure:
   a mutant needs one failing example, not the smallest (shrinking took 30 s per mutant).
5. A mutant's session freezes the objects it inherits from mutmut's fork server (numpy, pandas,
   LightGBM, moto... already imported): pytest collects garbage five times at the end of a
   session, and scanning them took 1.3 s per mutant, ten times the test itself.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Generator

import pytest

#: Session fixtures too expensive to rebuild for every mutant (and everything built on them).
HEAVY_FIXTURES = frozenset({"small_world", "world_dir", "trained_model_dir", "ml100k_dir"})
#: Test files that run a whole training entry point, end to end.
END_TO_END = ("tests/training/model/test_train_cli.py", "tests/training/model/test_sagemaker.py")


def area_of(function_key: str) -> str:
    """The test directory of a mutated function (``package.module.x_name`` as mutmut names it)."""
    module = function_key.rsplit(".", 1)[0]
    package = module.rsplit(".", 1)[0]
    return "tests/" + package.replace(".", "/") + "/"


def pytest_configure(config: pytest.Config) -> None:
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        gc.freeze()
    from hypothesis import Phase, settings

    phases = (Phase.explicit, Phase.reuse, Phase.generate)
    settings.register_profile("mutmut", phases=phases, derandomize=True, database=None)
    settings.load_profile("mutmut")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    heavy = [
        item
        for item in items
        if HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        or item.nodeid.startswith(END_TO_END)
    ]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [item for item in items if item not in heavy]
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        from mutmut.state import state

        seconds = state().duration_by_test
        items.sort(key=lambda item: seconds.get(item.nodeid, 0.0))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """After mutmut's own hook has recorded what ``item`` called: forget calls out of its area."""
    try:
        return (yield)
    finally:
        if os.environ.get("MUTANT_UNDER_TEST") == "stats":
            from mutmut.state import state

            for function, tests in state().tests_by_mangled_function_name.items():
                if not item.nodeid.startswith(area_of(function)):
                    tests.discard(item.nodeid)
