"""Build steps: stamps of their inputs decide what a second run reuses; failures are clear."""

from __future__ import annotations

import hashlib

import pytest

from local import build
from local.stack import Stack


def _dataset(path, **files):
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def _expected_fingerprint(files: dict[str, bytes]) -> str:
    """SHA-256 over each file's name then the SHA-256 of its bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(files):
        sha.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return sha.hexdigest()


def test_dataset_fingerprint_follows_contents_not_stamps(tmp_path):
    data = _dataset(tmp_path / "d", **{"users.parquet": "a", "items.parquet": "b"})
    first = build.dataset_fingerprint(data)
    assert first == _expected_fingerprint({"users.parquet": b"a", "items.parquet": b"b"})
    (data / build.STAMP).write_text("{}")
    assert build.dataset_fingerprint(data) == first
    (data / "items.parquet").write_text("c")
    changed = build.dataset_fingerprint(data)
    assert changed == _expected_fingerprint({"users.parquet": b"a", "items.parquet": b"c"})
    assert build.batch_version(data) != build.batch_version(
        _dataset(tmp_path / "e", **{"users.parquet": "a", "items.parquet": "b"})
    )
    # The version names the contents and the code, not where the dataset lies or when it was
    # written: an identical copy elsewhere, written later, has the same version.
    code = build.code_fingerprint("training")
    expected = "local-" + hashlib.sha256(f"{changed}:{code}".encode()).hexdigest()[:12]
    assert build.batch_version(data) == expected
    copy = _dataset(tmp_path / "elsewhere" / "f", **{"users.parquet": "a", "items.parquet": "c"})
    assert build.batch_version(copy) == expected


def test_code_fingerprint_names_a_missing_package():
    assert len(build.code_fingerprint("training")) == 64
    with pytest.raises(build.BuildError, match="no_such_package"):
        build.code_fingerprint("no_such_package")


def test_a_failing_or_stuck_step_is_a_build_error():
    with pytest.raises(build.BuildError, match="exited with 2"):
        build.run(["json.tool", "--no-such-flag"])
    with pytest.raises(build.BuildError, match="took more than"):
        build.run(["timeit", "-n", "1", "import time; time.sleep(30)"], timeout_s=1)


def test_data_that_is_neither_a_dataset_nor_movielens_is_refused(tmp_path):
    stack = Stack(str(tmp_path / "stack"))
    with pytest.raises(build.BuildError, match="no such directory"):
        build.dataset(stack, str(tmp_path / "missing"), 0, 0, rebuild=False)
    junk = _dataset(tmp_path / "junk", **{"notes.txt": "hello"})
    with pytest.raises(build.BuildError, match=r"training\.data\.datasets\.movielens"):
        build.dataset(stack, str(junk), 0, 0, rebuild=False)


@pytest.mark.slow
def test_a_world_is_reused_until_its_size_or_seed_changes(tmp_path):
    stack = Stack(str(tmp_path / "stack"))
    world = build.dataset(stack, None, 300, 3, rebuild=False)
    built = (world / "users.parquet").stat().st_mtime_ns
    assert build.dataset(stack, None, 300, 3, rebuild=False) == world
    assert (world / "users.parquet").stat().st_mtime_ns == built
    fingerprint = build.dataset_fingerprint(world)
    build.dataset(stack, None, 300, 4, rebuild=False)
    assert build.dataset_fingerprint(world) != fingerprint
