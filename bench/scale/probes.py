"""What every scale run measures of one layer, whatever its dataset: the sizes, tiles z12–z16
(p50 / p95 per zoom, and like for like over copy 0's own tiles) and 1,000-item bbox pages at
probe points over copy 0 and over the last copy; and the table printing them per size."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import morecantile
import sqlalchemy as sa

from bench.common.city import settle_statistics
from bench.common.cluster import BenchDB
from digitalcity.catalog import Catalog, CityDef, LayerDef
from digitalcity.db.driver import streamed_rows
from digitalcity.db.live import VersionMap
from digitalcity.query.items import ItemsQuery
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.prepare import copy_table, prepare_layer
from digitalcity.tiles.service import TileService
from digitalcity.tiles.tms import TileIndex

ZOOMS = (12, 13, 14, 15, 16)
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
Point = tuple[float, float]


@dataclass
class Size:
    scale: int
    rows: int = 0
    load_s: float = 0.0
    peak_mib: float = 0.0
    copy_s: float = 0.0
    db_mib: float = 0.0
    tiles_ms: dict[int, list[float]] = field(default_factory=dict)
    # copy 0's tiles (the same tile keys at every size): key -> (ms, features in the tile)
    own_tiles: dict[tuple[int, int, int], tuple[float, int]] = field(default_factory=dict)
    page_ms: list[float] = field(default_factory=list)
    page_rows: list[int] = field(default_factory=list)
    identify_ms: list[float] = field(default_factory=list)
    landuse_s: float = 0.0


def buffer_pool_mb() -> int:
    """A quarter of the machine's RAM (MiB), as tuning guides advise for shared_buffers."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(256, pages // 4 // 1024 // 1024)


def ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def side_by_side(city: CityDef, scale: int) -> tuple[list[Point], tuple[float, ...]]:
    """``scale`` offsets (degrees) placing copies of the city's bbox side by side, copy 0 in
    place, the rest to the east and north; and the bbox holding them all."""
    assert city.bbox is not None
    minx, miny, maxx, maxy = city.bbox
    width, height = maxx - minx, maxy - miny
    cols = math.ceil(math.sqrt(scale))
    rows = math.ceil(scale / cols)
    cells = [(c * width, r * height) for r in range(rows) for c in range(cols)][:scale]
    return cells, (minx, miny, minx + cols * width, miny + rows * height)


def measure_storage(size: Size, db: BenchDB, layer: LayerDef, city: CityDef) -> VersionMap:
    """After ``layer``'s load: the time to (re)build its tile copy, statistics settled, and
    the size of its table and copy, into ``size``; returns the versions as loaded."""
    versions = VersionMap()
    versions.load(db.engine)
    state = versions.get(city.id, layer.id)
    assert state is not None
    size.copy_s = ms(lambda: prepare_layer(db.engine, layer, city, state.version)) / 1000
    settle_statistics(db)
    size.db_mib = table_mib(db, layer, city, state.version)
    return versions


def table_mib(db: BenchDB, layer: LayerDef, city: CityDef, version: int) -> float:
    """The layer's table and its tile copy, MiB on disk (indexes included)."""
    total = 0
    with db.engine.connect() as conn:
        for table in (f"{city.schema_name}.{layer.id}", copy_table(layer, version)):
            total += conn.execute(
                sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
            ).scalar_one()
    return total / 1024 / 1024


def _tile_rows(db: BenchDB, copy: str, z: int, x: int, y: int) -> int:
    """Features of the EPSG:3857 tile copy ``copy`` within the tile and its margin."""
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    f"SELECT count(*) FROM {copy} "  # noqa: S608 - the bench's own table
                    "WHERE geom && ST_TileEnvelope(:z, :x, :y, margin => 0.0625)"
                ),
                {"z": z, "x": x, "y": y},
            ).scalar_one()
        )


def probe_pairs(points: list[Point], last: Point) -> list[Point]:
    """Each point over copy 0 and its twin over the last copy (``last``: its offset)."""
    return [p for xy in points for p in (xy, (xy[0] + last[0], xy[1] + last[1]))]


def measure_probes(
    size: Size,
    db: BenchDB,
    api: sa.Engine,
    catalog: Catalog,
    layer: LayerDef,
    city: CityDef,
    versions: VersionMap,
    points: list[Point],
    last: Point,
    page_deg: tuple[float, float],
    work: Path,
) -> None:
    """Tiles of ``layer`` at z12–z16 and its 1,000-item pages of ``page_deg`` (lon, lat
    degrees) around every probe (``probe_pairs``), on ``api`` (an engine set up as the API's);
    ``catalog`` holds ``layer``, ``versions`` its loaded version."""
    probes = probe_pairs(points, last)
    state = versions.get(city.id, layer.id)
    assert state is not None
    version = state.version
    service = TileService(catalog, TileOptions(tiles_dir=work, cache=False), versions=versions)
    service.copies[(city.id, layer.id)] = version
    tileset = service.layer_tileset(layer, "admin")
    assert tileset is not None
    for x, y in probes[:4]:  # warm up: connections, statement compilation
        t = WEB_MERCATOR.tile(x, y, 14)
        service.render(api, tileset, TileIndex(t.z, t.x, t.y))
    copy = copy_table(layer, version)
    for z in ZOOMS:
        tiles = {WEB_MERCATOR.tile(x, y, z) for x, y in probes}
        own = {WEB_MERCATOR.tile(x, y, z) for x, y in points}
        size.tiles_ms[z] = []
        for t in sorted(tiles):
            took = ms(lambda t=t: service.render(api, tileset, TileIndex(t.z, t.x, t.y)))
            size.tiles_ms[z].append(took)
            if t in own:
                size.own_tiles[(t.z, t.x, t.y)] = (took, _tile_rows(db, copy, t.z, t.x, t.y))
    half_x, half_y = page_deg[0] / 2, page_deg[1] / 2
    for x, y in probes:
        query = ItemsQuery(
            layer=layer,
            city=city,
            role="admin",
            bbox=(x - half_x, y - half_y, x + half_x, y + half_y),
            limit=1000,
        )
        sql, params = query.page_sql(db.engine.dialect, extra_row=True)
        rows: list[int] = []
        size.page_ms.append(
            ms(lambda s=sql, p=params, r=rows: r.append(sum(1 for _ in streamed_rows(api, s, p))))
        )
        size.page_rows.append(rows[0])


def _like_for_like(base: Size, size: Size, z: int) -> tuple[float, int, int]:
    """p95 at ``size`` / p95 at ``base`` over copy 0's tiles at zoom ``z`` that hold the same
    features at both sizes (no neighbouring copy reaches them); and how many of how many."""
    same = [
        key
        for key, (_, count) in base.own_tiles.items()
        if key[0] == z and key in size.own_tiles and size.own_tiles[key][1] == count
    ]
    total = sum(1 for key in base.own_tiles if key[0] == z)
    if not same:
        return float("nan"), 0, total
    ratio = percentile([size.own_tiles[k][0] for k in same], 0.95) / percentile(
        [base.own_tiles[k][0] for k in same], 0.95
    )
    return ratio, len(same), total


def print_table(sizes: list[Size], title: str, features: str) -> None:
    """One column per size; identify and land use rows only where they were measured."""
    base = sizes[0]
    print(f"\n{title}:")
    print(f"{'':<34}" + "".join(f"{'×' + str(s.scale):>14}" for s in sizes))

    def row(name: str, values: list[str]) -> None:
        print(f"{name:<34}" + "".join(f"{v:>14}" for v in values))

    def ratio_p95(values: Callable[[Size], list[float]]) -> list[str]:
        return [
            f"{percentile(values(s), 0.95) / percentile(values(base), 0.95):.2f}" for s in sizes
        ]

    row(features, [f"{s.rows:,}" for s in sizes])
    row("ingest (s)", [f"{s.load_s:.1f}" for s in sizes])
    row("ingest rows/s", [f"{s.rows / s.load_s:,.0f}" for s in sizes])
    row("ingest peak RSS (MiB)", [f"{s.peak_mib:.0f}" for s in sizes])
    row("tile copy build (s)", [f"{s.copy_s:.1f}" for s in sizes])
    row("table + tile copy (MiB)", [f"{s.db_mib:,.0f}" for s in sizes])
    for z in ZOOMS:
        row(
            f"tile z{z} p50 / p95 (ms)",
            [
                f"{percentile(s.tiles_ms[z], 0.5):.0f}/{percentile(s.tiles_ms[z], 0.95):.0f}"
                for s in sizes
            ],
        )
    row(
        "  p95 ratio to ×1 (worst zoom)",
        [
            f"{max(percentile(s.tiles_ms[z], 0.95) / percentile(base.tiles_ms[z], 0.95) for z in ZOOMS):.2f}"
            for s in sizes
        ],
    )
    for z in ZOOMS:
        cells = []
        for s in sizes:
            ratio, same, total = _like_for_like(base, s, z)
            cells.append(f"{ratio:.2f} ({same}/{total})")
        row(f"  z{z} like for like", cells)
    worst = []
    for s in sizes:
        ratios = [r for z in ZOOMS if not math.isnan(r := _like_for_like(base, s, z)[0])]
        worst.append(f"{max(ratios):.2f}" if ratios else "-")
    row("  like for like (worst zoom)", worst)
    row("1,000-item page p95 (ms)", [f"{percentile(s.page_ms, 0.95):.0f}" for s in sizes])
    row("  rows per page (median)", [f"{median(s.page_rows):.0f}" for s in sizes])
    row("  p95 ratio to ×1", ratio_p95(lambda s: s.page_ms))
    if base.identify_ms:
        row("identify p95 (ms)", [f"{percentile(s.identify_ms, 0.95):.0f}" for s in sizes])
        row("  p95 ratio to ×1", ratio_p95(lambda s: s.identify_ms))
    if base.landuse_s:
        row("land use by neighbourhood (s)", [f"{s.landuse_s:.2f}" for s in sizes])
        row(
            "  per parcel, ratio to ×1",
            [f"{(s.landuse_s / s.rows) / (base.landuse_s / base.rows):.2f}" for s in sizes],
        )
    print(
        f"Like for like: copy 0's tiles that hold the same {features} at both sizes (p95 over\n"
        "those, ratio to ×1; (n/m): n such tiles of the m probed). Elsewhere a tile near a\n"
        "copy's edge holds the neighbouring copies' features too, which ×1 has not.\n"
        "Targets: tile and page p95 ratio ≤ 1.5; peak RSS flat; land use per parcel ≤ 1.0."
    )
