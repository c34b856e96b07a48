"""The two baselines every model must beat: global popularity and the business rule.

Popularity is the share of training users whose label (top genre) is each genre: the best
constant ranking for hit@k. Genres no training user has as top genre are ordered by their
share of window plays, so every genre has a distinct place.
"""

from __future__ import annotations

import numpy as np

GLOBAL = "global_popular"
RULE = "rule_selected_popular"


def genre_popularity(labels: np.ndarray, play_counts: np.ndarray, n_genres: int) -> np.ndarray:
    """Label share per genre, ties broken by share of plays (both from training users)."""
    label_share = np.bincount(labels, minlength=n_genres).astype(np.float64)
    label_share /= max(label_share.sum(), 1.0)
    plays = np.asarray(play_counts, dtype=np.float64).reshape(-1)[:n_genres]
    play_share = plays / max(plays.sum(), 1.0)
    return label_share + 1e-6 * play_share


def global_popular_scores(popularity: np.ndarray, n_users: int) -> np.ndarray:
    """Every user gets the same ranking: genres by popularity."""
    return np.broadcast_to(popularity, (n_users, len(popularity))).copy()


def rule_scores(selected: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """The business rule: the user's selected genres by popularity, then the rest by popularity.

    ``selected`` is the users' multi-hot of selected genres (columns = the genre vocabulary).
    """
    top = float(popularity.max(initial=0.0)) + 1.0
    return np.asarray(selected, dtype=np.float64) * top + popularity[None, :]
