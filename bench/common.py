"""What several benchmarks run on: the cached bench worlds (generated once under .local/bench/,
reused by every benchmark that needs one) and a local stack (the one running in a directory, or
one started there for the run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.report import REPO_ROOT
from local import launch
from local.stack import Stack
from training.data.dataset_io import has_table
from training.data.world.generate import planted_parameters
from training.data.world.truth import TRUTH_DIR

#: The bench worlds, shared by bench.world (``--out``), bench.train, bench.batch, bench.inference,
#: bench.dynamodb_load and bench.quality: each generates what it needs once and the others reuse it.
CACHE = REPO_ROOT / ".local" / "bench"
DEFAULT_SEED = 7
#: Raw MovieLens 100K, read in place (never copied into the project); MUSICREC_ML100K overrides.
ML100K = Path(os.environ.get("MUSICREC_ML100K", REPO_ROOT.parent / "shared" / "data" / "ml-100k"))


def world_dir(users: int, seed: int = DEFAULT_SEED) -> Path:
    """Where the bench world of ``users`` listeners lives (the seed named unless the default)."""
    return CACHE / (f"world-{users}" if seed == DEFAULT_SEED else f"world-{users}-s{seed}")


def ensure_world(users: int, seed: int = DEFAULT_SEED) -> Path:
    """The cached world of ``users`` listeners, generated if missing, incomplete or made by a
    generator whose planted effects differ from today's."""
    out = world_dir(users, seed)
    complete = all(has_table(out, name) for name in ("users", "items", "interactions"))
    if not (complete and is_current(out)):
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "training.data.world", "--users", str(users)]
        subprocess.run([*cmd, "--seed", str(seed), "--out", str(out)], check=True, cwd=REPO_ROOT)
    return out


def is_current(world: Path) -> bool:
    """Whether the world in ``world`` was made with the planted effects the generator has now."""
    try:
        recorded = json.loads((world / TRUTH_DIR / "world.json").read_text())["parameters"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(recorded == json.loads(json.dumps(planted_parameters())))


@contextmanager
def local_stack(root: Path, users: int, seed: int) -> Iterator[tuple[Stack, bool]]:
    """The stack running in ``root``, else one started there (a ``users``-listener world) and
    stopped after the block; and whether this call started it. The directory keeps the world,
    model and lists, so the next start only reloads the lists into a fresh local AWS."""
    found = launch.running(root)
    if found is not None:
        yield found, False
        return
    with launch.started(root, users, seed) as stack:
        yield stack, True
