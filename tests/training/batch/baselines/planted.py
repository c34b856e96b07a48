"""A small split with a planted structure: listeners in taste groups, each group playing its own
block of songs; the held-out new songs come from the listener's block, regions are drawn
independently of the groups (so regional popularity knows nothing of taste)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from training.batch.baselines.split import Split

GROUPS, PER_GROUP, BLOCK = 6, 80, 40  # 480 listeners, 240 songs
PLAYED, HELD_OUT, NOISE = 12, 4, 2


def planted_split(seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    n_users, n_items = GROUPS * PER_GROUP, GROUPS * BLOCK
    # Blocks differ in size of audience share: the global chart favours the first blocks.
    train_rows, train_cols, train_vals, new_rows, new_cols = [], [], [], [], []
    for user in range(n_users):
        group = user // PER_GROUP
        block = np.arange(group * BLOCK, (group + 1) * BLOCK)
        chosen = rng.choice(block, PLAYED + HELD_OUT, replace=False)
        noise = rng.choice(n_items, NOISE, replace=False)
        played = np.union1d(chosen[:PLAYED], noise)
        train_rows += [user] * len(played)
        train_cols += played.tolist()
        train_vals += rng.integers(1, 6, len(played)).tolist()
        held = np.setdiff1d(chosen[PLAYED:], played)
        new_rows += [user] * len(held)
        new_cols += held.tolist()
    train = sp.csr_matrix(
        (np.array(train_vals, np.float32), (train_rows, train_cols)), shape=(n_users, n_items)
    )
    relevant = sp.csr_matrix(
        (np.ones(len(new_rows), np.float32), (new_rows, new_cols)), shape=(n_users, n_items)
    )
    users = np.arange(n_users)
    return Split(
        name="test",
        cutoff_ms=0,
        train=train,
        relevant=relevant,
        chart=train,
        users=users,
        fitted=users,
        user_region=rng.integers(0, 3, n_users),
        n_regions=3,
        seed=seed,
    )
