"""Pre-generating the city tileset (and the public map's parts of it) into the cache, and
pruning tiles of old versions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from digitalcity.catalog import ROLES, Role
from digitalcity.errors import DigitalCityError
from digitalcity.tiles.cache import CITY_TILESET
from digitalcity.tiles.metadata import WORLD
from digitalcity.tiles.service import TileService, Tileset
from digitalcity.tiles.tms import TileIndex, max_zoom, tiles_for_bounds


def parse_zooms(text: str) -> range:
    """``"10-16"`` or ``"14"`` as a range of zooms; ``DigitalCityError`` when malformed."""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise DigitalCityError(f"zooms {text!r}: expected 'a-b' or 'z', e.g. 10-16") from None
    if not 0 <= first <= last <= max_zoom():
        raise DigitalCityError(f"zooms {text!r}: need 0 <= a <= b <= {max_zoom()}")
    return range(first, last + 1)


def city_bounds(
    service: TileService, city_id: str, role: Role
) -> tuple[float, float, float, float]:
    """Union of the lon/lat extents of the city's layers ``role`` may see."""
    boxes = [
        s.extent
        for p in service.city_layers(city_id, role)
        if (s := service.versions.get(city_id, p.layer.id)) is not None and s.extent
    ]
    if not boxes:
        city = service.catalog.city(city_id)
        return tuple(city.bbox) if city.bbox else WORLD  # type: ignore[return-value]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def city_tiles(service: TileService, city_id: str, role: Role, zooms: range) -> Iterator[TileIndex]:
    """Tiles of the city tileset at ``zooms`` that can hold data (within the layers' extents)."""
    box = city_bounds(service, city_id, role)
    for z in zooms:
        if service.city_tileset(city_id, role, z).plans:
            yield from tiles_for_bounds(box, range(z, z + 1))


@dataclass
class SeedReport:
    tiles: int = 0
    empty: int = 0
    bytes: int = 0
    seconds: float = 0.0


def seed(
    service: TileService, engine: Engine, city_id: str, zooms: range, roles: Iterable[Role]
) -> SeedReport:
    """Render (or find cached) every city tile at ``zooms`` for each distinct field set."""
    if not service.options.cache:
        raise DigitalCityError("the tile cache is disabled (DIGITALCITY_TILE_CACHE=0)")
    started = time.perf_counter()
    report = SeedReport()
    seen: set[str] = set()
    for role in roles:
        fieldsets = {service.city_tileset(city_id, role, z).key.fieldset for z in zooms}
        if fieldsets <= seen:
            continue  # another role already has exactly these layers and fields
        seen |= fieldsets
        for tile in city_tiles(service, city_id, role, zooms):
            for tileset in map_tilesets(service, city_id, role, tile.z):
                gz = service.tile(engine, tileset, tile)
                report.tiles += 1
                report.empty += not gz
                report.bytes += len(gz)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def map_tilesets(service: TileService, city_id: str, role: Role, z: int) -> list[Tileset]:
    """The city tilesets at ``z`` the maps of ``role`` read: the whole one, and for anonymous
    callers the public map's parts too (``TileService.public_map_parts``)."""
    out = [service.city_tileset(city_id, role, z)]
    if role == "anonymous":
        for part in service.public_map_parts(city_id):
            tileset = service.city_tileset(city_id, role, z, layers=part)
            if tileset.plans and tileset.key != out[0].key:
                out.append(tileset)
    return out


def live_keys(service: TileService) -> set[tuple[str, str, str]]:
    """(city, tileset, versions-hash) of every tileset a current request could use: another
    selection of the city tileset (``collections=``) than the maps' is rendered again."""
    live: set[tuple[str, str, str]] = set()
    for city_id in service.catalog.cities:
        for role in ROLES:
            for z in range(max_zoom() + 1):
                live.update(
                    (city_id, CITY_TILESET, t.key.versions)
                    for t in map_tilesets(service, city_id, role, z)
                )
            for layer in service.catalog.city_layers(city_id):
                tileset = service.layer_tileset(layer, role)
                if tileset is not None:
                    live.add((city_id, layer.id, tileset.key.versions))
    return live
