"""``--arms``: which variants of the experiment take part; an unknown arm is a one-line error, and
a run of some arms keeps every listener, sending each into one of them by the experiment's own
hash with the arms' configured relative weights."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from bench.ab.arms import ArmsError, api_user_id, parse_arms, restricted, shares
from bench.ab.cli import main
from bench.report import REPO_ROOT
from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import Experiment, load

THREE = Experiment("onboarding", "salt-3", "rules", {"rules": 2, "model": 1, "bandit": 1})


def test_default_arms_are_every_variant_the_control_first() -> None:
    assert parse_arms(None, THREE) == ("rules", "model", "bandit")
    configured = load(DEFAULT_EXPERIMENTS)["onboarding"]
    arms = parse_arms(None, configured)
    assert arms[0] == configured.control
    assert set(arms) == set(configured.variants)


def test_named_arms_keep_their_order_and_the_first_is_the_control() -> None:
    arms = parse_arms("bandit, model", THREE)
    assert arms == ("bandit", "model")
    compared = restricted(THREE, arms)
    assert (compared.control, compared.variants) == ("bandit", {"bandit": 1, "model": 1})
    assert compared.salt == THREE.salt
    assert shares(THREE, ("rules", "model")) == {"rules": 2 / 3, "model": 1 / 3}


@pytest.mark.parametrize("text", ["rules,nosuch", "rules,rules", ",", ""])
def test_arms_the_experiment_does_not_define_are_refused(text: str) -> None:
    with pytest.raises(ArmsError):
        parse_arms(text, THREE)


def test_the_cli_refuses_an_unknown_arm_in_one_line_before_any_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ab", "--arms", "rules,nosuch", "--dir", "/nonexistent"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    defined = ", ".join(load(DEFAULT_EXPERIMENTS)["onboarding"].variants)
    assert done.stderr.splitlines() == [
        f"python -m bench.ab: error: --arms: unknown arm nosuch: the onboarding experiment "
        f"defines {defined}"
    ]
    assert done.stdout == ""


def test_main_returns_2_for_an_arm_named_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--arms", "rules,rules", "--dir", "/nonexistent"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_ids_land_in_the_arms_with_their_relative_weights() -> None:
    arms = ("rules", "bandit")  # weights 2 and 1 of 4
    ids = [api_user_id("ab1-", f"u{i:06d}", THREE, arms) for i in range(3000)]
    assigned = Counter(THREE.assign(user_id) for user_id in ids)
    assert set(assigned) == set(arms)
    assert abs(assigned["rules"] / len(ids) - 2 / 3) < 0.04  # about 5 standard deviations
    assert len(set(ids)) == len(ids)
    assert all(u.startswith(f"ab1-u{i:06d}") for i, u in enumerate(ids))
    kept = [u for i, u in enumerate(ids) if u == f"ab1-u{i:06d}"]  # already in an arm: unchanged
    assert len(kept) == sum(THREE.assign(f"ab1-u{i:06d}") in arms for i in range(3000))


def test_with_every_arm_ids_are_those_of_a_run_without_arms() -> None:
    every = ("model", "bandit", "rules")
    assert [api_user_id("ab1-", f"u{i}", THREE, every) for i in range(50)] == [
        f"ab1-u{i}" for i in range(50)
    ]
