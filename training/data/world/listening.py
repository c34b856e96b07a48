"""What users play: sessions of related songs, with skips, likes and artist follows.

Per user: about ``sessions_per_day`` sessions a day while active (the first one right after
signup), until they go quiet. A session is one genre, drawn from the user's affinity except in the
first days, when the app still pushes the onboarding picks (a pull that fades with a time constant
of a few days, so the second month reflects true taste). Single-genre pickers stay with their lone
pick for good because their true taste already holds it (the commitment of
:func:`training.data.world.taste.commit_lone_picks`), not through a pull of their own here.
Each song of a session is by the previous song's artist with probability ``SAME_ARTIST``;
otherwise a new artist of the genre, drawn by popularity, local acts of the user's region boosted
``LOCAL_BOOST``-fold against local acts of other regions and national acts of the user's country
``NATIONAL_BOOST``-fold. Within the artist, songs are drawn by their weight (a few hits). A song is
skipped more when the user cares less for its genre and the song's appeal is low; played songs are
sometimes liked, and likes sometimes lead to following the artist. Everything is drawn with numpy
over whole blocks of users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.world.catalogue import Catalogue
from training.data.world.genres import N_GENRES
from training.data.world.population import DAY_MS, Population
from training.data.world.regions import Regions
from training.data.world.sampling import GroupedSampler
from training.data.world.taste import Taste, selected_lists

PLAY, SKIP, LIKE = 0, 1, 2

#: Share of users whose first session starts right after signup (minutes later).
PLAYS_AT_ONCE = 0.92
#: Songs per session: geometric with this mean.
SESSION_SONGS = 4.0
#: Pause between two sessions of a user, at least.
SESSION_GAP_MS = 60_000
#: Chance that the next song of a session is by the same artist.
SAME_ARTIST = 0.45
#: Artist weights: popularity x LOCAL_BOOST for local acts of the user's region, x ELSEWHERE for
#: local acts of other regions, x NATIONAL_BOOST for national acts of the user's country, x 1 for
#: other national acts.
LOCAL_BOOST, ELSEWHERE, NATIONAL_BOOST = 10.0, 0.25, 2.0
#: Onboarding pull: chance that a session plays a picked genre, ONBOARDING_PULL * exp(-day / DAYS).
ONBOARDING_PULL, ONBOARDING_DAYS = 0.5, 5.0
#: Skip: logit = SKIP_BASE - SKIP_AFFINITY * log(G * affinity) - SKIP_APPEAL * song appeal.
SKIP_BASE, SKIP_AFFINITY, SKIP_APPEAL = -0.9, 0.5, 0.5
#: Like (of a played song): logit = LIKE_BASE + LIKE_AFFINITY * log(G * aff) + LIKE_APPEAL * appeal.
LIKE_BASE, LIKE_AFFINITY, LIKE_APPEAL = -4.2, 0.5, 0.8
#: Chance that a like makes the user follow the artist (once per user and artist).
FOLLOW_PER_LIKE = 0.4


@dataclass(frozen=True)
class Listening:
    """Interaction rows (sorted by user, then time) and follows of one block of users."""

    user: np.ndarray  # int64 index within the block
    song: np.ndarray  # int64
    ts_ms: np.ndarray  # int64
    event: np.ndarray  # int8: PLAY, SKIP, LIKE
    follow_user: np.ndarray  # int64 index within the block
    follow_artist: np.ndarray  # int64
    follow_ts_ms: np.ndarray  # int64


class ArtistChooser:
    """Draws artists of a genre for users of a region (a mixture of three grouped samplers)."""

    def __init__(self, catalogue: Catalogue, regions: Regions) -> None:
        c = catalogue
        national = c.artist_national
        base = c.artist_popularity * np.where(national, 1.0, ELSEWHERE)
        self.everyone = GroupedSampler.build(c.artist_genre, base, N_GENRES)
        reg = np.flatnonzero(~national)
        self.local = GroupedSampler.build(
            c.artist_region[reg] * N_GENRES + c.artist_genre[reg],
            c.artist_popularity[reg] * (LOCAL_BOOST - ELSEWHERE),
            regions.n * N_GENRES,
        )
        self.local_ids = reg
        nat = np.flatnonzero(national)
        self.national = GroupedSampler.build(
            c.artist_country[nat] * N_GENRES + c.artist_genre[nat],
            c.artist_popularity[nat] * (NATIONAL_BOOST - 1.0),
            regions.n_countries * N_GENRES,
        )
        self.national_ids = nat
        self.country = regions.country

    def draw(self, genre: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One artist per (genre, user region) pair."""
        local_key = region * N_GENRES + genre
        national_key = self.country[region] * N_GENRES + genre
        t_all = self.everyone.totals[genre]
        t_local = self.local.totals[local_key]
        t_national = self.national.totals[national_key]
        pick = rng.random(len(genre)) * (t_all + t_local + t_national)
        u = rng.random(len(genre))
        artist = self.everyone.draw(genre, u)
        is_local = (pick >= t_all) & (pick < t_all + t_local)
        is_national = pick >= t_all + t_local
        if is_local.any():
            artist[is_local] = self.local_ids[self.local.draw(local_key[is_local], u[is_local])]
        if is_national.any():
            artist[is_national] = self.national_ids[
                self.national.draw(national_key[is_national], u[is_national])
            ]
        return artist


def _logistic(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _session_starts(
    pop: Population, n_sessions: np.ndarray, at_once: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Offsets (ms after signup) of each user's sessions, sorted per user."""
    sess_user = np.repeat(np.arange(pop.n), n_sessions)
    span = (pop.active_days * DAY_MS)[sess_user]
    offset = np.floor(rng.random(len(sess_user)) * span).astype(np.int64)
    first = np.zeros(pop.n + 1, dtype=np.int64)
    np.cumsum(n_sessions, out=first[1:])
    starts_now = first[:-1][at_once & (n_sessions > 0)]
    offset[starts_now] = rng.integers(5_000, 900_000, size=len(starts_now))
    # Sort within users: users are contiguous, offsets < 2**40.
    key = np.sort((sess_user << 40) + offset)
    sorted_offset: np.ndarray = key - (sess_user << 40)
    return sorted_offset


def _without_overlaps(user: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Push sessions later so that each starts after the previous one of its user ended.

    ``start'[k] = max(start[k], start'[k-1] + length[k-1])`` within each user, in closed form:
    with ``S`` the exclusive running sum of lengths, ``start' = S + running max of (start - S)``.
    """
    if len(user) == 0:
        return start
    cum = np.cumsum(length)
    first = np.ones(len(user), dtype=bool)
    first[1:] = user[1:] != user[:-1]
    group_base = (cum - length)[first][np.cumsum(first) - 1]
    s = cum - length - group_base
    shift = 1 << 45  # larger than any |start - S|, keeps users apart in the running max
    running = np.maximum.accumulate(start - s + user * shift) - user * shift
    out: np.ndarray = s + running
    return out


def simulate_listening(
    pop: Population,
    taste: Taste,
    catalogue: Catalogue,
    artists: ArtistChooser,
    song_sampler: GroupedSampler,
    rng: np.random.Generator,
) -> Listening:
    """Sessions, plays, skips, likes and follows of one block of users."""
    n = pop.n
    # Sessions per user.
    at_once = rng.random(n) < PLAYS_AT_ONCE
    n_sessions = rng.poisson(pop.sessions_per_day * pop.active_days) + at_once
    sess_user = np.repeat(np.arange(n), n_sessions)
    sess_offset = _session_starts(pop, n_sessions, at_once, rng)
    n_sess = len(sess_user)

    # Session genre: onboarding picks early on, true affinity otherwise.
    cum_aff = np.cumsum(taste.affinity, axis=1)
    sess_genre = (rng.random(n_sess)[:, None] > cum_aff[sess_user]).sum(axis=1)
    sess_genre = np.minimum(sess_genre, N_GENRES - 1)
    flat, offsets = selected_lists(taste.selected)
    picks = offsets[1:] - offsets[:-1]
    day = sess_offset / DAY_MS
    pulled = rng.random(n_sess) < ONBOARDING_PULL * np.exp(-day / ONBOARDING_DAYS)
    which = offsets[sess_user] + np.floor(rng.random(n_sess) * picks[sess_user]).astype(np.int64)
    sess_genre = np.where(pulled, flat[which], sess_genre).astype(np.int64)

    # Songs per session, and one row per song.
    sess_len = rng.geometric(1.0 / SESSION_SONGS, size=n_sess)
    row_sess = np.repeat(np.arange(n_sess), sess_len)
    n_rows = len(row_sess)
    sess_first = np.zeros(n_sess, dtype=np.int64)
    np.cumsum(sess_len[:-1], out=sess_first[1:])
    position = np.arange(n_rows) - sess_first[row_sess]
    row_user = sess_user[row_sess]
    row_genre = sess_genre[row_sess]

    # Artists: fresh draws, then "same artist as before" carried forward within the session.
    fresh = artists.draw(row_genre, pop.region[row_user], rng)
    keep = (position > 0) & (rng.random(n_rows) < SAME_ARTIST)
    source = np.where(keep, 0, np.arange(n_rows))
    np.maximum.accumulate(source, out=source)
    row_artist = fresh[source]
    row_song = song_sampler.draw(row_artist, rng.random(n_rows))

    # Skips and likes.
    aff = taste.affinity[row_user, row_genre]
    appeal = catalogue.song_appeal[row_song]
    log_aff = np.log(N_GENRES * aff)
    p_skip = _logistic(SKIP_BASE - SKIP_AFFINITY * log_aff - SKIP_APPEAL * appeal)
    skipped = rng.random(n_rows) < p_skip
    p_like = _logistic(LIKE_BASE + LIKE_AFFINITY * log_aff + LIKE_APPEAL * appeal)
    liked = ~skipped & (rng.random(n_rows) < p_like)

    # Time: songs follow each other within a session; sessions never overlap.
    duration_ms = np.where(
        skipped,
        rng.integers(5_000, 40_000, size=n_rows),
        catalogue.song_duration_s[row_song] * 1000,
    )
    cum = np.cumsum(duration_ms)
    sess_total = np.add.reduceat(duration_ms, sess_first) if n_rows else np.zeros(0, np.int64)
    within = cum - duration_ms - (cum[sess_first] - duration_ms[sess_first])[row_sess]
    start = _without_overlaps(sess_user, sess_offset, sess_total + SESSION_GAP_MS)
    ts = pop.signup_ms[row_user] + start[row_sess] + within

    # Rows: each song once (play or skip), a like right after its play when liked.
    reps = 1 + liked.astype(np.int64)
    out_row = np.repeat(np.arange(n_rows), reps)
    is_like = np.zeros(len(out_row), dtype=bool)
    like_rows = np.cumsum(reps) - 1
    is_like[like_rows[liked]] = True
    event = np.where(is_like, LIKE, np.where(skipped[out_row], SKIP, PLAY)).astype(np.int8)
    like_delay = (duration_ms[out_row] * 0.9).astype(np.int64)
    out_ts = ts[out_row] + np.where(is_like, like_delay, 0)

    # Follows: some likes lead to following the artist, once per user and artist.
    follows = liked & (rng.random(n_rows) < FOLLOW_PER_LIKE)
    f_user, f_artist, f_ts = row_user[follows], row_artist[follows], ts[follows]
    key = f_user * catalogue.n_artists + f_artist
    order = np.lexsort((f_ts, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    chosen = order[first]
    chosen = chosen[np.lexsort((f_ts[chosen], f_user[chosen]))]
    return Listening(
        user=row_user[out_row],
        song=row_song[out_row],
        ts_ms=out_ts,
        event=event,
        follow_user=f_user[chosen],
        follow_artist=f_artist[chosen],
        follow_ts_ms=f_ts[chosen] + duration_ms[follows][chosen],
    )
