"""A background builder of the EPSG:3857 tile copies, fed by layer version changes; over hot
standbys (``build=False``) it only finds the copies the primary's builder made."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable

from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, LayerDef
from digitalcity.db.live import VersionMap
from digitalcity.errors import NotFound
from digitalcity.tiles.content import simplified_zooms
from digitalcity.tiles.prepare import copy_exists, copy_table, prepare_layer
from digitalcity.tiles.query import TileSource

log = logging.getLogger(__name__)
RECHECK_SECONDS = 5.0  # a finder's look for copies still missing


def source_for(layer: LayerDef, version: int) -> TileSource:
    """The tile source reading the 3857 copy of ``layer`` at ``version``."""
    return TileSource(copy_table(layer, version), simplified_zooms(layer))


class CopyPreparer:
    """Daemon thread building copies for changed layers; records them in ``copies``."""

    def __init__(
        self,
        catalog: Catalog,
        engine: Engine,
        copies: dict[tuple[str, str], int],
        versions: VersionMap,
        *,
        build: bool = True,
        reader: Callable[[], Engine] | None = None,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.build = build
        self.reader = reader or (lambda: engine)
        self.copies = copies
        self.versions = versions
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, keys: Iterable[tuple[str, str]]) -> None:
        self.enqueue(set(keys))
        self._thread = threading.Thread(
            target=self._run, name="digitalcity-tile-copies", daemon=True
        )
        self._thread.start()

    def enqueue(self, keys: set[tuple[str, str]]) -> None:
        for key in sorted(keys):
            self._queue.put(key)

    def wait(self, timeout: float) -> bool:
        """True once every queued copy has been handled (within ``timeout`` seconds)."""
        done = threading.Event()

        def join() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                key = self._queue.get(timeout=RECHECK_SECONDS)
            except queue.Empty:
                # a finder looks again for the copies the loader has not finished yet
                if not self.build:
                    self.enqueue(self._missing())
                continue
            try:
                if key is None:
                    return
                self._prepare(key)
            except Exception:  # noqa: BLE001 - keep the builder alive; tiles fall back to tables
                log.exception("tile copy of %s failed", key)
            finally:
                self._queue.task_done()

    def _missing(self) -> set[tuple[str, str]]:
        return {
            key
            for key, state in self.versions.current.items()
            if self.copies.get(key) != state.version
        }

    def _prepare(self, key: tuple[str, str]) -> None:
        state = self.versions.get(*key)
        if state is None:
            self.copies.pop(key, None)
            return
        try:
            layer = self.catalog.layer(*key)
        except NotFound:
            return  # loaded in the database but no longer in the catalog
        if self.copies.get(key) == state.version:
            return
        if not self.build:
            if copy_exists(self.reader(), layer, state.version):
                self.copies[key] = state.version
            return
        if prepare_layer(self.engine, layer, self.catalog.city(layer.city), state.version):
            self.copies[key] = state.version
