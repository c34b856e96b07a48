"""What users like (their hidden genre affinity) and what they say they like (onboarding picks).

True taste is a softmax over genres of a log-preference::

    z[u, g] = base[g] + age_slope[g] * (age - 35) / 15 + kids_bump[g](age)
              + gender[g] + region_taste[region, g] + sum_k factor[u, k] * loading[k, g]
              + idiosyncratic noise
    affinity[u] = softmax(z[u] / breadth[u])

(for users who pick a single genre, recomputed after the picks with the pick's ``z`` raised: see
below). The latent factors make genres go together (whoever likes Classical also likes World, Public
Radio and International); ``breadth`` (a per-user temperature) makes some users eclectic.

Onboarding picks are drawn from the affinity without replacement (a Gumbel top-k), with
systematic slips: aspirational genres are over-picked, talk under-picked, eclectic users pick Kids
& Family and Mix & Variety, many Hip Hop fans (more of them older) pick R&B instead, and users with
one dominant genre tend to pick just that one.

A lone pick is a commitment: users who pick a single genre end up listening to it. The app has
nothing else to start them on, so its stations of that genre are where they settle, whether the
pick was their favourite already or an aspiration (a Jazz pick by a Top 40 listener). After the
picks, the lone pick's log-preference is raised to the user's highest other log-preference plus a
margin ``m ~ Normal(COMMITMENT_MARGIN, COMMITMENT_SD)`` (never lowered: a pick already ahead by more
stays as it was), and the affinity is recomputed; the truth holds the committed affinity. Three
genres are muted (no commitment, see :data:`COMMITMENT`): a lone Kids & Family pick is made for the
children, a lone Mix & Variety pick asks for variety rather than a genre, and nine in ten lone R&B
pickers are Hip Hop fans who call it R&B, so they keep playing what they already did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.world.genres import N_GENRES, g, genre_vector
from training.data.world.population import Population
from training.data.world.regions import Regions

#: Average log-preference of each genre.
BASE = genre_vector(
    {
        "Top 40 & Pop": 1.2,
        "Hip Hop": 0.9,
        "R&B": 0.0,
        "Rock": 0.6,
        "Alternative": 0.4,
        "Classic Rock": 0.4,
        "Country": 0.5,
        "Jazz": -0.5,
        "Classical": -0.6,
        "Latin": 0.0,
        "International": -0.9,
        "News & Talk": 0.1,
        "Sports": -0.3,
        "Public Radio": -0.7,
        "Oldies": -0.4,
        "Kids & Family": -1.0,
        "Mix & Variety": -0.3,
        "Electronic": 0.0,
        "Christian": -0.5,
        "World": -1.1,
    }
)
#: Change of log-preference per 15 years of age above 35 (negative: a young people's genre).
AGE_SLOPE = genre_vector(
    {
        "Top 40 & Pop": -1.2,
        "Hip Hop": -1.05,
        "R&B": -0.15,
        "Alternative": -0.75,
        "Classic Rock": 1.2,
        "Country": 0.15,
        "Jazz": 1.05,
        "Classical": 0.45,
        "International": 0.75,
        "News & Talk": 1.5,
        "Sports": 0.15,
        "Public Radio": 1.2,
        "Oldies": 1.5,
        "Mix & Variety": 0.15,
        "Electronic": -0.75,
        "Christian": 0.3,
        "World": 0.3,
    }
)
#: Kids & Family peaks among parents: height, age at the peak, width (years).
KIDS_BUMP = (1.3, 38.0, 8.0)
#: Male minus female log-preference (applied as +half for m, -half for f).
MALE = genre_vector(
    {
        "Top 40 & Pop": -0.5,
        "Hip Hop": 0.3,
        "R&B": -0.3,
        "Rock": 0.5,
        "Classic Rock": 0.5,
        "Classical": -0.15,
        "News & Talk": 0.9,
        "Sports": 1.6,
        "Kids & Family": -0.8,
        "Mix & Variety": -0.4,
        "Electronic": 0.4,
        "Christian": -0.4,
    }
)
#: Extra log-preference of users of gender x.
NONBINARY = genre_vector({"Alternative": 0.6, "Electronic": 0.4, "Top 40 & Pop": 0.2})
#: Latent taste factors (each user has a standard normal score per factor) and their loadings.
FACTORS: dict[str, dict[str, float]] = {
    "cosmopolitan": {
        "Classical": 0.9,
        "World": 0.9,
        "Public Radio": 0.7,
        "International": 0.8,
        "Jazz": 0.4,
    },
    "urban": {"Hip Hop": 0.8, "R&B": 0.6, "Electronic": 0.3, "Latin": 0.2},
    "heartland": {"Country": 0.9, "Christian": 0.6, "Classic Rock": 0.3, "Sports": 0.3},
    "guitar": {"Rock": 0.8, "Alternative": 0.6, "Classic Rock": 0.5},
    "talk": {"News & Talk": 0.8, "Sports": 0.6, "Public Radio": 0.5},
}
LOADINGS = np.stack([genre_vector(v) for v in FACTORS.values()])
#: Standard deviation of each user's own, unexplained preference per genre.
IDIOSYNCRATIC = 0.6
#: log(breadth) ~ Normal(0, BREADTH_SIGMA); affinity = softmax(z / breadth).
BREADTH_SIGMA = 0.3

#: Onboarding: how many genres users pick (1..8) before the one-genre rule below.
PICKS_PMF = np.array([0.04, 0.14, 0.20, 0.22, 0.16, 0.11, 0.08, 0.05])
#: Users whose top genre has at least this affinity tend to pick only that genre.
ONE_GENRE_THRESHOLD, ONE_GENRE_SHARE = 0.5, 0.45
#: Over- (positive) and under-picking (negative) of genres relative to what users play.
PICK_BIAS = genre_vector(
    {
        "Top 40 & Pop": -0.3,
        "Jazz": 0.7,
        "Classical": 0.8,
        "International": 0.4,
        "World": 0.6,
        "Public Radio": 0.2,
        "News & Talk": -2.0,
        "Sports": -1.3,
        "Oldies": -0.2,
        "Kids & Family": 0.3,
    }
)
#: Change of the pick bias per 15 years of age above 35: the young under-pick Top 40 & Pop (too
#: mainstream to admit) and over-pick Alternative and Electronic; the old over-pick Jazz and
#: Classical.
PICK_AGE_BIAS = genre_vector(
    {
        "Top 40 & Pop": 1.0,
        "Alternative": -1.0,
        "Electronic": -0.8,
        "Jazz": 0.8,
        "Classical": 0.8,
    }
)
#: Scale of the Gumbel noise of picks (1: picks are a sample proportional to affinity).
PICK_NOISE = 1.0
#: Eclectic users pick these more: added to the pick score times log(breadth) / BREADTH_SIGMA.
BROAD_PICKS = genre_vector({"Kids & Family": 0.9, "Mix & Variety": 1.3})
#: Hip Hop fans who pick "R&B" for it: logit of the share at age 35 and its change per 15 years.
RNB_CONFUSION_LOGIT, RNB_CONFUSION_AGE = 1.0, 0.8
#: Commitment of single-genre pickers: the lone pick's log-preference is raised to at least the
#: user's highest other one plus a margin ~ Normal(COMMITMENT_MARGIN, COMMITMENT_SD), times the
#: pick's COMMITMENT weight (0: muted, the lone pick does not hold them).
COMMITMENT_MARGIN, COMMITMENT_SD = 1.0, 0.5
COMMITMENT = genre_vector({"Kids & Family": 0.0, "Mix & Variety": 0.0, "R&B": 0.0}, default=1.0)


@dataclass(frozen=True)
class Taste:
    """The hidden taste and the onboarding answers of one block of users."""

    affinity: np.ndarray  # float64 (n, G), rows sum to 1
    breadth: np.ndarray  # float64 (n,)
    selected: np.ndarray  # bool (n, G)
    rnb_confused: np.ndarray  # bool (n,)


def log_preference(pop: Population, regions: Regions, rng: np.random.Generator) -> np.ndarray:
    """z[u, g] before the breadth temperature (see the module docstring)."""
    n = pop.n
    age = pop.age.astype(np.float64)
    t = (age - 35.0) / 15.0
    height, peak, width = KIDS_BUMP
    kids = np.zeros(N_GENRES)
    kids[g("Kids & Family")] = 1.0
    sign = np.select([pop.gender == 0, pop.gender == 1], [-0.5, 0.5], 0.0)
    z = (
        BASE[None, :]
        + t[:, None] * AGE_SLOPE[None, :]
        + (height * np.exp(-(((age - peak) / width) ** 2)))[:, None] * kids[None, :]
        + sign[:, None] * MALE[None, :]
        + (pop.gender == 2)[:, None] * NONBINARY[None, :]
        + regions.taste[pop.region]
    )
    factors = rng.standard_normal((n, len(FACTORS)))
    z += factors @ LOADINGS
    z += rng.normal(0.0, IDIOSYNCRATIC, size=(n, N_GENRES))
    return z


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def draw_taste(pop: Population, regions: Regions, rng: np.random.Generator) -> Taste:
    """Hidden affinities and onboarding picks of a block of users."""
    n = pop.n
    z = log_preference(pop, regions, rng)
    log_breadth = rng.normal(0.0, BREADTH_SIGMA, size=n)
    breadth = np.exp(log_breadth)
    affinity = softmax(z / breadth[:, None])
    selected, confused = draw_selections(pop, affinity, log_breadth, rng)
    committed = commit_lone_picks(z, selected, rng)
    if committed.any():
        affinity[committed] = softmax(z[committed] / breadth[committed, None])
    return Taste(affinity=affinity, breadth=breadth, selected=selected, rnb_confused=confused)


def draw_selections(
    pop: Population, affinity: np.ndarray, log_breadth: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Onboarding picks (bool (n, G)) and who mistook Hip Hop for R&B."""
    n = pop.n
    log_aff = np.log(affinity)
    t = (pop.age - 35.0) / 15.0
    gumbel = rng.gumbel(size=(n, N_GENRES))
    score = log_aff + PICK_BIAS[None, :] + t[:, None] * PICK_AGE_BIAS[None, :] + PICK_NOISE * gumbel
    score += (log_breadth / BREADTH_SIGMA)[:, None] * BROAD_PICKS[None, :]

    p_confused = 1.0 / (1.0 + np.exp(-(RNB_CONFUSION_LOGIT + RNB_CONFUSION_AGE * t)))
    confused = rng.random(n) < p_confused
    hh, rnb = g("Hip Hop"), g("R&B")
    hiphop_as_rnb = log_aff[:, hh] + PICK_BIAS[rnb] + PICK_NOISE * rng.gumbel(size=n)
    score[:, rnb] = np.where(confused, np.maximum(score[:, rnb], hiphop_as_rnb), score[:, rnb])
    score[:, hh] = np.where(confused, score[:, hh] - 2.0, score[:, hh])

    k = rng.choice(np.arange(1, len(PICKS_PMF) + 1), size=n, p=PICKS_PMF)
    concentrated = affinity.max(axis=1) >= ONE_GENRE_THRESHOLD
    one = concentrated & (rng.random(n) < ONE_GENRE_SHARE)
    k = np.where(one, 1, k)
    # One-genre pickers pick what they play most, with little noise and no slips.
    one_score = log_aff + 0.3 * gumbel
    score = np.where(one[:, None], one_score, score)

    order = np.argsort(-score, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(N_GENRES)[None, :].repeat(n, axis=0), axis=1)
    selected = ranks < k[:, None]
    return selected, confused


def commit_lone_picks(z: np.ndarray, selected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Raise, in place, the lone pick's log-preference of single-genre pickers; who was raised.

    ``z[u, pick] = max(z[u, pick], max of z[u, other genres] + COMMITMENT[pick] * m[u])`` with
    ``m ~ Normal(COMMITMENT_MARGIN, COMMITMENT_SD)`` (drawn for every user, so the stream does not
    depend on who picked one genre).
    """
    n = len(z)
    margin = rng.normal(COMMITMENT_MARGIN, COMMITMENT_SD, size=n)
    pick = selected.argmax(axis=1)
    weight = COMMITMENT[pick]
    lone = (selected.sum(axis=1) == 1) & (weight > 0)
    rows = np.flatnonzero(lone)
    others = z[rows].copy()
    others[np.arange(len(rows)), pick[rows]] = -np.inf
    target = others.max(axis=1) + weight[rows] * margin[rows]
    raised = target > z[rows, pick[rows]]
    z[rows[raised], pick[rows[raised]]] = target[raised]
    out = np.zeros(n, dtype=bool)
    out[rows[raised]] = True
    return out


def selected_lists(selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened genre indices of the picks (row-major, genre order) and list offsets."""
    counts = selected.sum(axis=1)
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    flat = np.nonzero(selected)[1].astype(np.int32)
    return flat, offsets
