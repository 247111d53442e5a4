"""The on-disk tile cache, keyed by layer versions so a reload never serves stale tiles.

Layout: ``<tiles_dir>/cache/<city>/<tileset>/<versions-hash>/<fieldset-hash>/<z>/<x>/<y>.mvt``
where ``<tileset>`` is a layer id or ``_city`` (the multi-layer city tileset). Files hold
gzip-compressed MVT; an empty (0-byte) file records an empty tile. Writes are atomic
(temporary file + rename), so concurrent workers and readers never see half a tile.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from digitalcity.tiles.tms import TileIndex

CITY_TILESET = "_city"  # layer ids start with a letter, so this never clashes


@dataclass(frozen=True)
class CacheKey:
    """Where one tileset's tiles for one set of layer versions and one field set live."""

    city: str
    tileset: str
    versions: str
    fieldset: str

    def parts(self) -> tuple[str, ...]:
        return (self.city, self.tileset, self.versions, self.fieldset)


class TileCache:
    """Gzipped tiles on disk under ``root`` (``<tiles_dir>/cache``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: CacheKey, tile: TileIndex, tag: str = "") -> Path:
        """``tag``: the tile's own edit tag (see ``TileService.tile_tag``), part of the name."""
        name = f"{tile.y}.{tag}.mvt" if tag else f"{tile.y}.mvt"
        return self.root.joinpath(*key.parts(), str(tile.z), str(tile.x), name)

    def get(self, key: CacheKey, tile: TileIndex, tag: str = "") -> bytes | None:
        """The stored gzip bytes (b"" for an empty tile), or None on a miss."""
        try:
            with open(self.path(key, tile, tag), "rb") as fh:
                return fh.read()
        except OSError:
            return None

    def put(self, key: CacheKey, tile: TileIndex, gz: bytes, tag: str = "") -> None:
        """Store ``gz`` (gzip MVT, or b"" for empty) atomically; errors leave no file."""
        path = self.path(key, tile, tag)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".mvt")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(gz)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self, city: str | None = None) -> int:
        """Delete the cache of ``city`` (all cities when None); returns directories removed."""
        targets = [self.root / city] if city else [self.root]
        removed = 0
        for target in targets:
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
                removed += 1
        return removed

    def prune(self, live: set[tuple[str, str, str]]) -> int:
        """Delete version directories not in ``live`` {(city, tileset, versions-hash)}."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for city_dir in self.root.iterdir():
            for tileset_dir in city_dir.iterdir() if city_dir.is_dir() else ():
                for version_dir in tileset_dir.iterdir() if tileset_dir.is_dir() else ():
                    if (city_dir.name, tileset_dir.name, version_dir.name) not in live:
                        shutil.rmtree(version_dir, ignore_errors=True)
                        removed += 1
        return removed
