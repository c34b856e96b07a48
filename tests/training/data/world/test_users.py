"""Users, onboarding answers and their listening histories."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.training.data.world.conftest import DAY_MS, WorldData, codes


def test_selection_counts_range_one_to_eight_about_four_on_average(world: WorldData) -> None:
    counts = world.selected.sum(axis=1)
    assert set(np.unique(counts)) == set(range(1, 9))
    assert 3.5 <= counts.mean() <= 4.5
    lengths = pc.list_value_length(world.users["selected_genres"]).to_numpy()
    assert (lengths == counts).all()  # no genre picked twice


def test_age_and_gender_are_sometimes_blank(world: WorldData) -> None:
    blank_age = np.isnan(world.age).mean()
    assert 0.03 < blank_age < 0.2
    ages = world.age[~np.isnan(world.age)]
    assert ages.min() >= 13
    assert ages.max() <= 90
    assert 25 < np.median(ages) < 40
    gender = world.gender
    blank = world.users["gender"].null_count / world.n_users
    assert 0 < blank < 0.1
    assert set(pc.drop_null(world.users["gender"]).to_pylist()) == {"f", "m", "x"}
    assert 0.01 < (gender == 2).mean() < 0.1


def test_signups_spread_over_about_a_year(world: WorldData) -> None:
    days = (world.signup_ms.max() - world.signup_ms.min()) / DAY_MS
    assert 330 < days <= 366
    assert (np.diff(world.signup_ms) >= 0).all()  # user ids grow with signup time


def test_no_interaction_before_signup_and_about_two_months_after(world: WorldData) -> None:
    assert world.row_day.min() >= 0
    assert world.row_day.max() < 62
    follows_user = codes(world.follows["user_id"], world.users["user_id"].combine_chunks())
    follows_ts = world.follows["ts"].cast(pa.int64()).to_numpy()
    assert (follows_ts >= world.signup_ms[follows_user]).all()


def test_plays_per_user_are_heavy_tailed_with_a_sensible_mean(world: WorldData) -> None:
    plays = world.plays.sum(axis=1)
    assert 30 <= plays.mean() <= 80
    assert np.percentile(plays, 99) > 5 * np.median(plays)
    assert (plays == 0).mean() < 0.05


def test_some_users_go_quiet(world: WorldData) -> None:
    last_day = np.full(world.n_users, -1.0)
    np.maximum.at(last_day, world.row_user, world.row_day)
    active_early = world.genre_counts(world.row_day < 10).sum(axis=1) >= 5
    quiet = active_early & (last_day < 30)
    assert 0.1 < quiet.sum() / active_early.sum() < 0.5
    # The truth says who went quiet, and they did.
    truth = world.path / "truth" / "users.parquet"
    quiet_after = pq.read_table(truth, columns=["quiet_after_days"])["quiet_after_days"]
    flagged = quiet_after.is_valid().to_numpy(zero_copy_only=False)
    after = np.nan_to_num(quiet_after.to_numpy(zero_copy_only=False).astype(float), nan=99.0)
    assert 0.2 < flagged.mean() < 0.4
    assert (last_day[flagged] <= after[flagged] + 1.0).all()


def test_rows_are_ordered_by_user_then_time(world: WorldData) -> None:
    assert (np.diff(world.row_user) >= 0).all()
    same_user = np.diff(world.row_user) == 0
    assert (np.diff(world.row_ts)[same_user] >= 0).all()


def test_skips_likes_and_follows(world: WorldData) -> None:
    share = np.bincount(world.row_event, minlength=3) / len(world.row_event)
    assert 0.6 < share[0] < 0.9  # play
    assert 0.1 < share[1] < 0.3  # skip
    assert 0.01 < share[2] < 0.1  # like
    # A like comes right after a play of the same song by the same user.
    like = np.flatnonzero(world.row_event == 2)
    assert (world.row_event[like - 1] == 0).all()
    assert (world.row_item[like - 1] == world.row_item[like]).all()
    assert (world.row_user[like - 1] == world.row_user[like]).all()
    # Follows are unique per user and artist, and a tenth to a half of users follow someone.
    pairs = world.follows.select(["user_id", "artist_id"]).group_by(["user_id", "artist_id"])
    assert pairs.aggregate([]).num_rows == world.follows.num_rows
    followers = pc.count_distinct(world.follows["user_id"]).as_py()
    assert 0.1 < followers / world.n_users < 0.9


def test_sessions_stick_to_a_genre_and_often_an_artist(world: WorldData) -> None:
    songs = world.row_event != 2
    user, genre = world.row_user[songs], world.row_genre[songs]
    ts = world.row_ts[songs]
    item = world.row_item[songs]
    next_same_user = (user[1:] == user[:-1]) & (ts[1:] - ts[:-1] < 10 * 60_000)
    same_genre = genre[1:] == genre[:-1]
    assert same_genre[next_same_user].mean() > 0.95
    artist_of = codes(world.items["artist_id"], world.artists["artist_id"].combine_chunks())
    same_artist = artist_of[item[1:]] == artist_of[item[:-1]]
    assert 0.3 < same_artist[next_same_user].mean() < 0.8
