"""Which database answers a read: a hot standby that is up and close enough to the primary,
else the primary.

Health is checked lazily, at most every ``check_every_s`` seconds, by the request that finds
it stale (one short query per server: ~1 ms), so a standby that stops or falls behind is
skipped within that time and taken back once it catches up. Lag is measured in WAL bytes
(the primary's current position against the standby's replay position); with the primary
unreachable, standbys serve every read whatever their lag — the data is as of the last
replayed commit, and writes get 503 from the primary's own failure.

Read-your-writes: a writer passes the WAL position of its commit (``min_lsn``); a standby that
has not replayed it yet is not chosen for that read, so the primary answers it.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.config import Settings
from digitalcity.db.engine import make_engine

# the insert position, not pg_current_wal_lsn() (the write position): under
# synchronous_commit = off a commit returns before its WAL is written, and the write position
# can still equal a standby's replay position while the commit is not on it
_PRIMARY_LSN = sa.text("SELECT pg_current_wal_insert_lsn()::text")
_STANDBY_LSN = sa.text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")


def commit_lsn(conn: sa.Connection) -> str:
    """The primary's WAL position after every commit so far, as ``'16/B374D848'``: a standby
    that has replayed it sees them all."""
    return str(conn.execute(_PRIMARY_LSN).scalar_one())


def lsn_int(lsn: str) -> int:
    """A PostgreSQL WAL position ``'16/B374D848'`` as a byte offset."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class _Health:
    ok: bool = False
    replay_lsn: int = 0
    lag_bytes: int = 0


class ReadRouter:
    """Picks the engine for a read among ``standbys`` (round robin), falling back to
    ``primary``; see the module docstring."""

    def __init__(
        self,
        primary: Engine,
        standbys: list[Engine],
        *,
        max_lag_bytes: int = 16 * 1024 * 1024,
        check_every_s: float = 1.0,
    ) -> None:
        self.primary = primary
        self.standbys = standbys
        self.max_lag_bytes = max_lag_bytes
        self.check_every_s = check_every_s
        self._health = [_Health() for _ in standbys]
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def _primary_lsn(self) -> int | None:
        try:
            with self.primary.connect() as conn:
                return lsn_int(commit_lsn(conn))
        except sa.exc.DBAPIError:
            return None

    def _check(self) -> None:
        primary_lsn = self._primary_lsn()
        for engine, health in zip(self.standbys, self._health, strict=True):
            try:
                with engine.connect() as conn:
                    in_recovery, replay = conn.execute(_STANDBY_LSN).one()
            except sa.exc.DBAPIError:
                health.ok = False
                continue
            health.replay_lsn = lsn_int(replay) if replay else 0
            lag = 0 if primary_lsn is None else max(0, primary_lsn - health.replay_lsn)
            health.lag_bytes = lag
            # a promoted standby (no longer in recovery) is a primary of its own: not a reader
            health.ok = bool(in_recovery) and lag <= self.max_lag_bytes

    def refresh(self, force: bool = False) -> None:
        """Re-check the standbys when the last check is older than ``check_every_s``."""
        if not self.standbys:
            return
        now = time.monotonic()
        if not force and now - self._checked_at < self.check_every_s:
            return
        with self._lock:
            if force or time.monotonic() - self._checked_at >= self.check_every_s:
                self._check()
                self._checked_at = time.monotonic()

    def reader(self, min_lsn: int | None = None) -> Engine:
        """The engine for a read that must see every commit up to ``min_lsn`` (if given)."""
        self.refresh()
        healthy = [
            i
            for i, h in enumerate(self._health)
            if h.ok and (min_lsn is None or h.replay_lsn >= min_lsn)
        ]
        if not healthy:
            return self.primary
        return self.standbys[healthy[next(self._turn) % len(healthy)]]

    def healthy_standbys(self) -> int:
        return sum(h.ok for h in self._health)

    def standby_states(self) -> list[tuple[bool, int]]:
        """Whether each standby takes reads, and its replay lag (bytes), as last checked."""
        self.refresh()
        return [(h.ok, h.lag_bytes) for h in self._health]


def standby_urls(settings: Settings) -> list[str]:
    """``DIGITALCITY_READ_DATABASE_URLS`` as a list (empty when unset)."""
    return [u.strip() for u in (settings.read_database_urls or "").split(",") if u.strip()]


def api_parallel_workers(settings: Settings) -> int | None:
    """``max_parallel_workers_per_gather`` for the API's connections; None: the server's."""
    return None if settings.api_parallel_workers < 0 else settings.api_parallel_workers


def make_router(settings: Settings, primary: Engine) -> ReadRouter:
    """A router over ``primary`` and the configured standbys (none: every read on the primary)."""
    standbys = [
        make_engine(
            settings.model_copy(update={"database_url": url}),
            parallel_workers=api_parallel_workers(settings),
        )
        for url in standby_urls(settings)
    ]
    return ReadRouter(
        primary,
        standbys,
        max_lag_bytes=int(settings.replica_max_lag_mb * 1024 * 1024),
        check_every_s=settings.replica_check_seconds,
    )
