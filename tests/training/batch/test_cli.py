"""The command line: bad input is refused with a clear message."""

from __future__ import annotations

import pytest

from training.batch.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard"),
        (["--version", "a b"], "--version"),
        (["--n", "0"], "--n"),
        (["--factors", "-1"], "--factors"),
        (["--song-model", "svd"], "--song-model: expected one of"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(small_world, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(small_world), "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert "--data" in capsys.readouterr().err


def test_merge_without_shards_exits_2(tmp_path, capsys):
    assert main(["merge", str(tmp_path)]) == 2
    assert "no manifest-shard" in capsys.readouterr().err
