"""The building blocks: grouped sampling, session timing, ids, signups, options."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.data.world.config import WorldConfig
from training.data.world.listening import _without_overlaps
from training.data.world.names import id_width, make_ids
from training.data.world.population import signup_fraction
from training.data.world.rng import stream
from training.data.world.sampling import GroupedSampler
from training.data.world.taste import selected_lists


def test_grouped_sampler_draws_in_proportion_within_the_group() -> None:
    group = np.array([0, 1, 0, 1, 0, 2])
    weight = np.array([1.0, 5.0, 3.0, 0.0, 0.0, 2.0])
    sampler = GroupedSampler.build(group, weight, n_groups=3)
    assert sampler.totals.tolist() == [4.0, 5.0, 2.0]
    rng = np.random.default_rng(0)
    drawn = sampler.draw(np.zeros(40_000, dtype=np.int64), rng.random(40_000))
    counts = np.bincount(drawn, minlength=6)
    assert counts[[1, 3, 4, 5]].sum() == 0  # other groups' members and zero weights never
    assert counts[2] / counts[0] == pytest.approx(3.0, rel=0.08)
    assert (sampler.draw(np.ones(1000, dtype=np.int64), rng.random(1000)) == 1).all()


def _reference_without_overlaps(
    user: np.ndarray, start: np.ndarray, length: np.ndarray
) -> np.ndarray:
    out = start.copy()
    for k in range(1, len(user)):
        if user[k] == user[k - 1]:
            out[k] = max(start[k], out[k - 1] + length[k - 1])
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(1, 3_000)),
        max_size=40,
    )
)
def test_sessions_never_overlap(rows: list[tuple[int, int, int]]) -> None:
    rows = sorted(rows)
    user = np.array([r[0] for r in rows], dtype=np.int64)
    start = np.array([r[1] for r in rows], dtype=np.int64)
    length = np.array([r[2] for r in rows], dtype=np.int64)
    got = _without_overlaps(user, start, length)
    assert got.tolist() == _reference_without_overlaps(user, start, length).tolist()


def test_ids_are_zero_padded_strings() -> None:
    assert make_ids("u", 8, 3, 5).to_pylist() == ["u00008", "u00009", "u00010"]
    assert id_width(100_000) == 5
    assert id_width(100_001) == 6
    assert id_width(1) == 5


def test_signups_grow_over_the_period() -> None:
    q = np.linspace(0, 1, 101)
    fraction = signup_fraction(q)
    assert fraction[0] == 0
    assert fraction[-1] == pytest.approx(1.0)
    assert (np.diff(fraction) > 0).all()
    assert fraction[50] > 0.5  # more signups late than early: the median comes after mid-year


def test_selected_lists_flatten_in_genre_order() -> None:
    selected = np.array([[True, False, True], [False, True, False]])
    flat, offsets = selected_lists(selected)
    assert flat.tolist() == [0, 2, 1]
    assert offsets.tolist() == [0, 2, 3]


def test_streams_are_independent_and_reproducible() -> None:
    a = stream(1, 4, 0).random(3)
    assert (a == stream(1, 4, 0).random(3)).all()
    assert not (a == stream(1, 4, 1).random(3)).any()
    assert not (a == stream(2, 4, 0).random(3)).any()


@pytest.mark.parametrize(
    "options",
    [
        {"users": 0},
        {"users": 10, "songs": 10},
        {"users": 10, "artists": 3},
        {"users": 10, "days": 0},
        {"users": 10, "quiet_share": 1.5},
        {"users": 10, "block_users": 0},
    ],
)
def test_config_rejects_nonsense(options: dict[str, int | float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        WorldConfig(**options)  # type: ignore[arg-type]
