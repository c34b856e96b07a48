"""The training-scaling and batch-stage plots: PNG files that show the figures they are given.

The images are decoded and measured: where each series' colour is drawn, and how long each bar is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colors
from matplotlib import image as mpimg

from bench import batch, train

DPI = 110  # both plots are saved at this resolution


def _pixels(path: Path, colour: str) -> np.ndarray:
    """Boolean mask (rows, columns) of the image's pixels drawn in ``colour`` (exactly, up to
    rounding: antialiased edges are left out)."""
    rgb = mpimg.imread(path)[..., :3]
    return np.all(np.abs(rgb - np.array(colors.to_rgb(colour))) < 0.01, axis=-1)


def _reddish(path: Path) -> np.ndarray:
    """Pixels clearly red (thin lines are antialiased, so no pixel has their exact colour)."""
    rgb = mpimg.imread(path)[..., :3]
    return rgb[..., 0] - rgb[..., 1:].max(axis=-1) > 0.2


def _size(path: Path) -> tuple[int, int]:
    rows, columns = mpimg.imread(path).shape[:2]
    return columns, rows


def test_train_scaling_plot_shows_time_against_budget_and_memory(tmp_path: Path) -> None:
    runs = [
        train.Run(users=n, seconds=s, peak_mb=m, exit_code=0)
        for n, s, m in ((100_000, 43, 1097), (300_000, 64, 2138), (1_000_000, 113, 4834))
    ]
    path = train.plot(runs, tmp_path / "train.png")
    assert _size(path) == (8 * DPI, round(3.2 * DPI))  # figsize (8, 3.2) inches
    width = _size(path)[0]

    time_line, memory_line = _pixels(path, "#2a7"), _pixels(path, "#37a")
    budget = _reddish(path)  # the budget line, drawn in #c54
    # Wall time (and the budget) in the left panel, memory in the right one.
    for mask, panel in ((time_line, "left"), (budget, "left"), (memory_line, "right")):
        columns = np.flatnonzero(mask.any(axis=0))
        assert len(columns) > 0, f"nothing drawn in {panel} panel"
        in_left = columns <= width // 2
        assert in_left.all() if panel == "left" else not in_left.any()
    # Both grow with the number of users: the line's right end is higher (smaller row) than
    # its left end.
    for mask in (time_line, memory_line):
        rows, columns = np.nonzero(mask)
        left_end = rows[columns <= columns.min() + 3].mean()
        right_end = rows[columns >= columns.max() - 3].mean()
        assert right_end < left_end
    # 113 s at 1M users is under the 180 s budget: every time point is below the budget line.
    budget_row = budget.sum(axis=1).argmax()  # the line across the panel, not its legend entry
    assert np.flatnonzero(time_line.any(axis=1)).min() > budget_row


def test_batch_throughput_plot_and_section(tmp_path: Path) -> None:
    manifest = {
        "data": {"users": 1000, "active_users": 400, "items": 50, "interactions": 9000},
        "metrics": {"timings_s": {"read": 1.0, "factorise": 2.5, "per-user lists": 4.0}},
        "families": {"personal": {"records": 400, "files": ["a"]}},
    }
    path = batch.plot(manifest, 8.0, tmp_path / "batch.png")
    assert _size(path) == (7 * DPI, round(3.2 * DPI))  # figsize (7, 3.2) inches

    # One bar per stage, first stage on top, each as long as the stage took (all start at 0).
    bars = _pixels(path, "#37a")
    rows = np.flatnonzero(bars.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    assert len(bands) == 3
    lengths = np.array([bars[band[len(band) // 2]].sum() for band in bands])
    starts = [np.flatnonzero(bars[band[len(band) // 2]])[0] for band in bands]
    assert max(starts) - min(starts) <= 1
    np.testing.assert_allclose(lengths / lengths[0], [1.0, 2.5, 4.0], rtol=0.03)

    text = batch.markdown(1000, 8.0, 2**30, 0, manifest, 2**20)
    assert "Throughput: 50 active listeners/s (125 listeners/s)" in text
