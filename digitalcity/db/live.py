"""The in-process map of current layer versions, kept fresh by LISTEN / NOTIFY, or, over hot
standbys (which receive no notifications), by polling the versions table (``VersionPoller``).

Tile and item-page cache keys are built from this map, so a cache hit never touches the
database. The
loader sends ``pg_notify('digitalcity_layer_versions', '<city>.<layer>:<version>')`` on
commit; a daemon thread listens (psycopg ``conn.notifies()``), reconnects after failures and
also re-reads the versions every ``poll_seconds`` in case a notification was missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.db.versions import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

_CURRENT = (
    "SELECT city, layer, version, extent, rows_loaded, revision FROM digitalcity.layer_versions "
    "WHERE is_current"
)


@dataclass(frozen=True)
class LayerState:
    """A loaded layer's current version, lon/lat extent (EPSG:4326, west south east north) and
    row count."""

    version: int
    extent: tuple[float, float, float, float] | None
    rows: int = 0
    revision: int = 0  # edits since the version was loaded

    @property
    def cache_tag(self) -> str:
        """What caches of the layer are keyed by: a load or an edit changes it."""
        return f"{self.version}.{self.revision}"


Versions = Mapping[tuple[str, str], LayerState]


def _parse(rows: list[tuple]) -> dict[tuple[str, str], LayerState]:
    out = {}
    for city, layer, version, extent, count, *rest in rows:
        box = tuple(float(v) for v in extent) if extent and len(extent) == 4 else None
        revision = int(rest[0]) if rest else 0
        out[(city, layer)] = LayerState(int(version), box, int(count), revision)  # type: ignore[arg-type]
    return out


_EDITS = (
    "SELECT revision, x1, y1, x2, y2 FROM digitalcity.edit_extents "
    "WHERE city = %(city)s AND layer = %(layer)s AND version = %(version)s "
    "AND revision > %(after)s ORDER BY revision"
)
Box = tuple[float, float, float, float]  # EPSG:3857 metres: xmin, ymin, xmax, ymax


@dataclass
class EditIndex:
    """Where the edits of one layer version happened: (revision, EPSG:3857 box), up to
    ``known`` (the revision read last)."""

    version: int
    known: int = 0
    boxes: list[tuple[int, Box]] = field(default_factory=list)

    def last_touching(self, box: Box) -> int:
        """The last revision whose edit touched ``box`` (0: none since the load)."""
        x1, y1, x2, y2 = box
        last = 0
        for revision, (a, b, c, d) in self.boxes:
            if revision > last and a <= x2 and c >= x1 and b <= y2 and d >= y1:
                last = revision
        return last


class VersionMap:
    """Current versions of every loaded layer; ``generation`` grows on every change."""

    def __init__(self) -> None:
        self._current: Versions = MappingProxyType({})
        self.generation = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[set[tuple[str, str]]], None]] = []
        self._edits: dict[tuple[str, str], EditIndex] = {}

    def revision_at(self, city: str, layer: str, box: Box) -> int:
        """The revision a tile covering ``box`` (EPSG:3857, with its margin) is as of: the
        last edit that touched it. Until the edits of the current revision have been read,
        the layer's revision (every tile moves on: never a stale tile)."""
        state = self._current.get((city, layer))
        if state is None or state.revision == 0:
            return 0
        index = self._edits.get((city, layer))
        if index is None or index.version != state.version or index.known < state.revision:
            return state.revision
        return index.last_touching(box)

    def _read_edits(self, execute: Callable[[str, dict[str, Any]], Any]) -> None:
        """Read the edit boxes not read yet of every layer with edits (same connection)."""
        for (city, layer), state in self._current.items():
            if state.revision == 0:
                continue
            index = self._edits.get((city, layer))
            if index is None or index.version != state.version:
                index = EditIndex(state.version)
            if index.known >= state.revision:
                continue
            params = {"city": city, "layer": layer, "version": state.version, "after": index.known}
            rows = list(execute(_EDITS, params))
            boxes = index.boxes + [(int(r[0]), (r[1], r[2], r[3], r[4])) for r in rows]
            known = max([index.known, *(int(r[0]) for r in rows)])
            # a revision without a box (an edit of attributes only has its rows' boxes too,
            # so this is a revision still in flight): known stays below it, tiles move on
            self._edits[(city, layer)] = EditIndex(state.version, known, boxes)

    @property
    def current(self) -> Versions:
        return self._current

    def get(self, city: str, layer: str) -> LayerState | None:
        return self._current.get((city, layer))

    def on_change(self, callback: Callable[[set[tuple[str, str]]], None]) -> None:
        """Call ``callback(changed keys)`` after every change (on the refreshing thread)."""
        self._listeners.append(callback)

    def replace(self, rows: list[tuple], *, monotonic: bool = False) -> set[tuple[str, str]]:
        """Install rows of (city, layer, version, extent, rows); returns the keys that changed.

        ``monotonic`` (reads from standbys, which may lag one another): a layer never goes
        back to an older version than the one installed, so no cache serves an older version
        after a newer one was served."""
        new = _parse(rows)
        with self._lock:
            old = self._current
            if monotonic:
                for key, state in old.items():
                    if key in new and (new[key].version, new[key].revision) < (
                        state.version,
                        state.revision,
                    ):
                        new[key] = state
            changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
            if changed:
                self._current = MappingProxyType(new)
                self.generation += 1
        if changed:
            for callback in self._listeners:
                try:
                    callback(changed)
                except Exception:  # noqa: BLE001 - a listener must not stop the refresh
                    log.exception("layer version listener failed")
        return changed

    def advance(self, city: str, layer: str, version: int, revision: int) -> None:
        """A writer in this process moved ``layer`` to (version, revision): install it at once
        (the extent and row count stay until the next read of the table), never backwards."""
        with self._lock:
            old = self._current.get((city, layer))
            if old is None or (version, revision) <= (old.version, old.revision):
                return
            rows = old.rows if old.version == version else 0
            extent = old.extent if old.version == version else None
            new = dict(self._current)
            new[(city, layer)] = LayerState(version, extent, rows, revision)
            self._current = MappingProxyType(new)
            self.generation += 1
        for callback in self._listeners:
            try:
                callback({(city, layer)})
            except Exception:  # noqa: BLE001 - a listener must not stop the writer
                log.exception("layer version listener failed")

    def load(self, engine: Engine, *, monotonic: bool = False) -> set[tuple[str, str]]:
        """Read the current versions, and the boxes of edits not read yet, through ``engine``."""
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.text(_CURRENT))]
            changed = self.replace(rows, monotonic=monotonic)
            self._read_edits(lambda sql, params: conn.exec_driver_sql(sql, params).fetchall())
        return changed

    def load_psycopg(self, conn: psycopg.Connection) -> set[tuple[str, str]]:
        changed = self.replace([tuple(r) for r in conn.execute(_CURRENT).fetchall()])
        self._read_edits(lambda sql, params: conn.execute(sql, params).fetchall())
        return changed


class _VersionThread:
    """A daemon thread keeping ``versions`` current (``_run``, until ``_stop`` is set);
    ``connected`` is set while its last read succeeded."""

    thread_name = "digitalcity-layer-versions"

    def __init__(self, versions: VersionMap) -> None:
        self.versions = versions
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError


class VersionListener(_VersionThread):
    """Daemon thread keeping a ``VersionMap`` current through LISTEN and a slow poll."""

    def __init__(self, versions: VersionMap, dsn: str, poll_seconds: float = 5.0) -> None:
        super().__init__(versions)
        self.dsn = dsn
        self.poll_seconds = poll_seconds

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.versions.load_psycopg(conn)  # whatever changed while disconnected
                    self.connected.set()
                    backoff = 0.5
                    last = time.monotonic()
                    while not self._stop.is_set():
                        notified = any(True for _ in conn.notifies(timeout=0.5, stop_after=1))
                        if notified or time.monotonic() - last >= self.poll_seconds:
                            # Re-read every version: cheap, and nothing missed is kept stale.
                            self.versions.load_psycopg(conn)
                            last = time.monotonic()
            except (psycopg.Error, OSError) as exc:
                self.connected.clear()
                log.warning("layer version listener: %s; reconnecting in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)


class VersionPoller(_VersionThread):
    """Daemon thread re-reading a ``VersionMap`` every ``seconds`` through ``engine_of()`` (the
    read router's choice, so a standby that stops is replaced by another or the primary).
    One small query a second: layer versions reach the process within ``seconds`` plus the
    standby's replay lag, without NOTIFY."""

    thread_name = "digitalcity-layer-versions-poll"

    def __init__(
        self, versions: VersionMap, engine_of: Callable[[], Engine], seconds: float = 1.0
    ) -> None:
        super().__init__(versions)
        self.engine_of = engine_of
        self.seconds = seconds

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.versions.load(self.engine_of(), monotonic=True)
                self.connected.set()
            except sa.exc.SQLAlchemyError as exc:
                self.connected.clear()
                log.warning("layer version poll: %s", str(exc).splitlines()[0])
            self._stop.wait(self.seconds)
