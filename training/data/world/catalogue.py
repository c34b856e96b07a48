"""The catalogue: artists, albums and songs, with power-law popularity.

Artists are either *regional* (a local act of one region: ``artists.region`` is the region's code,
e.g. ``us-tx``) or *national* (known country-wide: ``artists.region`` is the bare country code,
e.g. ``us``; never null). A regional artist's genre follows its region's taste, a national one's
its country's. Popularity is Pareto-distributed (national acts twice as popular on
average); songs per artist grow with popularity; within an artist a few songs are the hits.
Songs inherit their artist's genre. Talk genres' "songs" are episodes of shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.world.config import WorldConfig
from training.data.world.genres import N_GENRES, g
from training.data.world.regions import Regions
from training.data.world.rng import CATALOGUE, stream
from training.data.world.taste import BASE, softmax

#: Share of artists that are national acts (the rest are local to one region).
NATIONAL_SHARE = 0.4
#: Pareto tail index of artist popularity (smaller: heavier tail) and national acts' multiplier.
POPULARITY_ALPHA = 1.2
NATIONAL_POPULARITY = 2.0
#: Within an artist, the song of rank r (0 = the hit) has weight (r + 1) ** -SONG_RANK_DECAY.
SONG_RANK_DECAY = 1.0
#: Catalogue facts.
UNAVAILABLE_SHARE = 0.035
UNTITLED_SHARE = 0.002
SINGLE_SHARE = 0.12
TALK_GENRES = ("News & Talk", "Sports", "Public Radio")


@dataclass(frozen=True)
class Catalogue:
    """Artists, albums and songs, index-aligned arrays. Songs are sorted by artist."""

    artist_genre: np.ndarray  # int64
    artist_region: np.ndarray  # int64 region index, -1 for national acts
    artist_country: np.ndarray  # int64 country index
    artist_popularity: np.ndarray  # float64: relative chance of being picked in its genre
    artist_appeal: np.ndarray  # float64, standardised-ish
    album_artist: np.ndarray  # int64
    song_artist: np.ndarray  # int64
    song_album: np.ndarray  # int64, -1 for singles
    song_weight: np.ndarray  # float64: relative chance among its artist's songs
    song_popularity: np.ndarray  # float64: artist popularity x share within the artist
    song_appeal: np.ndarray  # float64
    song_duration_s: np.ndarray  # int64 seconds
    song_available: np.ndarray  # bool
    song_titled: np.ndarray  # bool

    @property
    def n_artists(self) -> int:
        return len(self.artist_genre)

    @property
    def n_songs(self) -> int:
        return len(self.song_artist)

    @property
    def n_albums(self) -> int:
        return len(self.album_artist)

    @property
    def song_genre(self) -> np.ndarray:
        genre: np.ndarray = self.artist_genre[self.song_artist]
        return genre

    @property
    def artist_national(self) -> np.ndarray:
        national: np.ndarray = self.artist_region < 0
        return national


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    out: np.ndarray = (x - x.mean()) / (sd if sd > 0 else 1.0)
    return out


def _exact_share(rng: np.random.Generator, n: int, share: float, at_least: int) -> np.ndarray:
    """A bool mask with exactly ``max(at_least, round(share * n))`` random True entries."""
    k = min(n, max(at_least, round(share * n)))
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def _artists(
    n: int, regions: Regions, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Genre, region (-1: national), country and popularity of ``n`` artists."""
    n_national = max(2 * N_GENRES, round(NATIONAL_SHARE * n))
    n_regional = n - n_national
    country_weight = np.bincount(regions.country, weights=regions.weight)
    country_taste = np.stack(
        [
            np.average(
                regions.taste[regions.country == c],
                axis=0,
                weights=regions.weight[regions.country == c],
            )
            for c in range(regions.n_countries)
        ]
    )

    # National acts: the first 2G cover every genre twice, the rest follow national taste.
    nat_country = rng.choice(regions.n_countries, size=n_national, p=country_weight)
    nat_p = 0.8 * softmax(BASE[None, :] + country_taste) + 0.2 / N_GENRES
    nat_genre = (rng.random(n_national)[:, None] > np.cumsum(nat_p[nat_country], axis=1)).sum(1)
    nat_genre[: 2 * N_GENRES] = np.arange(2 * N_GENRES) % N_GENRES

    # Local acts: every region gets one before the rest go by (dampened) population.
    region_p = regions.weight**0.6
    region_p /= region_p.sum()
    reg_region = rng.choice(regions.n, size=n_regional, p=region_p)
    head = min(n_regional, regions.n)
    reg_region[:head] = rng.permutation(regions.n)[:head]
    reg_p = 0.8 * softmax(BASE[None, :] + regions.taste) + 0.2 / N_GENRES
    reg_genre = (rng.random(n_regional)[:, None] > np.cumsum(reg_p[reg_region], axis=1)).sum(1)

    genre = np.minimum(np.concatenate([nat_genre, reg_genre]), N_GENRES - 1).astype(np.int64)
    region = np.concatenate([np.full(n_national, -1), reg_region]).astype(np.int64)
    country = np.concatenate([nat_country, regions.country[reg_region]]).astype(np.int64)
    popularity = rng.pareto(POPULARITY_ALPHA, size=n) + 1.0
    popularity[:n_national] *= NATIONAL_POPULARITY
    # Shuffle so national and local acts interleave in id order.
    perm = rng.permutation(n)
    return genre[perm], region[perm], country[perm], popularity[perm]


def _durations(genre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seconds per song: ~3.5 min music, shorter kids' songs, long talk episodes."""
    n = len(genre)
    music = rng.normal(215.0, 45.0, size=n)
    kids = rng.normal(150.0, 40.0, size=n)
    talk = rng.lognormal(np.log(1500.0), 0.5, size=n)
    is_talk = np.isin(genre, [g(t) for t in TALK_GENRES])
    seconds = np.where(is_talk, talk, np.where(genre == g("Kids & Family"), kids, music))
    return np.clip(np.rint(seconds), 60, 5400).astype(np.int64)


def build_catalogue(config: WorldConfig, regions: Regions) -> Catalogue:
    """The catalogue of world ``config.seed`` with ``config.n_artists`` and ``config.n_songs``."""
    rng = stream(config.seed, CATALOGUE)
    n_artists, n_songs = config.n_artists, config.n_songs
    genre, region, country, popularity = _artists(n_artists, regions, rng)
    artist_appeal = 0.5 * _standardise(np.log(popularity)) + rng.normal(0.0, 0.5, n_artists)

    # Every artist has a song; popular ones have more.
    extra_p = popularity**0.5 / (popularity**0.5).sum()
    per_artist = 1 + rng.multinomial(n_songs - n_artists, extra_p)
    song_artist = np.repeat(np.arange(n_artists), per_artist)
    first = np.concatenate([[0], np.cumsum(per_artist)[:-1]])
    rank = np.arange(n_songs) - first[song_artist]
    weight = (rank + 1.0) ** -SONG_RANK_DECAY * rng.lognormal(0.0, 0.4, n_songs)
    weight_sum = np.bincount(song_artist, weights=weight, minlength=n_artists)
    song_popularity = popularity[song_artist] * weight / weight_sum[song_artist]
    song_appeal = 0.6 * _standardise(np.log(song_popularity)) + rng.normal(0.0, 0.6, n_songs)

    # Albums of 8 to 14 songs in rank order; some songs are singles (no album).
    album_size = rng.integers(8, 15, size=n_artists)
    album_no = rank // album_size[song_artist]
    single = rng.random(n_songs) < SINGLE_SHARE
    key = song_artist * (int(album_no.max()) + 1) + album_no
    album_keys, album_of = np.unique(key[~single], return_inverse=True)
    song_album = np.full(n_songs, -1, dtype=np.int64)
    song_album[~single] = album_of
    album_artist = album_keys // (int(album_no.max()) + 1)

    song_genre = genre[song_artist]
    return Catalogue(
        artist_genre=genre,
        artist_region=region,
        artist_country=country,
        artist_popularity=popularity,
        artist_appeal=artist_appeal,
        album_artist=album_artist.astype(np.int64),
        song_artist=song_artist.astype(np.int64),
        song_album=song_album,
        song_weight=weight,
        song_popularity=song_popularity,
        song_appeal=song_appeal,
        song_duration_s=_durations(song_genre, rng),
        song_available=~_exact_share(rng, n_songs, UNAVAILABLE_SHARE, at_least=1),
        song_titled=~_exact_share(rng, n_songs, UNTITLED_SHARE, at_least=1),
    )
