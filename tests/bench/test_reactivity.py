"""The reactivity evaluation (bench/reactivity.py): its pieces on small hand-made inputs, and one
end-to-end run on the session's small world."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from bench import reactivity as r
from training.data.dataset_io import read_table, write_table

DAY = r.DAY_MS


def act(ts: int, kind: str, item: str | None = None, artist: str = "a1") -> r.Act:
    return r.Act(ts, kind, item, artist)


# recent events, targets, metrics, stability ---------------------------------------------------


def test_recent_events_are_the_latest_fifty_within_thirty_days_newest_first():
    acts = [act(i, "play", f"s{i}") for i in range(60)]
    events = r.recent_events(acts, 59)
    assert len(events) == r.RECENT_LIMIT
    assert events[0] == {"type": "play", "item_id": "s59"}
    assert events[-1] == {"type": "play", "item_id": "s10"}
    old = [act(0, "play", "old"), act(31 * DAY, "skip", "new"), act(31 * DAY + 1, "follow",
                                                                    artist="a9")]  # fmt: skip
    assert r.recent_events(old, 2) == [
        {"type": "follow", "artist_id": "a9"},
        {"type": "skip", "item_id": "new"},
    ]


def test_next_new_counts_plays_and_likes_never_heard_before_once_each():
    acts = [
        act(0, "play", "s1", "a1"),
        act(1, "play", "s2", "a1"),  # upto: s1, s2 and a1 are known
        act(2, "skip", "s3", "a2"),  # a skip is not a play
        act(3, "play", "s1", "a1"),  # known
        act(4, "like", "s4", "a3"),
        act(5, "play", "s4", "a3"),  # once
        act(6, "play", "s5", "a2"),
        act(7, "play", "s6", "a4"),
    ]
    assert r.next_new(acts, 1, "item") == ["s4", "s5", "s6"]
    assert r.next_new(acts, 1, "item", k=2) == ["s4", "s5"]
    assert r.next_new(acts, 1, "artist", exclude={"a2"}) == ["a3", "a4"]
    assert r.next_new(acts, 7, "item") == []


def test_recall_and_ndcg_by_hand():
    recall, ndcg = r.recall_ndcg(["x", "a", "y", "b"], ["a", "b", "c"])
    assert recall == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg == pytest.approx(dcg / ideal)
    assert r.recall_ndcg(["a"], ["a"]) == (1.0, 1.0)
    assert r.recall_ndcg(["b", "a"], ["a"])[0] == 1.0


def test_replaced_leaves_out_the_song_acted_on():
    assert r.replaced(["a", "b", "c", "d"], ["b", "c", "d", "e"], acted="a") == 0.0
    assert r.replaced(["a", "b", "c", "d"], ["a", "b", "x", "y"]) == 0.5
    assert r.replaced(["a"], ["b"], acted="a") == 0.0
    assert r.replaced([], ["b"]) == 0.0


def test_slices_are_stable_and_about_half():
    users = [f"u{i}" for i in range(2000)]
    first = [r.slice_of(u) for u in users]
    assert first == [r.slice_of(u) for u in users]
    assert 0.45 < first.count("validation") / len(users) < 0.55


# the lists after each event --------------------------------------------------------------------


def version() -> r.Version:
    """Ten songs s0..s9 by artists a0..a4 (two songs each); u's batch list s0..s5; every song
    similar to the next two songs; artist lists likewise."""
    catalog = {
        f"s{i}": {"id": f"s{i}", "title": f"song {i}", "artist_id": f"a{i // 2}",
                  "album_id": None, "genre": "Rock" if i < 6 else "Jazz", "available": True}
        for i in range(10)
    }  # fmt: skip
    similar = {f"s{i}": [(f"s{(i + 1) % 10}", 0.9), (f"s{(i + 2) % 10}", 0.5)] for i in range(10)}
    return r.Version(
        personal={"u": [(f"s{i}", 1.0 - i / 10) for i in range(6)]},
        artists={"u": [(f"a{i}", 1.0 - i / 10) for i in range(5)]},
        similar_items=similar,
        similar_artists={f"a{i}": [(f"a{(i + 1) % 5}", 0.8)] for i in range(5)},
        catalog=catalog,
    )


def step(events: list[dict]) -> r.Step:
    return r.Step("u", events, version())


def test_the_batch_list_leaves_out_only_what_was_just_heard():
    assert r.batch_songs(step([])) == ["s0", "s1", "s2", "s3", "s4", "s5"]
    heard = step([{"type": "skip", "item_id": "s1"}, {"type": "play", "item_id": "s3"}])
    assert r.batch_songs(heard) == ["s0", "s2", "s4", "s5"]


def test_todays_blend_is_the_served_blend_of_the_batch_list_and_the_latest_plays():
    after = r.today_songs(step([{"type": "play", "item_id": "s7"}]))
    # s8 (0.4 x 0.9) and s9 (0.4 x 0.5) join; the batch list keeps 0.6 x its scaled scores
    assert after[:3] == ["s0", "s1", "s2"]
    assert "s8" in after
    assert "s7" not in after


def test_a_reaction_without_a_session_weight_is_the_batch_list():
    quiet = r.songs_with(r.Reaction(1.0, 0.0, (1.0,), only_base=True))
    events = [{"type": "play", "item_id": "s7"}]
    assert quiet(step(events)) == r.batch_songs(step(events))


def test_the_artists_list_follows_plays_and_follows_and_leaves_out_the_followed():
    react = r.artists_with(r.Reaction(1.0, 5.0, (1.0, 1.0)))
    assert r.batch_artists(step([])) == ["a0", "a1", "a2", "a3", "a4"]
    played = react(step([{"type": "play", "item_id": "s6"}]))  # a3 -> similar a4 rises
    assert played[0] == "a4"
    followed = react(step([{"type": "follow", "artist_id": "a1"}]))  # a1 -> a2 rises, a1 gone
    assert followed[0] == "a2"
    assert "a1" not in followed


def test_skips_demote_the_artist_when_asked():
    demote = r.artists_with(r.Reaction(1.0, 0.0, (1.0,), skip_demotion=1.0))
    shown = demote(step([{"type": "skip", "item_id": "s0"}]))  # s0 is a0's
    assert shown[-1] == "a0"


def test_similar_songs_are_re_ranked_by_the_other_latest_plays():
    base = r.today_similar("s0", step([]))
    assert base == ["s1", "s2"]
    session = r.similar_with(r.Reaction(1.0, 5.0, (1.0,), only_base=True))
    v = version()
    v.similar_items["s5"] = [("s2", 0.9), ("s7", 0.8)]
    events = [{"type": "play", "item_id": "s0"}, {"type": "play", "item_id": "s5"}]
    # the play before s0 was s5, similar to s2: s2 overtakes s1; s7 is not similar to s0
    assert session("s0", r.Step("u", events, v)) == ["s2", "s1"]


def test_replay_rows_measure_every_event_against_the_next_new_plays():
    acts = [
        act(0, "play", "s9", "a4"),  # before the cut
        act(10, "play", "s0", "a0"),  # replayed
        act(11, "skip", "s1", "a0"),  # replayed
        act(12, "play", "s2", "a1"),  # target only
        act(13, "play", "s6", "a3"),
    ]
    tl = r.Timeline("u", acts, start=1, replayed=2, unit="u@10")
    methods = r.Methods(songs={"batch": r.batch_songs}, artists={"batch": r.batch_artists},
                        similar={"today": r.today_similar})  # fmt: skip
    rows = r.Rows()
    r.replay(tl, version(), methods, rows)
    frame = rows.frame()
    songs = frame[frame.family == "songs"]
    assert list(songs.kind) == ["play", "skip"]
    # after the play of s0 the batch list is s1..s5: next new plays s2, s6 -> recall 1/2
    assert songs.recall.iloc[0] == pytest.approx(0.5)
    assert songs.changed.tolist() == [0.0, 0.0]  # only the song acted on left the list
    assert songs.next_hit.iloc[0] == 1.0  # s2 is the next new song
    similar = frame[frame.family == "similar"]
    assert len(similar) == 1
    assert similar.recall.iloc[0] == pytest.approx(0.5)


# choosing and summarising ----------------------------------------------------------------------


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    columns = ["unit", "family", "method", "kind", "recall", "ndcg", "changed", "known", "next_hit"]
    return pd.DataFrame(rows, columns=columns)


def test_choose_takes_the_best_mean_lift_within_stability_and_floor():
    def table(values: dict[str, tuple[float, float]]) -> pd.DataFrame:
        index = pd.MultiIndex.from_tuples([("songs", m) for m in values])
        return pd.DataFrame([{"ndcg": n, "p90": p} for n, p in values.values()], index=index)

    world = table({"batch": (0.10, 0.0), "loud": (0.20, 0.8), "good": (0.11, 0.2),
                   "risky": (0.09, 0.1), "fine": (0.105, 0.1)})  # fmt: skip
    movies = table({"batch": (0.10, 0.0), "loud": (0.30, 0.9), "good": (0.12, 0.2),
                    "risky": (0.20, 0.1), "fine": (0.105, 0.1)})  # fmt: skip
    summaries = {"w": world, "m": movies}
    candidates = ["loud", "good", "risky", "fine"]
    # loud is unstable, risky loses 10 % on w (below the 0.95 floor): good wins
    assert r.choose(summaries, "songs", "batch", candidates) == "good"
    assert r.choose(summaries, "songs", "batch", candidates, target=1.0) == "loud"
    assert r.choose(summaries, "songs", "batch", ["loud", "risky"]) == "batch"


def test_summary_and_bootstrap_average_over_listeners_first():
    rows = [
        ("u1", "songs", "batch", "play", 1.0, 1.0, 0.0, 0.0, 1.0),
        ("u1", "songs", "batch", "play", 0.0, 0.0, 0.0, 0.0, 0.0),
        ("u2", "songs", "batch", "play", 1.0, 1.0, 0.0, 0.0, 1.0),
        ("u1", "songs", "today", "play", 1.0, 1.0, 0.5, 0.0, 1.0),
        ("u1", "songs", "today", "play", 1.0, 1.0, 1.0, 0.0, 1.0),
        ("u2", "songs", "today", "skip", 1.0, 1.0, 0.0, 0.0, 1.0),
    ]
    frame = frame_of(rows)
    table = r.summary(frame)
    assert table.loc[("songs", "batch"), "recall"] == pytest.approx(0.75)  # (0.5 + 1) / 2
    assert table.loc[("songs", "today"), "median"] == pytest.approx(0.75)  # plays only
    boot = r.bootstrap(frame, "songs", n=200)
    assert boot["units"] == 2
    mean, low, high = boot["batch"]["recall"]
    assert mean == pytest.approx(0.75)
    assert 0.5 <= low <= mean <= high <= 1.0
    assert boot["batch"]["recall_lift"][0] == 0.0
    assert boot["today"]["recall_lift"][0] == pytest.approx(1 / 0.75 - 1)
    stability = r.stability(frame)
    assert stability["songs"]["today"]["play"]["events"] == 2


# inputs ----------------------------------------------------------------------------------------


def tiny_dataset(root: Path) -> None:
    write_table(root, "users", pa.table({
        "user_id": ["u1", "u2"], "signup_ts": pa.array([0, 0], pa.timestamp("ms", "UTC")),
        "age": pa.array([30, 40], pa.int32()), "gender": ["f", "m"], "region": ["r", "r"],
        "selected_genres": [["Rock"], ["Jazz"]],
    }))  # fmt: skip
    write_table(root, "items", pa.table({
        "item_id": ["s1", "s2", "s3"], "title": ["a", "b", "c"], "artist_id": ["a1", "a1", "a2"],
        "album_id": [None, None, None], "genre": ["Rock", "Rock", "Jazz"],
        "available": [True, True, True],
    }))  # fmt: skip
    write_table(
        root,
        "artists",
        pa.table(
            {
                "artist_id": ["a1", "a2"],
                "name": ["A", "B"],
                "genre": ["Rock", "Jazz"],
                "region": ["r", "r"],
            }
        ),
    )
    write_table(
        root,
        "stations",
        pa.table(
            {
                "station_id": ["st"],
                "name": ["S"],
                "genre": ["Rock"],
                "region": pa.array([None], pa.string()),
            }
        ),
    )
    ts = pa.array([1 * DAY, 2 * DAY, 5 * DAY, 5 * DAY + 1, 9 * DAY, 2 * DAY, 5 * DAY],
                  pa.timestamp("ms", "UTC"))  # fmt: skip
    write_table(root, "interactions", pa.table({
        "user_id": ["u1", "u1", "u1", "u1", "u1", "u2", "u2"],
        "item_id": ["s1", "s2", "s3", "s1", "s2", "s1", "s3"],
        "ts": ts, "event": ["play", "like", "play", "skip", "play", "play", "skip"],
    }))  # fmt: skip
    write_table(
        root,
        "follows",
        pa.table(
            {
                "user_id": ["u1"],
                "artist_id": ["a2"],
                "ts": pa.array([5 * DAY], pa.timestamp("ms", "UTC")),
            }
        ),
    )


def test_cut_dataset_and_timelines(tmp_path: Path):
    tiny_dataset(tmp_path / "d")
    r.cut_dataset(tmp_path / "d", tmp_path / "cut", 4 * DAY)
    assert read_table(tmp_path / "cut", "interactions").num_rows == 3
    assert read_table(tmp_path / "cut", "follows").num_rows == 0
    assert read_table(tmp_path / "cut", "items").num_rows == 3
    found = r.timelines(tmp_path / "d", 4 * DAY, 2 * DAY)
    # u2 only skips in the window: not replayed
    assert [tl.user for tl in found] == ["u1"]
    tl = found[0]
    assert (tl.start, tl.replayed) == (2, 3)
    assert [a.kind for a in tl.acts] == ["play", "like", "play", "follow", "skip", "play"]
    assert tl.acts[3] == r.Act(5 * DAY, "follow", None, "a2")


@pytest.mark.slow
def test_the_whole_evaluation_on_the_small_world(small_world: Path, tmp_path: Path):
    dataset = r.Dataset("world", small_world, (60.0,), 3.0)
    document = r.evaluate([dataset], tmp_path, max_units=8, log=lambda _: None)
    result = document["datasets"]["world"]
    assert set(result["bootstrap"]) == {"songs", "artists", "similar"}
    assert {"batch", "today"} <= set(result["bootstrap"]["songs"])
    assert result["stability"]["songs"]["batch"]["play"]["p90"] == 0.0
    assert "| songs for you | batch list alone |" in r.markdown(document)
    path = r.plot(document, tmp_path / "r.png")
    assert path.stat().st_size > 10_000
