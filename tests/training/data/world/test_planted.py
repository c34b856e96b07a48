"""The planted structure shows in the generated plays, not only in the hidden truth."""

from __future__ import annotations

import numpy as np

from tests.training.data.world.conftest import WorldData
from training.data.world.genres import GENRES

OLD_GENRES = ("Classic Rock", "Jazz", "News & Talk", "Oldies", "Public Radio", "International")
YOUNG_GENRES = ("Top 40 & Pop", "Alternative")


def heavy(world: WorldData, genre: str, share: float = 0.3, min_plays: int = 20) -> np.ndarray:
    """Users with at least ``min_plays`` plays of which at least ``share`` are in ``genre``."""
    total = world.plays.sum(axis=1)
    return (total >= min_plays) & (world.plays[:, world.g(genre)] >= share * total)


def play_weighted_mean_age(world: WorldData, genre: str) -> float:
    known = ~np.isnan(world.age)
    plays = world.plays[known, world.g(genre)]
    return float((world.age[known] * plays).sum() / plays.sum())


def entropy(counts: np.ndarray) -> np.ndarray:
    p = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    out: np.ndarray = -terms.sum(axis=1)
    return out


def test_heavy_jazz_listeners_are_older_than_heavy_pop_listeners(world: WorldData) -> None:
    jazz, pop = heavy(world, "Jazz"), heavy(world, "Top 40 & Pop")
    assert jazz.sum() >= 30
    assert pop.sum() >= 30
    assert np.nanmedian(world.age[jazz]) >= np.nanmedian(world.age[pop]) + 10


def test_old_and_young_genres_by_age_of_their_listeners(world: WorldData) -> None:
    known = ~np.isnan(world.age)
    overall = float((world.age[known] * world.plays[known].sum(axis=1)).sum()) / float(
        world.plays[known].sum()
    )
    for genre in OLD_GENRES:
        assert play_weighted_mean_age(world, genre) > overall + 3, genre
    for genre in YOUNG_GENRES:
        assert play_weighted_mean_age(world, genre) < overall - 3, genre


def test_sports_and_talk_skew_male(world: WorldData) -> None:
    def male_share_of_plays(genre: str | None) -> float:
        plays = world.plays.sum(axis=1) if genre is None else world.plays[:, world.g(genre)]
        male = plays[world.gender == 1].sum()
        female = plays[world.gender == 0].sum()
        return float(male / (male + female))

    overall = male_share_of_plays(None)
    assert male_share_of_plays("Sports") > max(0.7, overall + 0.2)
    assert male_share_of_plays("News & Talk") > overall + 0.08
    assert male_share_of_plays("Kids & Family") < overall - 0.1


def test_rnb_selectors_mostly_play_hip_hop(world: WorldData) -> None:
    rnb = world.selected[:, world.g("R&B")]
    hip_hop_plays = world.plays[rnb, world.g("Hip Hop")].sum()
    rnb_plays = world.plays[rnb, world.g("R&B")].sum()
    assert hip_hop_plays > 1.5 * rnb_plays


def test_one_genre_selectors_mostly_play_it(world: WorldData) -> None:
    one = world.selected.sum(axis=1) == 1
    plays = world.plays[one]
    active = plays.sum(axis=1) >= 10
    share = (plays * world.selected[one]).sum(axis=1)[active] / plays.sum(axis=1)[active]
    assert active.sum() >= 200
    assert np.median(share) > 0.5


def lone_pick_top_share(world: WorldData, genres: tuple[str, ...]) -> tuple[float, int]:
    """Of the users who picked exactly one genre, one of ``genres``, and have a label (at least 3
    second-month plays): the share whose second-month top genre is their pick, and how many."""
    counts = world.second_month
    lone = (world.selected.sum(axis=1) == 1) & (counts.sum(axis=1) >= 3)
    pick = world.selected.argmax(axis=1)
    users = lone & np.isin(pick, [world.g(genre) for genre in genres])
    hits = counts[users].argmax(axis=1) == pick[users]
    return float(hits.mean()), int(users.sum())


def test_single_genre_selectors_end_up_playing_it_except_muted_genres(world: WorldData) -> None:
    muted = ("Kids & Family", "Mix & Variety", "R&B")
    others = tuple(genre for genre in GENRES if genre not in muted)
    share, n = lone_pick_top_share(world, others)
    assert n >= 1000
    assert share > 0.7
    # Even aspirational lone picks (picked beyond what their pickers played) hold them.
    share, n = lone_pick_top_share(world, ("Jazz", "Classical", "International", "World"))
    assert n >= 50
    assert share > 0.45
    share, n = lone_pick_top_share(world, ("Public Radio", "Electronic", "Christian"))
    assert n >= 50
    assert share > 0.45
    # Muted: a lone Kids & Family, Mix & Variety or R&B pick does not hold them.
    share, n = lone_pick_top_share(world, muted)
    assert n >= 50
    assert share < 0.2
    for genre in muted:
        share, n = lone_pick_top_share(world, (genre,))
        assert n >= 15, genre
        assert share < 0.3, genre


def test_kids_and_mix_selectors_play_widely(world: WorldData) -> None:
    active = world.plays.sum(axis=1) >= 20
    spread = entropy(world.plays)
    for genre in ("Kids & Family", "Mix & Variety"):
        picked = world.selected[:, world.g(genre)]
        assert spread[picked & active].mean() > spread[~picked & active].mean() + 0.15, genre


def test_classical_selectors_also_play_world_public_radio_international(
    world: WorldData,
) -> None:
    active = world.plays.sum(axis=1) >= 20
    share = world.plays / np.maximum(world.plays.sum(axis=1, keepdims=True), 1)
    classical = world.selected[:, world.g("Classical")]
    for genre in ("World", "Public Radio", "International"):
        ours = share[classical & active, world.g(genre)].mean()
        theirs = share[~classical & active, world.g(genre)].mean()
        assert ours > 1.5 * theirs, genre


def test_regions_differ(world: WorldData) -> None:
    country = np.array([code[:2] for code in world.region_codes])[world.region]

    def share(mask: np.ndarray, genre: str) -> float:
        plays = world.plays[mask]
        return float(plays[:, world.g(genre)].sum() / plays.sum())

    assert share(country == "mx", "Latin") > 5 * share(country == "gb", "Latin")
    assert share(country == "us", "Country") > 2 * share(country == "de", "Country")
    # Any two big regions have visibly different genre mixes.
    big = np.argsort(-np.bincount(world.region))[:6]
    mixes = np.stack([world.plays[world.region == r].sum(axis=0) for r in big]).astype(float)
    mixes /= mixes.sum(axis=1, keepdims=True)
    distances = np.abs(mixes[:, None, :] - mixes[None, :, :]).sum(axis=2) / 2
    assert distances[np.triu_indices(len(big), 1)].min() > 0.1


def test_local_artists_are_played_more_in_their_region(world: WorldData) -> None:
    artist_index = {a: i for i, a in enumerate(world.artists["artist_id"].to_pylist())}
    artist_region = np.array(world.artists["region"].to_pylist())
    item_artist = np.array([artist_index[a] for a in world.items["artist_id"].to_pylist()])
    user_region = np.array(world.region_codes)[world.region]
    plays = world.is_play
    region_of_artist = artist_region[item_artist[world.row_item[plays]]]
    local_act = np.char.find(region_of_artist.astype(str), "-") >= 0
    listener = user_region[world.row_user[plays]]
    observed = np.mean(region_of_artist[local_act] == listener[local_act])
    # Expected if where a local act is played did not depend on where it is from.
    regions, listener_counts = np.unique(listener[local_act], return_counts=True)
    act_counts = {
        r: c
        for r, c in zip(*np.unique(region_of_artist[local_act], return_counts=True), strict=True)
    }
    total = local_act.sum()
    expected = sum(
        (n / total) * (act_counts.get(r, 0) / total)
        for r, n in zip(regions, listener_counts, strict=True)
    )
    assert observed > 5 * expected
    assert observed > 0.2


def test_onboarding_picks_pull_the_first_days_more_than_the_second_month(
    world: WorldData,
) -> None:
    first_week = world.genre_counts(world.row_day < 7)
    second_month = world.second_month
    picked = world.selected

    def picked_share(counts: np.ndarray) -> float:
        return float((counts * picked).sum() / counts.sum())

    assert picked_share(first_week) > picked_share(second_month) + 0.05
