"""The MovieLens importer: the real 100K end to end, 1M on a tiny fixture, and bad sources."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data.dataset_io import read_table
from training.data.datasets.movielens import import_movielens, main
from training.data.datasets.movielens_formats import MovieLensFormatError, read_movielens
from training.data.datasets.movielens_protocol import (
    Protocol,
    retime_days,
    select_genres,
    zip_region,
)
from training.data.validate import validate

REPO_ROOT = Path(__file__).resolve().parents[4]
K = Protocol().selection_ratings


def run_cli(src: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "training.data.datasets.movielens", "--src", src, "--out", out]
    return subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )


def table(root: Path, name: str) -> pd.DataFrame:
    return read_table(root, name).to_pandas()


def plays_with_days(root: Path) -> pd.DataFrame:
    """Plays with the user's signup and the day after signup they fall on."""
    users = table(root, "users")[["user_id", "signup_ts"]]
    plays = table(root, "interactions").query("event == 'play'").merge(users, on="user_id")
    plays["day"] = (plays["ts"] - plays["signup_ts"]).dt.total_seconds() / 86_400
    return plays


# --- the real MovieLens 100K ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ml100k(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The real 100K imported once through the command line: (dataset dir, JSON summary)."""
    out = tmp_path_factory.mktemp("ml100k")
    result = run_cli(ml100k_dir, out)
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


@pytest.fixture(scope="module")
def raw_ratings(ml100k_dir: Path) -> pd.DataFrame:
    """u.data in each user's order (time, then movie), movies without a real genre removed."""
    ratings = pd.read_csv(
        ml100k_dir / "u.data", sep="\t", header=None, names=["user", "movie", "rating", "ts"]
    )
    flags = pd.read_csv(ml100k_dir / "u.item", sep="|", header=None, encoding="latin-1")
    no_genre = flags.loc[flags.iloc[:, 6:].sum(axis=1) == 0, 0]
    kept = ratings[~ratings["movie"].isin(no_genre)]
    kept = kept.sort_values(["user", "ts", "movie"]).reset_index(drop=True)
    kept["rank"] = kept.groupby("user").cumcount()
    kept["user_id"] = "u" + kept["user"].astype(str)
    kept["item_id"] = "m" + kept["movie"].astype(str)
    return kept


@pytest.mark.realdata
def test_cli_imports_all_users_and_accounts_for_every_rating(ml100k):
    _, summary = ml100k
    assert summary["format"] == "ml-100k"
    assert summary["users"] == 943
    assert summary["items"] == 1680  # 1682 minus "unknown" (267) and Good Morning (1373)
    assert (summary["dropped_movies"], summary["dropped_ratings"]) == (2, 10)
    assert summary["selection_ratings"] == 943 * K
    assert summary["ratings"] == 100_000
    assert summary["plays"] == 100_000 - 10 - 943 * K


@pytest.mark.realdata
def test_output_validates(ml100k):
    out, _ = ml100k
    assert validate(out) == []


def pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The (user_id, item_id) columns as plain object arrays, in row order."""
    return pd.DataFrame({c: frame[c].to_numpy(dtype=object) for c in ("user_id", "item_id")})


@pytest.mark.realdata
def test_earliest_ratings_are_selections_and_the_rest_are_plays(ml100k, raw_ratings):
    out, _ = ml100k
    events = table(out, "interactions")
    rest = raw_ratings[raw_ratings["rank"] >= K]
    plays = pairs(events[events["event"] == "play"])
    assert plays.equals(pairs(rest))  # the same ratings in the same per-user order
    likes = pairs(events[events["event"] == "like"])
    assert likes.equals(pairs(rest[rest["rating"] >= 4]))
    first = pairs(raw_ratings[raw_ratings["rank"] < K])
    assert first.merge(pairs(events).drop_duplicates()).empty  # never played


@pytest.mark.realdata
def test_selected_genres_come_from_the_earliest_ratings(ml100k, raw_ratings):
    out, _ = ml100k
    items = table(out, "items")[["item_id", "genre"]]
    first = pairs(raw_ratings[raw_ratings["rank"] < K]).merge(items.astype(object))
    counts = first.groupby(["user_id", "genre"]).size().to_dict()
    users = table(out, "users")
    for user, selected in zip(users["user_id"], users["selected_genres"], strict=True):
        seen = [counts.get((user, g), 0) for g in selected]
        assert 1 <= len(selected) <= 8
        assert min(seen) >= 1  # every selected genre is among the first K movies' genres
        assert len(selected) == 1 or min(seen) >= 2
    sizes = users["selected_genres"].map(len)
    assert 3 <= sizes.mean() <= 4.5


@pytest.mark.realdata
def test_signup_is_the_first_rating_and_no_play_comes_before_it(ml100k, raw_ratings):
    out, _ = ml100k
    users = table(out, "users").set_index("user_id")
    first_ts = raw_ratings.groupby("user_id")["ts"].min()
    expected = pd.to_datetime(first_ts, unit="s", utc=True).reindex(users.index)
    assert (users["signup_ts"] == expected).all()
    assert users["signup_ts"].dt.strftime("%Y-%m").nunique() >= 7  # spread over the real months
    plays = plays_with_days(out)
    assert plays["day"].min() >= 1
    assert plays["day"].max() < 60
    assert plays.groupby("user_id")["ts"].apply(lambda s: s.is_monotonic_increasing).all()


@pytest.mark.realdata
def test_label_window_holds_the_later_half_of_each_users_plays(ml100k):
    out, _ = ml100k
    plays = plays_with_days(out)
    in_window = plays[(plays["day"] >= 30) & (plays["day"] < 60)].groupby("user_id").size()
    per_user = plays.groupby("user_id").size()
    assert (in_window.reindex(per_user.index, fill_value=0) >= 1).mean() >= 0.95
    assert (in_window == per_user.map(lambda m: math.ceil(m / 2))).all()


@pytest.mark.realdata
def test_users_answers(ml100k):
    out, _ = ml100k
    users = table(out, "users")
    assert users["user_id"].nunique() == 943
    assert set(users["gender"]) == {"m", "f"}
    assert set(users["region"]) == {f"us-z{d}" for d in range(10)} | {"ca"}
    assert (users["region"] == "ca").sum() == 18
    assert (users["zip_prefix"].str.len() == 3).all()
    assert "technician" in set(users["occupation"])
    assert users["age"].between(7, 73).all()


# --- MovieLens 1M on a tiny fixture --------------------------------------------------------

MOVIES_1M = [
    (1, "Toy Story (1995)", "Animation|Children's|Comedy"),
    (2, "Café au lait (Métisse) (1993)", "Comedy"),
    (3, "Heat (1995)", "Action|Crime|Thriller"),
    (4, "Casablanca (1942)", "Drama|Romance|War"),
    (5, "Alien (1979)", "Action|Horror|Sci-Fi|Thriller"),
    (6, "Fargo (1996)", "Crime|Drama|Thriller"),
    (7, "Babe (1995)", "Children's|Comedy|Drama"),
    (8, "Clueless (1995)", "Comedy|Romance"),
]
USERS_1M = [  # id, gender, age code, occupation code, zip
    (1, "F", 1, 10, "48067"),
    (2, "M", 25, 12, "55117-1234"),
    (3, "M", 56, 20, "T8H1N"),
    (4, "F", 35, 0, "?"),
]


def ratings_1m() -> list[tuple[int, int, int, int]]:
    """Users 1-3 rate 24 times (movies cycle), user 4 only 5 times (all questionnaire)."""
    start = 978_300_000
    rows = []
    for user in (1, 2, 3):
        for i in range(24):
            movie = (i * (user + 2)) % len(MOVIES_1M) + 1
            rows.append((user, movie, 1 + (i + user) % 5, start + user * 1000 + i * 60))
    rows += [(4, m, 4, start + 9000 + m) for m in range(1, 6)]
    return rows


def write_1m(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = {
        "users.dat": ["::".join(map(str, u)) for u in USERS_1M],
        "movies.dat": ["::".join(map(str, m)) for m in MOVIES_1M],
        "ratings.dat": ["::".join(map(str, r)) for r in ratings_1m()],
    }
    for name, rows in lines.items():
        (root / name).write_text("\n".join(rows) + "\n", encoding="latin-1")
    return root


def test_1m_format_imports_and_validates(tmp_path):
    src, out = write_1m(tmp_path / "ml-1m"), tmp_path / "out"
    summary = import_movielens(src, out)
    assert (summary.format, summary.users, summary.items) == ("ml-1m", 4, 8)
    assert summary.selection_ratings == 3 * K + 5
    assert summary.plays == 3 * (24 - K)
    assert validate(out) == []
    users = table(out, "users").set_index("user_id")
    assert users["age"].tolist() == [15, 29, 60, 39]
    assert users["gender"].tolist() == ["f", "m", "m", "f"]
    assert users["occupation"].tolist() == ["K-12 student", "programmer", "writer", "other"]
    assert users["region"].tolist() == ["us-z4", "us-z5", "ca", "other"]
    assert users["zip_prefix"].tolist() == ["480", "551", "T8H", "?"]
    events = table(out, "interactions")
    assert "u4" not in set(events["user_id"])  # all five ratings answered the questionnaire


def test_1m_catalog_uses_the_least_common_genre_and_latin1_titles(tmp_path):
    out = tmp_path / "out"
    import_movielens(write_1m(tmp_path / "ml-1m"), out)
    items = table(out, "items").set_index("item_id")
    assert items.loc["m2", "title"] == "Café au lait (Métisse) (1993)"
    # Comedy is on 4 movies, Children's on 2, Animation on 1
    assert items.loc["m1", "genre"] == "Animation"
    assert items.loc["m1", "artist_id"] == "a-animation-1990s"
    assert items.loc["m1", "album_id"] == "al-animation-1995"
    artists = table(out, "artists").set_index("artist_id")
    assert artists.loc["a-animation-1990s", "name"] == "Animation 1990s"
    stations = table(out, "stations")
    national = stations[stations["region"].isna()]
    assert sorted(national["genre"]) == sorted(set(items["genre"]))
    assert len(stations) == len(national) * (1 + 4)  # national + one per user region


def test_cli_options_move_the_questionnaire_and_the_window(tmp_path, capsys):
    src, out = write_1m(tmp_path / "ml-1m"), tmp_path / "out"
    argv = ["--src", str(src), "--out", str(out), "--selection-ratings", "5"]
    assert main([*argv, "--label-window", "20", "40"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["selection_ratings"], summary["plays"]) == (3 * 5 + 5, 3 * 19)
    days = plays_with_days(out).groupby("user_id")["day"]
    assert (days.max() < 40).all()
    assert ((days.apply(lambda d: (d > 20).sum())) == 10).all()  # the later 10 of 19


# --- the protocol's pieces -----------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 3, 5, 10, 85, 737])
def test_retiming_keeps_order_and_puts_the_later_half_in_the_window(m):
    days = retime_days(np.arange(m), np.full(m, m), Protocol())
    assert (np.diff(days) > 0).all()
    assert days.min() > 1
    assert days.max() < 60
    assert ((days > 30) & (days < 60)).sum() == math.ceil(m / 2)


def test_selected_genres_are_the_repeated_ones_or_the_top_one():
    protocol = Protocol()
    assert select_genres(["A", "B", "A", "C", "B", "A"], protocol) == ["A", "B"]
    assert select_genres(["C", "B", "A"], protocol) == ["C"]
    many = [g for g in "ABCDEFGHIJ" for _ in range(2)]
    assert select_genres(many, protocol) == list("ABCDEFGH")


@pytest.mark.parametrize(
    ("zip_code", "region"),
    [
        ("85711", "us-z8"),
        ("02139", "us-z0"),
        ("55117-1234", "us-z5"),
        ("T8H1N", "ca"),
        ("v3n4p", "ca"),
        ("?", "other"),
        ("", "other"),
        ("UK-W1", "other"),
    ],
)
def test_zip_region(zip_code, region):
    assert zip_region(zip_code) == region


# --- bad sources ---------------------------------------------------------------------------


def write_100k(root: Path, data: str = "1\t1\t5\t881250949\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "u.user").write_text("1|24|M|technician|85711\n", encoding="latin-1")
    flags = "|".join(["0", "0", "0", "1"] + ["0"] * 15)
    item = f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\n"
    (root / "u.item").write_text(item, encoding="latin-1")
    (root / "u.data").write_text(data, encoding="latin-1")
    return root


def test_tiny_100k_imports(tmp_path):
    summary = import_movielens(write_100k(tmp_path / "src"), tmp_path / "out")
    assert (summary.format, summary.users, summary.items, summary.plays) == ("ml-100k", 1, 1, 0)
    assert validate(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d, "no MovieLens files found"),
        (lambda d: (d / "u.data").write_text("1\t1\t5\t1\n"), "missing: u.user, u.item"),
        (lambda d: write_100k(d, "1\t1\t5\t881250949\n1\t1\t5\n"), "u.data: line 2: expected 4"),
        (lambda d: write_100k(d, "1\t1\tfive\t881250949\n"), "u.data: line 1: rating is not"),
        (lambda d: write_100k(d, "1\t1\t7\t881250949\n"), "u.data: line 1: rating not 1..5"),
        (lambda d: write_100k(d, "1\t2\t5\t881250949\n"), "names movie 2"),
        (lambda d: write_1m(d) and _corrupt(d / "users.dat", "::56::", "::57::"), "users.dat"),
        (lambda d: write_1m(d) and _corrupt(d / "movies.dat", "Heat", "X::Y"), "movies.dat"),
    ],
)
def test_bad_sources_exit_2_naming_the_file(tmp_path, capsys, make, expected):
    src = tmp_path / "src"
    src.mkdir()
    make(src)
    assert main(["--src", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert expected in err
    assert not (tmp_path / "out").exists()  # nothing written


def _corrupt(path: Path, old: str, new: str) -> Path:
    path.write_text(path.read_text(encoding="latin-1").replace(old, new), encoding="latin-1")
    return path


def test_cli_error_is_a_message_not_a_traceback(tmp_path):
    result = run_cli(tmp_path, tmp_path / "out")
    assert result.returncode == 2
    assert str(tmp_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_reader_rejects_a_missing_directory(tmp_path):
    with pytest.raises(MovieLensFormatError, match="not a directory"):
        read_movielens(tmp_path / "absent")
