"""The app's view of loaded layers: one ``VersionMap`` shared by items, collections and tiles.

The tile service's LISTEN thread keeps it current (started with the app's lifespan), or over
hot standbys a ``VersionPoller``; without either, the map is re-read when older than
``STALE_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI

from digitalcity.catalog.model import LayerDef
from digitalcity.db.live import LayerState, VersionMap, Versions

STALE_SECONDS = 5.0


class LiveLayers:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.versions = VersionMap()
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _listening(self) -> bool:
        service = getattr(self.app.state, "tile_service", None)
        listener = getattr(service, "_listener", None) if service else None
        poller = getattr(self.app.state, "version_poller", None)
        return any(w is not None and w.connected.is_set() for w in (listener, poller))

    def current(self) -> Versions:
        if self._listening():
            return self.versions.current
        with self._lock:
            if time.monotonic() - self._read_at > STALE_SECONDS:
                self.versions.load(self.app.state.router.reader())
                self._read_at = time.monotonic()
        return self.versions.current

    def get(self, layer: LayerDef) -> LayerState | None:
        return self.current().get((layer.city, layer.id))
