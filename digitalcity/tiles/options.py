"""Tile settings taken from ``Settings`` (``DIGITALCITY_TILE_CACHE``, ``_TILE_COPIES``,
``_TILE_MAX_AGE``, ``_TILE_POLL_SECONDS``, ``_TILE_RENDER_CORES``, ``_TILES_DIR``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from digitalcity.config import Settings


@dataclass(frozen=True)
class TileOptions:
    """How tiles are served: cache on/off and where, 3857 copies, HTTP max-age, poll interval."""

    tiles_dir: Path
    cache: bool = True
    copies: bool = True
    max_age: int = 3600
    poll_seconds: float = 5.0
    gzip_level: int = 1  # zlib level 5 takes ~3x level 1's time for ~7% smaller tiles
    # A heavy tile is rendered on two connections at once while fewer renders than this are in
    # flight (1 turns splitting off); by default the machine's cores.
    render_cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def cache_dir(self) -> Path:
        return self.tiles_dir / "cache"

    @classmethod
    def from_settings(cls, settings: Settings) -> TileOptions:
        return cls(
            tiles_dir=Path(settings.tiles_dir),
            cache=settings.tile_cache,
            copies=settings.tile_copies,
            max_age=settings.tile_max_age,
            poll_seconds=settings.tile_poll_seconds,
            render_cores=settings.tile_render_cores or os.cpu_count() or 1,
        )
