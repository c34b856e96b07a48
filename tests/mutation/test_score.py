"""The score printed at the end of ``make mutate``, from ``mutmut results`` lines."""

from __future__ import annotations

from collections import Counter

from tests.mutation.plugin import area_of
from tests.mutation.score import module_of, score, table, tally

RESULTS = """\
    lambdas.logic.rules.x_pick_songs__mutmut_1: killed
    lambdas.logic.rules.x_pick_songs__mutmut_2: survived
    lambdas.logic.rules.x_ranked__mutmut_1: timeout
    lambdas.logic.rules.x_ranked__mutmut_2: killed
    training.model.gate.xǁGateResultǁto_dict__mutmut_1: no tests
    training.model.gate.x_quality_gate__mutmut_3: killed
    not a result line
"""


def test_mutants_are_counted_per_file_timeouts_as_killed():
    per_file = tally(RESULTS.splitlines())
    assert per_file == {
        "lambdas/logic/rules.py": Counter({"killed": 2, "survived": 1, "timeout": 1}),
        "training/model/gate.py": Counter({"no tests": 1, "killed": 1}),
    }
    assert score(per_file["lambdas/logic/rules.py"]) == 75.0
    assert score(per_file["training/model/gate.py"]) == 50.0
    assert score(Counter()) == 0.0


def test_the_table_has_a_row_per_file_and_the_total():
    lines = table(tally(RESULTS.splitlines())).splitlines()
    assert lines[0].split() == [
        "module",
        "mutants",
        "killed",
        "survived",
        "no",
        "tests",
        "other",
        "score",
    ]
    assert lines[1].split() == ["lambdas/logic/rules.py", "4", "3", "1", "0", "0", "75.0%"]
    assert lines[2].split() == ["training/model/gate.py", "2", "1", "0", "1", "0", "50.0%"]
    assert lines[3].split() == ["all", "6", "4", "1", "1", "0", "66.7%"]


def test_mutant_names_give_their_module_and_test_directory():
    assert module_of("container.app.x__read_body__mutmut_7") == "container.app"
    assert module_of("lambdas.store.dynamodb.xǁStoreǁrecord__mutmut_3") == "lambdas.store.dynamodb"
    assert area_of("lambdas.store.dynamodb.xǁStoreǁrecord") == "tests/lambdas/store/"
    assert area_of("container.protocol.x_media_type") == "tests/container/"
    assert area_of("training.model.labels.x_lookup") == "tests/training/model/"
