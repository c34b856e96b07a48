"""The training-scaling and batch-stage plots are written as PNG files."""

from __future__ import annotations

from pathlib import Path

from bench import batch, train


def test_train_scaling_plot(tmp_path: Path) -> None:
    runs = [
        train.Run(users=n, seconds=s, peak_mb=m, exit_code=0)
        for n, s, m in ((100_000, 43, 1097), (300_000, 64, 2138), (1_000_000, 113, 4834))
    ]
    path = train.plot(runs, tmp_path / "train.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_batch_throughput_plot_and_section(tmp_path: Path) -> None:
    manifest = {
        "data": {"users": 1000, "active_users": 400, "items": 50, "interactions": 9000},
        "metrics": {"timings_s": {"read": 1.0, "factorise": 2.5, "per-user lists": 4.0}},
        "families": {"personal": {"records": 400, "files": ["a"]}},
    }
    path = batch.plot(manifest, 8.0, tmp_path / "batch.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = batch.markdown(1000, 8.0, 2**30, 0, manifest, 2**20)
    assert "Throughput: 50 active listeners/s (125 listeners/s)" in text
