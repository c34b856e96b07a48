"""Tests for ``training.data.validate``: a valid dataset passes; each way of breaking it is
reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.training.builders import DatasetBuilder, day
from training.data.validate import Problem, check_dataset, validate
from training.data.validate.cli import main


def run_cli(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI in-process; its exit status and what it printed on stdout."""
    code = main([str(root), "--no-progress"])
    return code, capsys.readouterr().out


def assert_reported(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    column: str | None,
    *words: str,
) -> Problem:
    """Exactly one problem names ``file`` and ``column``, its message has ``words``, and the
    CLI prints it and exits 1."""
    problems = validate(root)
    matching = [p for p in problems if p.file == file and p.column == column]
    assert len(matching) == 1, "\n".join(map(str, problems))
    problem = matching[0]
    for word in words:
        assert word in problem.message, problem
    code, out = run_cli(root, capsys)
    assert code == 1
    assert str(problem) in out.splitlines()
    assert out.splitlines()[-1].startswith("invalid:")
    return problem


@pytest.fixture
def valid() -> DatasetBuilder:
    return DatasetBuilder.valid()


# -- valid datasets ----------------------------------------------------------------------------


def test_valid_dataset_has_no_problems(tmp_path, valid, capsys):
    root = valid.write(tmp_path)
    assert validate(root) == []
    code, out = run_cli(root, capsys)
    assert code == 0
    assert out.strip() == (
        "valid: 4 users, 5 items, 3 artists, 2 stations, 8 interactions, 3 follows"
    )


def test_follows_is_optional(tmp_path, valid, capsys):
    root = valid.without("follows").write(tmp_path)
    assert validate(root) == []
    assert run_cli(root, capsys)[0] == 0


def test_extra_columns_are_allowed_in_every_table(tmp_path, valid):
    for table, rows in valid.rows.items():
        valid.add_column(table, "note", pa.string(), ["extra"] * len(rows))
    assert validate(valid.write(tmp_path)) == []


COMPATIBLE_TYPES = [
    ("users", "age", pa.int64()),
    ("users", "age", pa.int8()),
    ("users", "user_id", pa.large_string()),
    ("users", "gender", pa.dictionary(pa.int32(), pa.string())),
    ("users", "signup_ts", pa.timestamp("us", tz="UTC")),
    ("users", "signup_ts", pa.timestamp("ns")),
    ("users", "selected_genres", pa.large_list(pa.large_string())),
    ("items", "genre", pa.dictionary(pa.int8(), pa.large_string())),
    ("interactions", "ts", pa.timestamp("s", tz="UTC")),
    ("interactions", "event", pa.dictionary(pa.int8(), pa.string())),
    ("follows", "artist_id", pa.large_string()),
]


@pytest.mark.parametrize(("table", "column", "type_"), COMPATIBLE_TYPES)
def test_compatible_physical_types_are_accepted(tmp_path, valid, table, column, type_):
    assert validate(valid.retype(table, column, type_).write(tmp_path)) == []


def test_sub_millisecond_timestamps_are_accepted(tmp_path, valid):
    valid.retype("interactions", "ts", pa.timestamp("ns", tz="UTC"))
    valid.set("interactions", 0, ts=day(0.5).replace(microsecond=123))
    assert validate(valid.write(tmp_path)) == []


def test_empty_tables_are_valid(tmp_path, valid, capsys):
    valid.rows["interactions"].clear()
    valid.rows["follows"].clear()
    root = valid.write(tmp_path)
    assert validate(root) == []
    assert run_cli(root, capsys) == (
        0,
        "valid: 4 users, 5 items, 3 artists, 2 stations, 0 interactions, 0 follows\n",
    )


def test_tables_as_directories_of_part_files(tmp_path, valid, capsys):
    root = valid.write(tmp_path, parts={"interactions": 3, "users": 2})
    assert validate(root) == []
    assert run_cli(root, capsys)[0] == 0


# -- missing and unreadable files --------------------------------------------------------------


@pytest.mark.parametrize("table", ["users", "items", "artists", "stations", "interactions"])
def test_missing_required_table(tmp_path, valid, capsys, table):
    root = valid.without(table).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", None, "missing")
    assert problem.example is None


def test_corrupt_parquet_file_is_reported_not_raised(tmp_path, valid, capsys):
    root = valid.write(tmp_path)
    (root / "interactions.parquet").write_bytes(b"this is not parquet" * 10)
    problem = assert_reported(root, capsys, "interactions.parquet", None, "cannot read")
    assert "magic" in problem.message.lower()


def test_empty_file_is_reported(tmp_path, valid, capsys):
    root = valid.write(tmp_path)
    (root / "users.parquet").write_bytes(b"")
    assert_reported(root, capsys, "users.parquet", None, "cannot read")


def test_corrupt_part_file_is_reported_and_the_others_checked(tmp_path, valid, capsys):
    valid.set("interactions", 0, event="listen")
    root = valid.write(tmp_path, parts={"interactions": 2})
    (root / "interactions" / "part-1.parquet").write_bytes(b"junk")
    assert_reported(root, capsys, "interactions/part-1.parquet", None, "cannot read")
    assert_reported(root, capsys, "interactions/", "event", "event not one of")


@pytest.mark.parametrize("table", ["users", "interactions"])
def test_corrupt_data_pages_are_reported_not_raised(tmp_path, valid, capsys, table):
    root = valid.write(tmp_path)
    path = root / f"{table}.parquet"
    data = bytearray(path.read_bytes())
    data[4:200] = b"\xff" * 196  # the first page, past the magic bytes; the footer is intact
    path.write_bytes(bytes(data))
    assert_reported(root, capsys, f"{table}.parquet", None, "cannot read")


# -- columns and types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [("users", "selected_genres"), ("items", "genre"), ("interactions", "ts"), ("follows", "ts")],
)
def test_missing_required_column(tmp_path, valid, capsys, table, column):
    root = valid.drop_column(table, column).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", column, "missing")
    assert problem.count == len(valid.rows[table])
    assert problem.example is not None
    assert column not in problem.example


def test_wrong_type(tmp_path, valid, capsys):
    for i, age in enumerate(["25", "old", None, "61"]):
        valid.set("users", i, age=age)
    root = valid.retype("users", "age", pa.string()).write(tmp_path)
    problem = assert_reported(root, capsys, "users.parquet", "age", "wrong type", "int32")
    assert problem.example is not None
    assert problem.example["age"] == "25"


def test_part_files_are_checked_each(tmp_path, valid, capsys):
    root = valid.write(tmp_path, parts={"interactions": 2})
    part = root / "interactions" / "part-1.parquet"
    table = pq.read_table(part)
    pq.write_table(table.drop_columns(["event"]), part)
    problem = assert_reported(root, capsys, "interactions/", "event", "missing")
    assert problem.count == table.num_rows


def test_wrong_type_of_timestamp_skips_the_signup_check(tmp_path, valid, capsys):
    for i, row in enumerate(valid.rows["interactions"]):
        valid.set("interactions", i, ts=row["ts"].isoformat())
    root = valid.retype("interactions", "ts", pa.string()).write(tmp_path)
    assert_reported(root, capsys, "interactions.parquet", "ts", "wrong type", "timestamp")
    assert len(validate(root)) == 1


# -- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("users", "signup_ts"),
        ("users", "region"),
        ("items", "available"),
        ("artists", "name"),
        ("interactions", "item_id"),
        ("interactions", "event"),
        ("follows", "user_id"),
    ],
)
def test_null_in_non_nullable_column(tmp_path, valid, capsys, table, column):
    root = valid.set(table, 1, **{column: None}).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", column, "null")
    assert problem.count == 1
    assert problem.example == {**problem.example, column: None}


def test_nulls_in_nullable_columns_are_fine(tmp_path, valid):
    valid.set("users", 0, age=None, gender=None).set("stations", 0, region=None)
    valid.set("items", 0, title=None, album_id=None)
    assert validate(valid.write(tmp_path)) == []


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("users", "user_id"),
        ("items", "item_id"),
        ("items", "album_id"),
        ("stations", "station_id"),
        ("interactions", "user_id"),
    ],
)
def test_empty_string_id(tmp_path, valid, capsys, table, column):
    root = valid.set(table, 1, **{column: ""}).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", column, "empty")
    assert problem.example is not None
    assert problem.example[column] == ""


def test_gender_outside_domain(tmp_path, valid, capsys):
    root = valid.set("users", 0, gender="female").set("users", 3, gender="M").write(tmp_path)
    problem = assert_reported(root, capsys, "users.parquet", "gender", "'f', 'm', 'x'")
    assert problem.count == 2
    assert "'female'" in problem.message
    assert "'M'" in problem.message


def test_event_outside_domain(tmp_path, valid, capsys):
    root = valid.set("interactions", 4, event="listen").write(tmp_path)
    problem = assert_reported(root, capsys, "interactions.parquet", "event", "'play'", "listen")
    assert problem.example is not None
    assert problem.example["event"] == "listen"


@pytest.mark.parametrize(
    ("age", "type_"),
    [(-1, pa.int32()), (121, pa.int32()), (5_000_000_000, pa.int64()), (2**64 - 1, pa.uint64())],
)
def test_age_outside_plausible_range(tmp_path, valid, capsys, age, type_):
    valid.retype("users", "age", type_)
    root = valid.set("users", 2, age=age).write(tmp_path)
    problem = assert_reported(root, capsys, "users.parquet", "age", "0..120")
    if age < 2**63:  # past int64, it shows wrapped round
        assert f"found: {age}" in problem.message
    assert problem.example is not None
    assert problem.example["user_id"] == "u3"


def test_unknown_selected_genre(tmp_path, valid, capsys):
    root = valid.set("users", 1, selected_genres=["Rock", "Polka"]).write(tmp_path)
    problem = assert_reported(
        root, capsys, "users.parquet", "selected_genres", "vocabulary", "Polka"
    )
    assert problem.count == 1
    assert problem.example is not None
    assert problem.example["user_id"] == "u2"


@pytest.mark.parametrize("table", ["artists", "stations"])
def test_unknown_genre_of_artist_or_station(tmp_path, valid, capsys, table):
    root = valid.set(table, 0, genre="Polka").write(tmp_path)
    assert_reported(root, capsys, f"{table}.parquet", "genre", "vocabulary", "Polka")


def test_genre_vocabulary_comes_from_items(tmp_path, valid):
    valid.set("items", 0, genre="Polka").set("artists", 0, genre="Polka")
    valid.set("users", 0, selected_genres=["Polka"])
    assert validate(valid.write(tmp_path)) == []


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("users", "user_id"),
        ("items", "item_id"),
        ("artists", "artist_id"),
        ("stations", "station_id"),
    ],
)
def test_duplicate_ids(tmp_path, valid, capsys, table, key):
    first = valid.rows[table][0][key]
    root = valid.add(table, **{key: first}).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", key, "duplicate", repr(first))
    assert problem.count == 2


# -- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "target"),
    [
        ("interactions", "user_id", "users"),
        ("interactions", "item_id", "items"),
        ("items", "artist_id", "artists"),
        ("follows", "user_id", "users"),
        ("follows", "artist_id", "artists"),
    ],
)
def test_unknown_reference(tmp_path, valid, capsys, table, column, target):
    root = valid.set(table, 1, **{column: "ghost"}).write(tmp_path)
    problem = assert_reported(
        root, capsys, f"{table}.parquet", column, f"not found in {target}.parquet", "'ghost'"
    )
    assert problem.count == 1
    assert problem.example is not None
    assert problem.example[column] == "ghost"


def test_references_are_not_checked_against_a_missing_table(tmp_path, valid):
    problems = validate(valid.without("users").without("artists").write(tmp_path))
    assert {(p.file, p.column) for p in problems} == {
        ("users.parquet", None),
        ("artists.parquet", None),
    }


@pytest.mark.parametrize("table", ["interactions", "follows"])
def test_timestamp_before_signup(tmp_path, valid, capsys, table):
    # u4 signs up on day 3: an event on day 2.5 comes before.
    index = next(i for i, r in enumerate(valid.rows[table]) if r["user_id"] == "u4")
    root = valid.set(table, index, ts=day(2.5)).write(tmp_path)
    problem = assert_reported(root, capsys, f"{table}.parquet", "ts", "before", "signup_ts")
    assert problem.count == 1
    assert problem.example is not None
    assert problem.example["user_id"] == "u4"
    assert problem.example["user_signup_ts"] == day(3)


def test_timestamp_at_signup_is_fine(tmp_path, valid):
    assert validate(valid.set("interactions", 6, ts=day(3)).write(tmp_path)) == []


# -- several problems, streaming, output -------------------------------------------------------


def test_every_problem_is_reported(tmp_path, valid, capsys):
    valid.set("users", 0, gender="q").add("artists", artist_id="a1")
    valid.set("interactions", 0, user_id="ghost").set("interactions", 1, event="listen")
    valid.drop_column("stations", "region").without("items")
    root = valid.write(tmp_path)
    problems = validate(root)
    assert [(p.file, p.column) for p in problems] == [
        ("users.parquet", "gender"),
        ("items.parquet", None),
        ("artists.parquet", "artist_id"),
        ("stations.parquet", "region"),
        ("interactions.parquet", "event"),
        ("interactions.parquet", "user_id"),
    ]
    code, out = run_cli(root, capsys)
    assert code == 1
    assert out.splitlines() == [*map(str, problems), f"invalid: 6 problems in {root}"]


def test_counts_and_example_add_up_across_chunks(tmp_path, valid):
    for i in range(40):
        user = "ghost" if i % 3 == 0 else "u2"
        valid.add("interactions", user_id=user, item_id=f"i{i % 5 + 1}", ts=day(50))
    root = valid.write(tmp_path, parts={"interactions": 4})
    whole = validate(root)
    chunked = validate(root, chunk_rows=3)
    assert chunked == whole
    (problem,) = whole
    assert problem.count == 14
    assert problem.example is not None
    assert problem.example["user_id"] == "ghost"


def test_problem_prints_on_one_line():
    problem = Problem(
        "interactions.parquet",
        "event",
        "event not one of 'play', 'skip', 'like' (found: 'listen')",
        3,
        {"user_id": "u1", "ts": day(1), "event": "listen"},
    )
    assert str(problem) == (
        "interactions.parquet [event]: event not one of 'play', 'skip', 'like' "
        "(found: 'listen') (3 rows); example: "
        "{user_id='u1', ts=2024-01-02T00:00:00+00:00, event='listen'}"
    )
    assert str(Problem("users.parquet", None, "required table is missing")) == (
        "users.parquet: required table is missing"
    )


def test_report_counts_rows(tmp_path, valid):
    report = check_dataset(valid.without("follows").write(tmp_path))
    assert report.valid
    assert report.rows == {
        "users": 4,
        "items": 5,
        "artists": 3,
        "stations": 2,
        "interactions": 8,
    }


def test_missing_directory_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_module_entry_point(tmp_path, valid):
    root = valid.write(tmp_path / "ok")
    ok = _run_module(root)
    assert ok.returncode == 0
    assert ok.stdout.startswith("valid: 4 users")
    missing = _run_module(tmp_path / "nowhere")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def _run_module(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training.data.validate", str(root)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
