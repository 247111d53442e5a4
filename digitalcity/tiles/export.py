"""PMTiles v3 export of a city's public tileset, for static hosting (object storage, CDN).

Only what an anonymous caller may see goes in: public layers, public fields. Tiles are the
gzip MVT the API serves (from the cache when present); MapLibre reads the archive through
the pmtiles protocol (``pmtiles://<url>``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy.engine import Engine

from digitalcity.catalog import Role
from digitalcity.errors import DigitalCityError
from digitalcity.pinyin_keys import city_keys
from digitalcity.tiles import metadata as meta
from digitalcity.tiles.seed import city_bounds, city_tiles
from digitalcity.tiles.service import TileService

PUBLIC: Role = "anonymous"


@dataclass
class ExportReport:
    path: Path
    tiles: int
    layers: tuple[str, ...]
    bytes: int
    seconds: float


PINYIN_METADATA = "digitalcity:pinyin"  # {value: "spellings|initials"}: pinyin_keys.city_keys


def _metadata(service: TileService, city_id: str, zooms: range) -> dict[str, Any]:
    city = service.catalog.city(city_id)
    info = meta.TilesetInfo(
        city=city,
        plans=[p for p in service.city_layers(city_id, PUBLIC) if p.layer.min_zoom <= zooms[-1]],
        title=city.title.en,
        description=f"{city.title.zh} / {city.title.en}: public layers",
        tiles_url="",
        self_url="",
        tilejson_url="",
        base_url="",
    )
    doc = meta.tilejson(info, service.versions.current)
    doc.pop("tiles")
    doc.update(minzoom=zooms[0], maxzoom=zooms[-1], format="pbf", type="overlay")
    # only the MVT layers the archive's zooms hold (a label's points may start past them)
    doc["vector_layers"] = [
        v for v in doc["vector_layers"] if v["minzoom"] <= zooms[-1] and v["maxzoom"] >= zooms[0]
    ]
    return doc


def export_pmtiles(
    service: TileService, engine: Engine, city_id: str, zooms: range, path: Path
) -> ExportReport:
    """Write the public city tileset at ``zooms`` to ``path`` (replaced atomically)."""
    started = time.perf_counter()
    tiles = sorted(
        city_tiles(service, city_id, PUBLIC, zooms), key=lambda t: zxy_to_tileid(t.z, t.x, t.y)
    )
    metadata = _metadata(service, city_id, zooms)
    # the keys a static site searches Chinese names by pinyin with (it has no API to ask)
    plans = service.city_layers(city_id, PUBLIC)
    city = service.catalog.city(city_id)
    metadata[PINYIN_METADATA] = city_keys(engine, [p.layer for p in plans], city)
    west, south, east, north = city_bounds(service, city_id, PUBLIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    written = 0
    try:
        with open(tmp, "wb") as fh:
            writer = Writer(fh)
            for tile in tiles:
                gz = service.tile(
                    engine, service.city_tileset(city_id, PUBLIC, tile.z, searchable=True), tile
                )
                if gz:
                    writer.write_tile(zxy_to_tileid(tile.z, tile.x, tile.y), gz)
                    written += 1
            if not written:
                raise DigitalCityError(f"{city_id}: no public tile has data at zooms {zooms}")
            centre_lon, centre_lat = service.catalog.city(city_id).center or (
                (west + east) / 2,
                (south + north) / 2,
            )
            header = {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": min(max(metadata["center"][2], zooms[0]), zooms[-1]),
                "center_lon_e7": int(centre_lon * 1e7),
                "center_lat_e7": int(centre_lat * 1e7),
            }
            writer.finalize(header, metadata)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    layers = tuple(layer["id"] for layer in metadata["vector_layers"])
    return ExportReport(
        path, written, layers, path.stat().st_size, round(time.perf_counter() - started, 2)
    )
