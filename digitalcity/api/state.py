"""Per-process state shared by requests: code tables and a short-lived view of loaded layers."""

from __future__ import annotations

import threading
import time

from sqlalchemy.engine import Engine

from digitalcity.catalog.model import LayerDef
from digitalcity.db.versions import LoadedLayer, loaded_layers

LOADED_TTL_SECONDS = 5.0


class LoadedLayersCache:
    """Current versions and row counts, re-read at most every ``LOADED_TTL_SECONDS``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._value: dict[tuple[str, str], LoadedLayer] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> dict[tuple[str, str], LoadedLayer]:
        with self._lock:
            if time.monotonic() - self._read_at > LOADED_TTL_SECONDS:
                with self.engine.connect() as conn:
                    self._value = loaded_layers(conn)
                self._read_at = time.monotonic()
            return self._value

    def rows(self, layer: LayerDef) -> int | None:
        loaded = self.get().get((layer.city, layer.id))
        return loaded.rows if loaded else None
