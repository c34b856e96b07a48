"""Is there a hit@3 to win over global popularity? ``python -m bench.onboarding_headroom
[--movielens PATH] [--world DIR | --users N] [--folds 5] [--repeats 3] [--no-write]``.

Cross-validation over the **training users** of the default split only: the test users of
``python -m training.model.train`` are never read, so what is learnt here cannot leak into the
figures the gate reports. ``--folds``-fold cross-validation, repeated with ``--repeats`` seeds;
every candidate ranks all genres for each held-out user, a user's hit@1 and hit@3 are averaged
over the repeats, and each candidate is compared with global popularity by a 95 % paired
bootstrap over the users.

Candidates (each fitted on the fold's training users alone):

- ``global popularity`` and ``the rule`` (:mod:`training.model.baselines`);
- ``lightgbm``: the production model's defaults (:data:`training.model.lgbm.DEFAULT_PARAMS`,
  early stopping on a seeded 10 % of the fold's training users), without the search;
- ``lightgbm, less regularised``: ``min_data_in_leaf`` 20, ``lambda_l2`` 1;
- ``lightgbm + selection places``: one more column per genre, its place in the selection list;
- ``pairwise lightgbm``: one binary model over (user, genre) rows, so the effect of selecting a
  genre, and of its place, is learnt once for every genre instead of once per class;
- ``logistic``: the pipeline's logistic regression.

Prints a table and, unless ``--no-write``, writes the ``onboarding-headroom`` section of
docs/model.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pyarrow as pa

from bench.common import DEFAULT_SEED, ML100K, ensure_world
from bench.report import REPO_ROOT, machine, repo_relative, write_section
from training.data.datasets.movielens import import_movielens
from training.model import baselines, evaluation, lgbm, logistic, stages
from training.model.features import NUMERIC, FeatureBlock, FeatureSpec
from training.model.hyperparams import Hyperparameters

SECTION = "onboarding-headroom"
DOC = REPO_ROOT / "docs" / "model.md"
#: The reference every candidate is compared with: the best constant ranking for hit@k.
REFERENCE = "global popularity"

#: A candidate: (fitting positions, held-out positions) -> scores (held-out users, genres).
Rank = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Users:
    """The training users of the default split, encoded as the pipeline encodes them."""

    spec: FeatureSpec
    x: np.ndarray  # features, one row per training user
    y: np.ndarray  # label (genre code)
    places: np.ndarray  # (users, genres): place of the genre in the selection list, 0 = not chosen
    n_genres: int
    n_test_left_out: int  # the split's test users, never read here


@dataclass(frozen=True)
class Outcome:
    """One candidate's per-user hits (averaged over the repeats) and how often its top three
    was global popularity's."""

    name: str
    hit1: np.ndarray
    hit3: np.ndarray
    same_top3: float


def selection_places(lists: Sequence[Sequence[str] | None], genres: Sequence[str]) -> np.ndarray:
    """(users, genres) the 1-based place of each genre in a user's selection list, 0 when the
    user did not select it (a genre listed twice keeps its first place)."""
    index = {genre: i for i, genre in enumerate(genres)}
    places = np.zeros((len(lists), len(genres)), dtype=np.float32)
    for row, chosen in enumerate(lists):
        for place, genre in enumerate(chosen or (), start=1):
            column = index.get(genre)
            if column is not None and places[row, column] == 0:
                places[row, column] = place
    return places


def training_users(data_dir: Path, hp: Hyperparameters) -> Users:
    """Label, split and encode ``data_dir`` as ``training.model.train`` does; keep only the
    training users (fitting and validation)."""
    source = stages.read_source(data_dir)
    labelled = stages.label_users(data_dir, source, hp, progress=False)
    split = stages.split_users(source, labelled.labels, hp)
    data = stages.encode_users(source, labelled.labels, split, hp)
    train = np.sort(data.train_positions)
    lists = data.users.take(pa.array(train)).column("selected_genres").to_pylist()
    return Users(
        spec=data.spec,
        x=data.x[train],
        y=data.y[train],
        places=selection_places(lists, source.genres),
        n_genres=data.n_genres,
        n_test_left_out=len(split.test),
    )


# --- the candidates ----------------------------------------------------------------------------


def _popularity(users: Users, fit: np.ndarray) -> np.ndarray:
    plays = np.zeros(users.n_genres)  # ties: a fold has no window plays here, only labels
    return baselines.genre_popularity(users.y[fit], plays, users.n_genres)


def _lgbm(users: Users, params: dict[str, float], x: np.ndarray | None = None) -> Rank:
    matrix = users.x if x is None else x
    spec = users.spec if x is None else _with_places(users.spec, users.n_genres)

    def rank(fit: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(len(fit))
        valid = np.zeros(len(fit), dtype=bool)
        valid[rng.choice(len(fit), size=max(1, len(fit) // 10), replace=False)] = True
        model = lgbm.fit_lgbm(
            spec,
            matrix[fit[~valid]],
            users.y[fit[~valid]],
            matrix[fit[valid]],
            users.y[fit[valid]],
            users.n_genres,
            params={**params, "num_threads": 1},
            progress=False,
        )
        return model.raw_scores(matrix[held_out])

    return rank


def _with_places(spec: FeatureSpec, n_genres: int) -> FeatureSpec:
    """The spec's columns plus one numeric column per genre (its place), for LightGBM's names."""
    extra = tuple(FeatureBlock(f"place_{i}", NUMERIC) for i in range(n_genres))
    return dataclasses.replace(spec, blocks=spec.blocks + extra)


def _pairwise(users: Users, rounds: int = 100) -> Rank:
    """One binary LightGBM over (user, genre) rows: the user's answers (without the multi-hot),
    the genre, whether it was selected and its place, and its popularity in the fold."""
    genre_columns = set(stages._genre_columns(users.spec))
    answers = [c for c in range(users.x.shape[1]) if c not in genre_columns]
    categorical = [i for i, c in enumerate(answers) if c in set(users.spec.categorical_columns)]
    g = users.n_genres

    def rows(positions: np.ndarray, prior: np.ndarray) -> np.ndarray:
        n = len(positions)
        return np.hstack(
            [
                np.repeat(users.x[positions][:, answers], g, axis=0),
                np.tile(np.arange(g, dtype=np.float32), n)[:, None],
                (users.places[positions] > 0).reshape(-1, 1),
                users.places[positions].reshape(-1, 1),
                np.tile(np.log(prior), n)[:, None],
            ]
        ).astype(np.float32)

    def rank(fit: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        prior = (np.bincount(users.y[fit], minlength=g) + 1.0) / (len(fit) + g)
        target = (np.arange(g)[None, :] == users.y[fit][:, None]).reshape(-1)
        params = {
            **lgbm.DEFAULT_PARAMS,
            "objective": "binary",
            "learning_rate": 0.05,
            "min_data_in_leaf": 50,
            "num_threads": 1,
            "seed": DEFAULT_SEED,
            "verbose": -1,
        }
        train_set = lgb.Dataset(
            rows(fit, prior),
            target.astype(np.float32),
            categorical_feature=[*categorical, len(answers)],
        )
        booster = lgb.train(params, train_set, num_boost_round=rounds)
        return np.asarray(booster.predict(rows(held_out, prior), raw_score=True)).reshape(-1, g)

    return rank


def candidates(users: Users) -> dict[str, Rank]:
    """Every candidate, by the name the table shows."""

    def popular(fit: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        return baselines.global_popular_scores(_popularity(users, fit), len(held_out))

    def rule(fit: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        return baselines.rule_scores(users.places[held_out] > 0, _popularity(users, fit))

    def logistic_regression(fit: np.ndarray, held_out: np.ndarray) -> np.ndarray:
        model = logistic.fit_logistic(users.spec, users.x[fit], users.y[fit], users.n_genres)
        return model.scores(users.x[held_out])

    with_places = np.hstack([users.x, users.places])
    return {
        REFERENCE: popular,
        "the rule": rule,
        "lightgbm (defaults)": _lgbm(users, {}),
        "lightgbm, less regularised": _lgbm(users, {"min_data_in_leaf": 20, "lambda_l2": 1.0}),
        "lightgbm + selection places": _lgbm(users, {}, with_places),
        "pairwise lightgbm": _pairwise(users),
        "logistic": logistic_regression,
    }


# --- cross-validation --------------------------------------------------------------------------


def folds(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (fitting, held-out) pairs of positions: a seeded permutation dealt into k parts."""
    order = np.random.default_rng(seed).permutation(n)
    parts = [np.sort(order[i::k]) for i in range(k)]
    return [(np.setdiff1d(np.arange(n), part), part) for part in parts]


def cross_validate(users: Users, k: int, repeats: int, seed: int) -> list[Outcome]:
    """Every candidate's per-user hits over ``repeats`` seeded k-fold cross-validations."""
    n = len(users.y)
    ranks = candidates(users)
    hit1 = {name: np.zeros(n) for name in ranks}
    hit3 = {name: np.zeros(n) for name in ranks}
    same = dict.fromkeys(ranks, 0.0)
    for r in range(repeats):
        for fit, held_out in folds(n, k, seed + r):
            popularity = _popularity(users, fit)
            for name, rank in ranks.items():
                scores = rank(fit, held_out)
                place = evaluation.true_ranks(scores, users.y[held_out])
                hit1[name][held_out] += place <= 1
                hit3[name][held_out] += place <= 3
                same[name] += evaluation.top_k_same_share(scores, popularity) * len(held_out)
    return [
        Outcome(name, hit1[name] / repeats, hit3[name] / repeats, same[name] / (n * repeats))
        for name in ranks
    ]


def difference(outcome: Outcome, reference: Outcome, metric: str, seed: int) -> tuple[float, ...]:
    """Mean difference with ``reference`` and its 95 % paired bootstrap interval."""
    a, b = (getattr(o, metric) for o in (outcome, reference))
    samples = evaluation.bootstrap_means((a - b)[:, None], n_boot=1000, seed=seed)[:, 0]
    return float((a - b).mean()), *map(float, np.percentile(samples, [2.5, 97.5]))


# --- report ------------------------------------------------------------------------------------


def table(outcomes: Sequence[Outcome], seed: int) -> list[str]:
    """The markdown table: hit@1, hit@3, both differences with global popularity, top-3 overlap."""
    reference = next(o for o in outcomes if o.name == REFERENCE)
    lines = [
        "| candidate | hit@1 | vs global (95 % CI) | hit@3 | vs global (95 % CI) "
        "| top 3 = global's |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        cells = []
        for metric in ("hit1", "hit3"):
            mean = getattr(o, metric).mean()
            if o is reference:
                cells += [f"{mean:.4f}", ""]
                continue
            diff, low, high = difference(o, reference, metric, seed)
            cells += [f"{mean:.4f}", f"{diff:+.4f} ({low:+.4f} to {high:+.4f})"]
        lines.append(f"| {o.name} | {' | '.join(cells)} | {o.same_top3:.0%} |")
    return lines


def markdown(
    results: Sequence[tuple[str, Users, list[Outcome]]], command: str, k: int, repeats: int
) -> str:
    """The ``onboarding-headroom`` section: one table per data set."""
    info = machine()
    parts = [
        f"Command: `{command}`; {dt.date.today().isoformat()}, {info['cpu']}, {info['memory']}.",
        f"{k}-fold cross-validation over the training users of the time split, {repeats} "
        "seeds; each user's hits averaged over the seeds; 95 % paired bootstrap intervals over "
        "the users. The split's test users are not read.",
    ]
    for name, users, outcomes in results:
        parts += [
            "",
            f"**{name}**: {len(users.y):,} training users ({users.n_test_left_out:,} test users "
            "left out), "
            f"{users.n_genres} genres.",
            "",
            *table(outcomes, DEFAULT_SEED),
        ]
    return "\n".join(parts)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.onboarding_headroom", description=__doc__
    )
    parser.add_argument("--movielens", type=Path, default=ML100K, help="raw MovieLens 100K")
    parser.add_argument("--no-movielens", action="store_true")
    parser.add_argument("--world", type=Path, help="a world directory instead of the bench's")
    parser.add_argument("--users", type=int, default=20_000, help="the bench world's listeners")
    parser.add_argument("--no-world", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--doc", type=Path, default=DOC)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    hp = Hyperparameters()
    if not args.no_movielens and not (args.movielens / "u.data").is_file():
        print(f"error: MovieLens 100K not found at {args.movielens}", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="onboarding-headroom-") as work:
        sets: list[tuple[str, Path]] = []
        if not args.no_movielens:
            import_movielens(args.movielens, Path(work) / "ml-100k")
            sets.append(("MovieLens 100K", Path(work) / "ml-100k"))
        if not args.no_world:
            world = args.world or ensure_world(args.users)
            sets.append((f"Synthetic world ({repo_relative(world)})", world))
        for name, data_dir in sets:
            started = time.perf_counter()
            users = training_users(data_dir, hp)
            outcomes = cross_validate(users, args.folds, args.repeats, args.seed)
            print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
            results.append((name, users, outcomes))
    command = "python -m bench.onboarding_headroom " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = markdown(results, command.strip(), args.folds, args.repeats)
    print(text)
    if not args.no_write:
        write_section(SECTION, text, args.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
