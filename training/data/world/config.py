"""The options of a world (what the command line sets) and their defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Users are generated in blocks of this many, each block from its own random streams. The block
#: size is part of a world's identity, like its seed; nothing else about how the work is split
#: (worker processes, order) changes the output.
BLOCK_USERS = 25_000


def default_songs(users: int) -> int:
    """About one song per ten users, at least 10,000 (1M users get 100,000 songs)."""
    return max(10_000, users // 10)


def default_artists(songs: int) -> int:
    """About ten songs per artist, at least 2,000."""
    return max(2_000, songs // 10)


@dataclass(frozen=True)
class WorldConfig:
    """Everything that shapes a world besides the code: sizes, seed and calendar."""

    users: int = 20_000
    seed: int = 0
    songs: int | None = None
    artists: int | None = None
    #: Regional stations per region (more for populous regions, at least 2) and national ones
    #: per genre.
    stations_per_region: int = 4
    national_stations_per_genre: int = 3
    #: Signups are spread over this many days from ``start``; each user then listens for
    #: ``days`` days (unless they go quiet earlier).
    start: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    signup_days: int = 365
    days: int = 60
    #: Share of users who stop listening at some day before ``days``.
    quiet_share: float = 0.3
    block_users: int = BLOCK_USERS

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError("users must be at least 1")
        if self.songs is not None and self.songs < 100:
            raise ValueError("songs must be at least 100")
        if self.artists is not None and self.artists < 50:
            raise ValueError("artists must be at least 50")
        if self.days < 1 or self.signup_days < 1:
            raise ValueError("days and signup_days must be at least 1")
        if not 0.0 <= self.quiet_share <= 1.0:
            raise ValueError("quiet_share must be in [0, 1]")
        if self.block_users < 1:
            raise ValueError("block_users must be at least 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")

    @property
    def n_songs(self) -> int:
        return self.songs if self.songs is not None else default_songs(self.users)

    @property
    def n_artists(self) -> int:
        n = self.artists if self.artists is not None else default_artists(self.n_songs)
        return min(n, self.n_songs)

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def n_blocks(self) -> int:
        return -(-self.users // self.block_users)

    def block_range(self, block: int) -> tuple[int, int]:
        """The global user indices ``[lo, hi)`` of block ``block``."""
        lo = block * self.block_users
        return lo, min(self.users, lo + self.block_users)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["songs"] = self.n_songs
        out["artists"] = self.n_artists
        return out
