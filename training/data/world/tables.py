"""The contract tables of a world, as Arrow tables built from numpy arrays and id vocabularies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.data.contract import EVENTS, GENDERS, TIMESTAMP
from training.data.world.catalogue import Catalogue
from training.data.world.genres import GENRES
from training.data.world.listening import LIKE, PLAY, SKIP, Listening
from training.data.world.names import id_width, make_ids, person_or_band_names, titles
from training.data.world.population import Population
from training.data.world.regions import Regions
from training.data.world.stations import Stations
from training.data.world.taste import Taste, selected_lists
from training.data.world.truth import fixed_list

assert (EVENTS[PLAY], EVENTS[SKIP], EVENTS[LIKE]) == ("play", "skip", "like")


def take(vocabulary: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``vocabulary[index]`` (null where ``valid`` is False) without Python objects per row."""
    indices = pa.array(index, mask=None if valid is None else ~valid)
    result = pc.take(vocabulary, indices)
    assert isinstance(result, pa.Array)
    return result


def timestamps(ms: np.ndarray) -> pa.Array:
    return pa.array(ms.astype(np.int64), type=pa.int64()).cast(TIMESTAMP)


@dataclass(frozen=True)
class Vocabulary:
    """Id and name vocabularies of the static parts of a world, built once."""

    genres: pa.Array
    regions: pa.Array
    countries: pa.Array
    genders: pa.Array
    events: pa.Array
    item_ids: pa.Array
    artist_ids: pa.Array
    album_ids: pa.Array
    station_ids: pa.Array
    user_id_width: int

    @classmethod
    def build(
        cls, catalogue: Catalogue, regions: Regions, stations: Stations, users: int
    ) -> Vocabulary:
        return cls(
            genres=pa.array(GENRES, type=pa.string()),
            regions=pa.array(regions.codes, type=pa.string()),
            countries=pa.array(regions.country_codes, type=pa.string()),
            genders=pa.array(GENDERS, type=pa.string()),
            events=pa.array(EVENTS, type=pa.string()),
            item_ids=make_ids("s", 0, catalogue.n_songs, id_width(catalogue.n_songs)),
            artist_ids=make_ids("a", 0, catalogue.n_artists, id_width(catalogue.n_artists)),
            album_ids=make_ids("al", 0, catalogue.n_albums, id_width(catalogue.n_albums)),
            station_ids=make_ids("st", 0, stations.n, id_width(stations.n)),
            user_id_width=id_width(users),
        )

    def user_ids(self, lo: int, hi: int) -> pa.Array:
        return make_ids("u", lo, hi - lo, self.user_id_width)


def artist_region_codes(catalogue: Catalogue, vocab: Vocabulary) -> pa.Array:
    """``artists.region``: the region code for local acts, the country code for national ones."""
    national = catalogue.artist_national
    local = take(vocab.regions, np.where(national, 0, catalogue.artist_region))
    country = take(vocab.countries, catalogue.artist_country)
    result = pc.if_else(pa.array(national), country, local)
    assert isinstance(result, pa.Array)
    return result


def items_table(catalogue: Catalogue, vocab: Vocabulary, rng: np.random.Generator) -> pa.Table:
    album = catalogue.song_album
    return pa.table(
        {
            "item_id": vocab.item_ids,
            "title": take(
                titles(rng, catalogue.n_songs), np.arange(catalogue.n_songs), catalogue.song_titled
            ),
            "artist_id": take(vocab.artist_ids, catalogue.song_artist),
            "album_id": take(vocab.album_ids, np.maximum(album, 0), album >= 0),
            "genre": take(vocab.genres, catalogue.song_genre),
            "available": pa.array(catalogue.song_available),
        }
    )


def artists_table(catalogue: Catalogue, vocab: Vocabulary, rng: np.random.Generator) -> pa.Table:
    return pa.table(
        {
            "artist_id": vocab.artist_ids,
            "name": person_or_band_names(rng, catalogue.n_artists),
            "genre": take(vocab.genres, catalogue.artist_genre),
            "region": artist_region_codes(catalogue, vocab),
        }
    )


def stations_table(stations: Stations, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "station_id": vocab.station_ids,
            "name": pa.array(stations.names, type=pa.string()),
            "genre": take(vocab.genres, stations.genre),
            "region": take(vocab.regions, np.maximum(stations.region, 0), stations.region >= 0),
        }
    )


def users_table(pop: Population, taste: Taste, user_ids: pa.Array, vocab: Vocabulary) -> pa.Table:
    flat, offsets = selected_lists(taste.selected)
    selected = pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()), take(vocab.genres, flat)
    )
    return pa.table(
        {
            "user_id": user_ids,
            "signup_ts": timestamps(pop.signup_ms),
            "age": pa.array(pop.age.astype(np.int32), mask=~pop.age_known),
            "gender": take(vocab.genders, pop.gender, pop.gender_known),
            "region": take(vocab.regions, pop.region),
            "selected_genres": selected,
        }
    )


def interactions_table(listening: Listening, user_ids: pa.Array, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "user_id": take(user_ids, listening.user),
            "item_id": take(vocab.item_ids, listening.song),
            "ts": timestamps(listening.ts_ms),
            "event": take(vocab.events, listening.event),
        }
    )


def follows_table(listening: Listening, user_ids: pa.Array, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "user_id": take(user_ids, listening.follow_user),
            "artist_id": take(vocab.artist_ids, listening.follow_artist),
            "ts": timestamps(listening.follow_ts_ms),
        }
    )


# The hidden truth (written under DIR/truth/, see training.data.world.truth).


def truth_users_table(
    pop: Population, taste: Taste, user_ids: pa.Array, vocab: Vocabulary
) -> pa.Table:
    return pa.table(
        {
            "user_id": user_ids,
            "age": pa.array(pop.age.astype(np.int16)),
            "gender": take(vocab.genders, pop.gender),
            "region": take(vocab.regions, pop.region),
            "affinity": fixed_list(taste.affinity),
            "breadth": pa.array(taste.breadth.astype(np.float32)),
            "sessions_per_day": pa.array(pop.sessions_per_day.astype(np.float32)),
            "quiet_after_days": pa.array(pop.active_days.astype(np.float32), mask=~pop.quiet),
            "rnb_confused": pa.array(taste.rnb_confused),
        }
    )


def truth_items_table(catalogue: Catalogue, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "item_id": vocab.item_ids,
            "artist_id": take(vocab.artist_ids, catalogue.song_artist),
            "genre": take(vocab.genres, catalogue.song_genre),
            "available": pa.array(catalogue.song_available),
            "appeal": pa.array(catalogue.song_appeal.astype(np.float32)),
            "popularity": pa.array(catalogue.song_popularity.astype(np.float32)),
            "duration_s": pa.array(catalogue.song_duration_s.astype(np.int32)),
        }
    )


def truth_artists_table(catalogue: Catalogue, vocab: Vocabulary) -> pa.Table:
    national = catalogue.artist_national
    return pa.table(
        {
            "artist_id": vocab.artist_ids,
            "genre": take(vocab.genres, catalogue.artist_genre),
            "region": artist_region_codes(catalogue, vocab),
            "scope": take(pa.array(["regional", "national"]), national.astype(np.int64)),
            "country": take(vocab.countries, catalogue.artist_country),
            "popularity": pa.array(catalogue.artist_popularity.astype(np.float32)),
            "appeal": pa.array(catalogue.artist_appeal.astype(np.float32)),
        }
    )


def truth_stations_table(stations: Stations, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "station_id": vocab.station_ids,
            "genre": take(vocab.genres, stations.genre),
            "region": take(vocab.regions, np.maximum(stations.region, 0), stations.region >= 0),
            "appeal": pa.array(stations.appeal.astype(np.float32)),
        }
    )


def truth_regions_table(regions: Regions, vocab: Vocabulary) -> pa.Table:
    return pa.table(
        {
            "region": vocab.regions,
            "name": pa.array(regions.names, type=pa.string()),
            "country": take(vocab.countries, regions.country),
            "weight": pa.array(regions.weight),
            "taste": fixed_list(regions.taste),
        }
    )
