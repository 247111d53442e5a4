"""The fixed tile list, its request paths on each server, and the raw SQL floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.common.runner import thread_connection
from digitalcity.tiles.query import driver_sql, tile_statement
from digitalcity.tiles.service import TileService, Tileset
from digitalcity.tiles.tms import TileIndex, tile_matrix_set

ZOOMS = range(10, 17)
LAYER_FROM = 13  # the layer's own tileset is requested from this zoom


@dataclass(frozen=True)
class TileDataset:
    """What one dataset's run requests: the city tileset around ``centre`` and one layer's
    own tileset (measured alone, and against tipg)."""

    label: str
    city: str
    layer: str
    centre: tuple[float, float]  # lon, lat


def tile_list(centre: tuple[float, float]) -> list[TileIndex]:
    """A fixed list: at z10-z16 the 3 x 3 block of tiles around ``centre`` (lon, lat)."""
    tms = tile_matrix_set("WebMercatorQuad")
    tiles = []
    for z in ZOOMS:
        middle = tms.tile(*centre, z)
        tiles += [
            TileIndex(z, middle.x + dx, middle.y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ]
    return tiles


@dataclass(frozen=True)
class Target:
    """One request: its path on each server (None where a server has no such tileset)."""

    kind: str  # "city" or "layer"
    tile: TileIndex
    ours: str
    tipg: str | None


def targets(data: TileDataset, collection: str, schema: str) -> list[Target]:
    """Every tile of ``tile_list`` from the city tileset, and from ``LAYER_FROM`` on from the
    layer's own (``collection``: its API id; ``schema``: the city's, where tipg finds it)."""
    out = []
    for t in tile_list(data.centre):
        out.append(Target("city", t, f"/tiles/{data.city}/{t.z}/{t.x}/{t.y}", None))
        if t.z >= LAYER_FROM:
            ours = f"/collections/{collection}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            tipg = f"/collections/{schema}.{data.layer}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            out.append(Target("layer", t, ours, tipg))
    return out


def floor_jobs(
    service: TileService,
    dsn: str,
    tilesets: Sequence[tuple[Tileset, TileIndex]],
    *,
    copies: bool = True,
):
    """The statements our server runs, executed straight through psycopg (one conn per thread).

    With ``copies=False``, the same ST_AsMVT statements on the source tables (reprojected and
    simplified per request): the plain SQL one would write without our EPSG:3857 copies.
    """
    conn = thread_connection(dsn)
    jobs = []
    for tileset, tile in tilesets:
        if not tileset.plans:
            jobs.append(lambda: 204)  # the server answers these without a query too
            continue
        sources = service.sources(tileset, copies=copies)
        statement, params = tile_statement(sources, tileset.city, tile)
        sql = driver_sql(statement)

        def job(sql: str = sql, params: dict = params) -> int:
            data = conn().execute(sql, params).fetchone()[0]
            return 200 if data else 204

        jobs.append(job)
    return jobs
