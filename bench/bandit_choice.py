"""Which contextual bandit for the API: ``python -m bench.bandit_choice``.

Compares this repository's pure-Python Bayesian linear bandit (:mod:`lambdas.logic.bandit`)
against Vowpal Wabbit's ``--cb_explore_adf`` and against fixed rankings, on new listeners of a
generated world whose hidden click model (:class:`training.data.world.truth.WorldTruth`) decides
every click:

- **The decision.** Each new listener (the world's second half, in a seeded random order) is shown
  one station first: among one national station of every genre and the regional stations of their
  own region (about 23 candidates). A click is drawn from the truth's station click probability.
- **The prior.** The onboarding model's role is played by a frequency model fitted on the first
  half's observed plays: P(genre | region, whether the listener picked it), smoothed towards
  P(genre | picked). Nothing of the truth enters a policy.
- **Features** (the same for both libraries): the prior's logit, picked, regional, the genre
  (one-hot), a bias; VW's shared line has region, age band and gender, and one VW arm crosses
  them with the action's features (``-q sa``).
- **Arms.** Fixed: the prior's ranking (the model without feedback), uniform random, the oracle
  (the truth's best, an upper bound). Ours: softmax (exact propensities) with the posterior
  refreshed after every decision, every 100 and every 1,000 (a scheduled refresh), and Thompson
  sampling. VW: epsilon-greedy (its default), with ``-q sa``, SquareCB with ``-q sa``; VW learns
  online after every decision.

It reports per arm the CTR the truth expects for what was shown (no click noise) overall, in the
last 2,000 decisions and per 1,000 (the learning curve), the drawn CTR, and the decision time;
the cold start of each library (a fresh interpreter: import, load a trained state, first
decision; median of runs) and what each adds to the Lambda asset (the wheel for the asset's
platform: pip download as :mod:`infra.bundling` does, unpacked and zipped); and an off-policy
check: IPS, SNIPS and DR estimates from the softmax bandit's logged propensities of what the
fixed ranking and uniform random would have earned, against the truth on the same listeners.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import CACHE, ensure_world
from bench.report import REPO_ROOT, machine, repo_relative, write_section
from lambdas.logic import bandit as bd
from lambdas.logic import offpolicy as ope
from training.data.world.genres import GENRE_INDEX, GENRES
from training.data.world.truth import WorldTruth

SECTION = "bandit-choice"
FEATURES = ("bias", "prior", "picked", "regional", *[f"genre={g}" for g in GENRES])
# The prior: the model's logit counts (positive weight), the rest starts at 0; a click rate moves
# by a few points per unit of logit, and a genre's own effect by a few points at most.
MODEL = bd.Model(
    FEATURES,
    prior_mean={"prior": 0.03, "bias": 0.15},
    prior_precision={"bias": 10.0, "prior": 400.0, "picked": 100.0, "regional": 100.0},
    default_precision=400.0,
    action_precision=400.0,  # a station's own effect: sd 5 points of click rate
    noise=0.15,
)
SOFTMAX = bd.Policy("softmax", temperature=0.01, optimism=1.0, epsilon=0.05)
THOMPSON = bd.Policy("thompson", epsilon=0.05, draws=8)
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")  # the asset's, then AL2023's
ASSET_ZIPPED_MB = 5.9  # docs/benchmarks.md, lambda-asset (before any bandit dependency)


# ---------------------------------------------------------------------------------------------
# the problem


@dataclass
class Round:
    """One new listener: candidates (station ids), our feature vectors, VW's lines, the truth."""

    user: str
    stations: list[str]
    vectors: list[list[float]]
    shared: str
    lines: list[str]
    prior: list[float]
    truth: list[float]


@dataclass
class Problem:
    rounds: list[Round]
    history_users: int


def _age_band(age: Any) -> str:
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return "na"
    return str(min(int(age) // 10, 6))


def build_problem(world: Path, limit: int | None) -> Problem:
    """The new listeners' rounds: candidates, features and true click probabilities."""
    truth = WorldTruth(world)
    users = pq.read_table(world / "users.parquet").to_pandas()
    stations = pq.read_table(world / "stations.parquet").to_pandas()
    items = pq.read_table(world / "items.parquet", columns=["item_id", "genre"]).to_pandas()
    half = len(users) // 2
    history = users.iloc[:half]
    # the prior: share of each history listener's plays per genre
    plays = pq.read_table(world / "interactions.parquet", columns=["user_id", "item_id", "event"])
    plays = plays.filter(pc.equal(plays["event"], "play")).select(["user_id", "item_id"])
    frame = plays.to_pandas().merge(items, on="item_id")
    frame = frame[frame["user_id"].isin(set(history["user_id"]))]
    counts = frame.groupby(["user_id", "genre"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(GENRES), fill_value=0)
    share = counts.div(counts.sum(axis=1), axis=0).reindex(history["user_id"]).fillna(0.0)
    shares = share.to_numpy()  # (history, G)
    picked = np.zeros_like(shares, dtype=bool)
    for i, genres in enumerate(history["selected_genres"]):
        for g in genres:
            picked[i, GENRE_INDEX[g]] = True
    smooth = 20.0
    base = {flag: (shares * (picked == flag)).sum(0) / np.maximum((picked == flag).sum(0), 1)
            for flag in (False, True)}  # fmt: skip
    region_of = history["region"].to_numpy()
    prior_table: dict[tuple[str, bool], np.ndarray] = {}
    for region in np.unique(region_of):
        rows = region_of == region
        for flag in (False, True):
            mask = picked[rows] == flag
            total = (shares[rows] * mask).sum(0)
            n = mask.sum(0)
            prior_table[(region, flag)] = (total + smooth * base[flag]) / (n + smooth)

    national = stations[stations["region"].isna()].groupby("genre").head(1)
    national_by_genre = dict(zip(national["genre"], national["station_id"], strict=True))
    regional = stations[stations["region"].notna()]
    regional_by_region = {r: list(zip(g["station_id"], g["genre"], strict=True))
                          for r, g in regional.groupby("region")}  # fmt: skip

    new = users.iloc[half:] if limit is None else users.iloc[half : half + limit]
    rounds: list[Round] = []
    for row in new.itertuples(index=False):
        picks = {GENRE_INDEX[g] for g in row.selected_genres}
        cands = [(national_by_genre[g], g, False) for g in GENRES]
        cands += [(s, g, True) for s, g in regional_by_region.get(row.region, [])]
        vectors, lines, prior = [], [], []
        for station, genre, is_regional in cands:
            gi = GENRE_INDEX[genre]
            p = float(prior_table.get((row.region, gi in picks), base[gi in picks])[gi])
            values = {"bias": 1.0, "prior": bd.logit(p), "picked": float(gi in picks),
                      "regional": float(is_regional), f"genre={genre}": 1.0}  # fmt: skip
            vectors.append(bd.encode(FEATURES, values))
            prior.append(p)
            lines.append(f"|a prior:{values['prior']:.5f} picked:{values['picked']:.0f} "
                         f"regional:{values['regional']:.0f} g{gi} {station}")  # fmt: skip
        gender = row.gender if isinstance(row.gender, str) else "na"
        shared = f"shared |s r_{row.region} a_{_age_band(row.age)} s_{gender}"
        ids = [c[0] for c in cands]
        probs = truth.station_click_probability(row.user_id, ids).tolist()
        rounds.append(Round(row.user_id, ids, vectors, shared, lines, prior, probs))
    return Problem(rounds, half)


# ---------------------------------------------------------------------------------------------
# arms


@dataclass
class Result:
    arm: str
    expected: list[float] = field(default_factory=list)  # truth's P(click) of what was shown
    clicks: list[float] = field(default_factory=list)
    seconds: float = 0.0  # decision + update time
    log: list[dict[str, Any]] = field(default_factory=list)  # softmax: what OPE needs


def _fixed(problem: Problem, order: list[int], seed: int, kind: str) -> Result:
    rng = random.Random(seed)
    res = Result(kind)
    for i in order:
        r = problem.rounds[i]
        if kind == "fixed (the prior's ranking)":
            a = max(range(len(r.prior)), key=lambda j: (r.prior[j], r.vectors[j][3]))
        elif kind == "uniform random":
            a = rng.randrange(len(r.prior))
        else:
            a = max(range(len(r.truth)), key=r.truth.__getitem__)
        res.expected.append(r.truth[a])
        res.clicks.append(float(rng.random() < r.truth[a]))
    return res


def _ours(
    problem: Problem, order: list[int], seed: int, policy: bd.Policy, refresh: int, log: bool
) -> tuple[Result, bd.Stats]:
    rng = random.Random(seed)
    name = f"ours {policy.kind}, refresh every {refresh}"
    res = Result(name)
    stats = bd.empty(FEATURES)
    post = bd.posterior(MODEL, stats)
    pending: list[bd.Obs] = []
    start = time.perf_counter()
    for t, i in enumerate(order):
        r = problem.rounds[i]
        ranking = bd.rank(post, r.vectors, policy, rng, slots=1, keys=r.stations)
        a = ranking.order[0]
        click = float(rng.random() < r.truth[a])
        res.expected.append(r.truth[a])
        res.clicks.append(click)
        if log:
            res.log.append({"round": i, "action": a, "propensity": ranking.propensities[0],
                            "reward": click})  # fmt: skip
        pending.append(bd.Obs(r.vectors[a], click, r.stations[a]))
        if (t + 1) % refresh == 0:
            stats, pending = bd.update(stats, pending), []
            post = bd.posterior(MODEL, stats)
    res.seconds = time.perf_counter() - start
    return res, stats


def _vw(problem: Problem, order: list[int], seed: int, args: str, name: str) -> tuple[Result, Any]:
    import vowpalwabbit

    rng = random.Random(seed)
    ws = vowpalwabbit.Workspace(f"--cb_explore_adf {args} --quiet --random_seed {seed}")
    res = Result(name)
    start = time.perf_counter()
    for i in order:
        r = problem.rounds[i]
        pmf = ws.predict([r.shared, *r.lines])
        a = rng.choices(range(len(pmf)), weights=pmf)[0]
        click = float(rng.random() < r.truth[a])
        res.expected.append(r.truth[a])
        res.clicks.append(click)
        lines = list(r.lines)
        lines[a] = f"0:{-click}:{pmf[a]} {lines[a]}"
        ws.learn([r.shared, *lines])
    res.seconds = time.perf_counter() - start
    return res, ws


VW_ARMS = {
    "VW epsilon 0.05": "--epsilon 0.05",
    "VW epsilon 0.05, -q sa": "--epsilon 0.05 -q sa",
    "VW squarecb, -q sa": "--squarecb -q sa",
}


# ---------------------------------------------------------------------------------------------
# off-policy check


def ope_check(problem: Problem, result: Result, stats: bd.Stats) -> list[dict[str, Any]]:
    """From the softmax arm's log: what the fixed ranking and uniform random would have earned,
    by IPS, SNIPS and DR (reward model: the bandit's final posterior mean), against the truth."""
    post = bd.posterior(MODEL, stats)
    targets: dict[str, Callable[[Round], list[float]]] = {
        "fixed (the prior's ranking)": lambda r: _one_hot(
            len(r.prior), max(range(len(r.prior)), key=lambda j: (r.prior[j], r.vectors[j][3]))
        ),
        "uniform random": lambda r: [1.0 / len(r.prior)] * len(r.prior),
        "ours greedy (final posterior)": lambda r: bd.top_probabilities(
            post, r.vectors, bd.Policy("greedy"), keys=r.stations
        ),
    }
    out = []
    for name, target in targets.items():
        records, true_values = [], []
        for entry in result.log:
            r = problem.rounds[entry["round"]]
            pi = target(r)
            predicted = [post.predict(x, k) for x, k in zip(r.vectors, r.stations, strict=True)]
            records.append(ope.logged(entry["reward"], entry["action"], entry["propensity"], pi,
                                      predicted))  # fmt: skip
            true_values.append(sum(p * q for p, q in zip(pi, r.truth, strict=True)))
        truth = statistics.fmean(true_values)
        row: dict[str, Any] = {"target": name, "truth": truth}
        for method in ("ips", "snips", "dr"):
            est = ope.estimate(records, method, resamples=300, seed=0)
            row[method] = {"value": est.value, "low": est.low, "high": est.high,
                           "covers": est.covers(truth), "ess": est.ess}  # fmt: skip
        out.append(row)
    return out


def _one_hot(k: int, i: int) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(k)]


# ---------------------------------------------------------------------------------------------
# cold start and asset size

OURS_COLD = """
import sys, time
t = time.perf_counter()
from lambdas.logic import bandit as bd
import random
state = bd.loads(open(sys.argv[1], "rb").read())
model = bd.Model(tuple(state.features), prior_mean={"prior": 0.03}, default_precision=400.0)
post = bd.posterior(model, state)
acts = [[1.0, -2.0 + i / 10, float(i % 4 == 0), float(i > 19)]
        + [float(j == i % 20) for j in range(20)] for i in range(23)]
keys = sorted(state.actions)[:23]
bd.rank(post, acts, bd.Policy(), random.Random(0), slots=5, keys=keys)
print(time.perf_counter() - t, "numpy" in sys.modules)
"""
VW_COLD = """
import sys, time
t = time.perf_counter()
import vowpalwabbit
ws = vowpalwabbit.Workspace(f"-i {sys.argv[1]} --quiet")
ws.predict(["shared |s r_x a_3 s_f"] + [f"|a prior:-2 picked:0 regional:0 g{i}" for i in range(23)])
print(time.perf_counter() - t, "numpy" in sys.modules)
"""
NUMPY_COLD = """
import sys, time
t = time.perf_counter()
import numpy as np
x = np.linalg.cholesky(np.eye(24) * 2.0)
print(time.perf_counter() - t, "numpy" in sys.modules)
"""


def cold_start(script: str, arg: str, runs: int) -> float | None:
    """Median seconds of import, state load and first decision in a fresh interpreter."""
    times = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", script, arg], capture_output=True, text=True,
                              cwd=REPO_ROOT, check=False)  # fmt: skip
        if proc.returncode != 0:
            return None
        times.append(float(proc.stdout.split()[0]))
    return statistics.median(times)


def wheel(requirement: str) -> dict[str, Any]:
    """The Lambda platform's wheel of ``requirement`` (no dependencies): the first of
    :data:`PLATFORMS` that has one, its size as downloaded, unpacked and zipped as the asset."""
    for platform in PLATFORMS:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--disable-pip-version-check", "-d", tmp, "--platform", platform,
                   "--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:",
                   requirement]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            found = list(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or not found:
                continue
            whl = found[0]
            unpacked = Path(tmp) / "unpacked"
            with zipfile.ZipFile(whl) as z:
                z.extractall(unpacked)
            size = sum(p.stat().st_size for p in unpacked.rglob("*") if p.is_file())
            zipped = Path(shutil.make_archive(str(Path(tmp) / "re"), "zip", unpacked)).stat()
            return {"requirement": requirement, "wheel": whl.name, "platform": platform,
                    "manylinux2014": platform == PLATFORMS[0], "wheel_mb": whl.stat().st_size / 1e6,
                    "unpacked_mb": size / 1e6, "zipped_mb": zipped.st_size / 1e6}  # fmt: skip
    return {"requirement": requirement, "wheel": None}


def _own_size() -> dict[str, Any]:
    files = [REPO_ROOT / "lambdas" / "logic" / n for n in ("bandit.py", "offpolicy.py")]
    data = [f.read_bytes() for f in files]
    return {"requirement": "lambdas/logic/bandit.py + offpolicy.py (stdlib only)", "wheel": None,
            "unpacked_mb": sum(map(len, data)) / 1e6,
            "zipped_mb": sum(len(zlib.compress(d, 9)) for d in data) / 1e6}  # fmt: skip


# ---------------------------------------------------------------------------------------------


def _installed(version_of: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(version_of)
    except Exception:
        return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    world = Path(args.world) if args.world else ensure_world(args.users, args.world_seed)
    t0 = time.perf_counter()
    problem = build_problem(world, args.listeners)
    n = len(problem.rounds)
    k = statistics.fmean(len(r.stations) for r in problem.rounds)
    print(f"problem: {n} new listeners, {k:.1f} candidates each, built in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    vw_version = _installed("vowpalwabbit")
    arms: dict[str, list[Result]] = {}
    logged: tuple[Result, bd.Stats] | None = None
    tmp = Path(tempfile.mkdtemp(prefix="bandit-choice-"))
    state_file, vw_model = tmp / "state.bin", tmp / "model.vw"
    for seed in range(args.seeds):
        order = list(range(n))
        random.Random(seed).shuffle(order)
        for kind in ("fixed (the prior's ranking)", "uniform random", "oracle (the truth's best)"):
            arms.setdefault(kind, []).append(_fixed(problem, order, seed, kind))
        for policy, refresh in ((SOFTMAX, 1), (SOFTMAX, 100), (SOFTMAX, 1000), (THOMPSON, 1)):
            res, stats = _ours(problem, order, seed, policy, refresh, log=seed == 0)
            arms.setdefault(res.arm, []).append(res)
            if seed == 0 and policy is SOFTMAX and refresh == 1:
                logged = (res, stats)
                state_file.write_bytes(bd.dumps(stats))
            print(f"seed {seed} {res.arm}: {statistics.fmean(res.expected):.4f} "
                  f"({res.seconds:.0f} s)", flush=True)  # fmt: skip
        if vw_version:
            for name, vw_args in VW_ARMS.items():
                res, ws = _vw(problem, order, seed, vw_args, name)
                arms.setdefault(name, []).append(res)
                if seed == 0 and name == "VW epsilon 0.05, -q sa":
                    ws.save(str(vw_model))
                ws.finish()
                print(f"seed {seed} {name}: {statistics.fmean(res.expected):.4f} "
                      f"({res.seconds:.0f} s)", flush=True)  # fmt: skip
    window = 1000
    rows = []
    for name, results in arms.items():
        curve = [statistics.fmean(statistics.fmean(r.expected[i : i + window]) for r in results)
                 for i in range(0, n, window)]  # fmt: skip
        rows.append({
            "arm": name,
            "expected_ctr": statistics.fmean(statistics.fmean(r.expected) for r in results),
            "expected_ctr_last_2000": statistics.fmean(statistics.fmean(r.expected[-2000:])
                                                       for r in results),
            "drawn_ctr": statistics.fmean(statistics.fmean(r.clicks) for r in results),
            "seed_sd": statistics.stdev([statistics.fmean(r.expected) for r in results])
            if len(results) > 1 else 0.0,
            "ms_per_decision": 1000 * statistics.fmean(r.seconds for r in results) / n,
            "curve": curve,
        })  # fmt: skip
    assert logged is not None
    checks = ope_check(problem, *logged)
    cold = {
        "ours (stdlib)": cold_start(OURS_COLD, str(state_file), args.cold_runs),
        "numpy (import + one Cholesky)": cold_start(NUMPY_COLD, "", args.cold_runs),
        "vowpalwabbit": cold_start(VW_COLD, str(vw_model), args.cold_runs) if vw_version else None,
    }
    final = bd.loads(state_file.read_bytes())
    t = time.perf_counter()
    post = bd.posterior(MODEL, final)
    posterior_ms = 1000 * (time.perf_counter() - t)
    rng = random.Random(0)
    t = time.perf_counter()
    for r in problem.rounds[:500]:
        bd.rank(post, r.vectors, SOFTMAX, rng, slots=5, keys=r.stations)
    rank_ms = 1000 * (time.perf_counter() - t) / 500
    sizes = [_own_size()]
    if not args.no_download:
        sizes += [
            wheel(f"vowpalwabbit=={vw_version or '9.11.9'}"),
            wheel(f"numpy=={np.__version__}"),
        ]
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "command": "python -m bench.bandit_choice " + " ".join(args.argv),
        "world": repo_relative(world), "listeners": n, "seeds": args.seeds, "window": window,
        "vowpalwabbit": vw_version, "machine": machine(), "arms": rows, "ope": checks,
        "cold_start_s": cold, "sizes": sizes, "state_bytes": len(bd.dumps(final)),
        "state_actions": len(final.actions), "posterior_ms": posterior_ms, "rank5_ms": rank_ms,
    }  # fmt: skip


def table(doc: dict[str, Any]) -> str:
    """The markdown for docs."""
    m = doc["machine"]
    lines = [
        "## Bandit: which library",
        "",
        f"Command: `{doc['command']}`. {doc['listeners']:,} new listeners of `{doc['world']}`, "
        f"one station shown first each, clicks drawn from the world's click model; "
        f"{doc['seeds']} seeds (listener order and clicks). Machine: {m['cpus']} CPUs "
        f"({m['cpu']}), Python {m['python']}, {m['system']}. "
        f"VW: {doc['vowpalwabbit'] or 'absent'}.",
        "",
        "| arm | expected CTR | last 2,000 | drawn CTR | sd over seeds | ms/decision | "
        "per 1,000 decisions |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["arms"]:
        curve = " ".join(f"{100 * c:.1f}" for c in r["curve"])
        lines.append(
            f"| {r['arm']} | {100 * r['expected_ctr']:.2f} % | "
            f"{100 * r['expected_ctr_last_2000']:.2f} % | {100 * r['drawn_ctr']:.2f} % | "
            f"{100 * r['seed_sd']:.2f} | {r['ms_per_decision']:.2f} | {curve} |"
        )
    lines += [
        "",
        "| library | cold start (import, load state, first decision) | wheel for the asset | "
        "unpacked | zipped | manylinux2014 wheel |",
        "|---|---|---|---|---|---|",
    ]
    cold = doc["cold_start_s"]
    names = {"ours (stdlib)": 0, "vowpalwabbit": 1, "numpy (import + one Cholesky)": 2}
    for label, idx in names.items():
        s = doc["sizes"][idx] if idx < len(doc["sizes"]) else {}
        c = cold.get(label)
        lines.append(
            f"| {label} | {'—' if c is None else f'{1000 * c:.0f} ms'} | "
            f"{s.get('wheel') or '—'} | {s.get('unpacked_mb', 0):.2f} MB | "
            f"{s.get('zipped_mb', 0):.2f} MB | {_m2014(s)} |"
        )
    lines += ["", f"State after {doc['listeners']:,} decisions: {doc['state_bytes']:,} bytes "
              f"({doc['state_actions']} stations with their own effect); posterior from it "
              f"{doc['posterior_ms']:.0f} ms, a ranking of 5 of ~25 candidates from the "
              f"posterior {doc['rank5_ms']:.2f} ms. Off-policy check (the softmax arm's log, "
              "seed 0; 95 % bootstrap intervals):", "",
              "| target | truth | IPS | SNIPS | DR |", "|---|---|---|---|---|"]  # fmt: skip
    for row in doc["ope"]:
        cells = []
        for method in ("ips", "snips", "dr"):
            e = row[method]
            mark = "" if e["covers"] else " ✗"
            cells.append(f"{100 * e['value']:.2f} [{100 * e['low']:.2f}, {100 * e['high']:.2f}]"
                         f"{mark}")  # fmt: skip
        lines.append(f"| {row['target']} | {100 * row['truth']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _m2014(size: dict[str, Any]) -> str:
    if not size.get("wheel"):
        return "—"
    return "yes" if size.get("manylinux2014") else f"no: {size['platform']} only"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bandit_choice", description=__doc__)
    parser.add_argument("--world", help="a generated world (default: the 20,000-listener bench "
                        "world, generated once)")  # fmt: skip
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--world-seed", type=int, default=7)
    parser.add_argument("--listeners", type=int, default=None, help="new listeners (default all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--no-download", action="store_true", help="skip the wheel sizes")
    parser.add_argument("--json", type=Path, default=CACHE / "bandit-choice.json")
    parser.add_argument("--doc", type=Path, default=None, help="also write the section here")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    doc = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    body = table(doc)
    print(body)
    print(f"\nJSON: {args.json}")
    if args.doc:
        write_section(SECTION, body, args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
