"""Who the users are: signup time, age, gender, region and how much they listen.

Everything here is drawn per block of users from the block's own random stream. User ids grow
with signup time (``signup`` is monotone in the global user index), as on a real service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.world.config import WorldConfig
from training.data.world.regions import COUNTRIES, Regions

DAY_MS = 86_400_000

#: Signups per day grow linearly over the signup period, to this multiple of the first day's.
SIGNUP_GROWTH = 2.0
#: Gender shares (f, m, x) and the share of users who leave gender or age blank.
GENDER_SHARES = (0.49, 0.48, 0.03)
GENDER_BLANK = 0.03
AGE_BLANK = 0.10
#: Ages: 13 + Gamma(shape, scale), shifted per country (younger in Brazil and Mexico).
AGE_SHAPE, AGE_SCALE = 2.2, 9.0
AGE_SHIFT = {"br": -3.0, "mx": -3.0, "de": 4.0, "gb": 1.0}
#: Listening sessions per day: log-normal (heavy-tailed), younger users listen a bit more.
SESSIONS_MEDIAN, SESSIONS_SIGMA = 0.22, 0.9


@dataclass(frozen=True)
class Population:
    """The users of one block, index-aligned arrays."""

    index: np.ndarray  # int64 global user index
    signup_ms: np.ndarray  # int64 epoch milliseconds
    age: np.ndarray  # int64 true age
    age_known: np.ndarray  # bool: answered the age question
    gender: np.ndarray  # int64 0 f, 1 m, 2 x (true)
    gender_known: np.ndarray  # bool
    region: np.ndarray  # int64 index into Regions
    sessions_per_day: np.ndarray  # float64
    active_days: np.ndarray  # float64 days of listening (less than ``days`` if quiet)
    quiet: np.ndarray  # bool: stops listening before the end of the window

    @property
    def n(self) -> int:
        return len(self.index)


def signup_fraction(q: np.ndarray) -> np.ndarray:
    """Inverse CDF of the signup density (linear growth): quantile -> fraction of the period."""
    a = SIGNUP_GROWTH - 1.0
    if a == 0:
        return q
    return (np.sqrt(1.0 + a * (2.0 + a) * q) - 1.0) / a


def draw_population(
    config: WorldConfig, regions: Regions, lo: int, hi: int, rng: np.random.Generator
) -> Population:
    """The users with global indices ``[lo, hi)``."""
    n = hi - lo
    index = np.arange(lo, hi, dtype=np.int64)
    q = (index + rng.random(n)) / config.users
    period_ms = config.signup_days * DAY_MS
    signup_ms = config.start_ms + np.floor(signup_fraction(q) * period_ms).astype(np.int64)

    region = rng.choice(regions.n, size=n, p=regions.weight)
    shift = np.array([AGE_SHIFT.get(c[0], 0.0) for c in COUNTRIES])[regions.country[region]]
    age_f = 13.0 + rng.gamma(AGE_SHAPE, AGE_SCALE, size=n) + shift
    age = np.clip(np.rint(age_f), 13, 90).astype(np.int64)
    age_known = rng.random(n) >= AGE_BLANK

    gender = rng.choice(3, size=n, p=GENDER_SHARES)
    gender_known = rng.random(n) >= GENDER_BLANK

    youth = (35.0 - age) / 15.0
    sessions_per_day = SESSIONS_MEDIAN * np.exp(
        rng.normal(0.0, SESSIONS_SIGMA, size=n) + 0.15 * youth
    )
    quiet = rng.random(n) < config.quiet_share
    # Going quiet is likelier early: between 2 % and 95 % of the window, skewed to the start.
    quiet_day = config.days * (0.02 + 0.93 * rng.random(n) ** 1.5)
    active_days = np.where(quiet, quiet_day, float(config.days))
    return Population(
        index=index,
        signup_ms=signup_ms,
        age=age,
        age_known=age_known,
        gender=gender,
        gender_known=gender_known,
        region=region,
        sessions_per_day=sessions_per_day,
        active_days=active_days,
        quiet=quiet,
    )
