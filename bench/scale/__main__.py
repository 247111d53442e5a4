"""``python -m bench.scale``: see the package docstring."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import morecantile
import sqlalchemy as sa

from bench.analysis.synthetic import scaled_city, write_zones, zones_layer
from bench.common.city import load_city_layers, settle_statistics
from bench.common.cluster import BenchDB, throwaway_cluster
from bench.ingest import measure
from bench.ingest.inputs import PARCELS_PATH, bench_layer, write_synthetic
from bench.scale import standbys
from digitalcity.analysis import landuse_statistics
from digitalcity.catalog import CityDef, load_catalog
from digitalcity.city import City
from digitalcity.db.driver import streamed_rows
from digitalcity.db.engine import make_engine
from digitalcity.db.live import VersionMap
from digitalcity.db.routing import api_parallel_workers
from digitalcity.ingest import load_layer
from digitalcity.planning.card import identify
from digitalcity.query.items import ItemsQuery
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.prepare import copy_table, prepare_layer
from digitalcity.tiles.service import TileService
from digitalcity.tiles.tms import TileIndex

CITY = "cambridge"
ZOOMS = (12, 13, 14, 15, 16)
PAGE_DEG = (0.02, 0.012)
WEB_MERCATOR = morecantile.tms.get(
    "WebMercatorQuad"
)  # a bbox of ~1,000 parcels in central Cambridge (lon, lat degrees)


def side_by_side(city: CityDef, scale: int) -> tuple[list[tuple[float, float]], tuple[float, ...]]:
    """``scale`` offsets (degrees) placing copies of the city's bbox side by side, copy 0 in
    place, the rest to the east and north; and the bbox holding them all."""
    assert city.bbox is not None
    minx, miny, maxx, maxy = city.bbox
    width, height = maxx - minx, maxy - miny
    cols = math.ceil(math.sqrt(scale))
    rows = math.ceil(scale / cols)
    cells = [(c * width, r * height) for r in range(rows) for c in range(cols)][:scale]
    return cells, (minx, miny, minx + cols * width, miny + rows * height)


@dataclass
class Size:
    scale: int
    rows: int = 0
    load_s: float = 0.0
    peak_mib: float = 0.0
    copy_s: float = 0.0
    db_mib: float = 0.0
    tiles_ms: dict[int, list[float]] = field(default_factory=dict)
    # copy 0's tiles (the same tile keys at every size): key -> (ms, parcels in the tile)
    own_tiles: dict[tuple[int, int, int], tuple[float, int]] = field(default_factory=dict)
    page_ms: list[float] = field(default_factory=list)
    page_rows: list[int] = field(default_factory=list)
    identify_ms: list[float] = field(default_factory=list)
    landuse_s: float = 0.0


def _ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _points(db: BenchDB, city: CityDef, count: int, seed: int) -> list[tuple[float, float]]:
    """Points on ``count`` parcels of the real city (lon/lat), chosen at random (``seed``)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "  # noqa: S608 - schema from the catalog
                f"FROM {city.schema_name}.parcels ORDER BY md5(fid::text || :seed) LIMIT :n) s"
            ),
            {"seed": str(seed), "n": count},
        ).all()
    return [(float(x), float(y)) for x, y in rows]


def _tile_rows(db: BenchDB, copy: str, z: int, x: int, y: int) -> int:
    """Parcels of the EPSG:3857 tile copy ``copy`` within the tile and its margin."""
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


def _like_for_like(base: Size, size: Size, z: int) -> tuple[float, int, int]:
    """p95 at ``size`` / p95 at ``base`` over copy 0's tiles at zoom ``z`` that hold the same
    parcels at both sizes (no neighbouring copy reaches them); and how many of how many."""
    same = [
        key
        for key, (_, count) in base.own_tiles.items()
        if key[0] == z and key in size.own_tiles and size.own_tiles[key][1] == count
    ]
    total = sum(1 for key in base.own_tiles if key[0] == z)
    if not same:
        return float("nan"), 0, total
    ratio = _p([size.own_tiles[k][0] for k in same], 0.95) / _p(
        [base.own_tiles[k][0] for k in same], 0.95
    )
    return ratio, len(same), total


def measure_size(
    db: BenchDB, real_city: City, scale: int, samples: int, work: Path, api: sa.Engine
) -> Size:
    """Load the SYNTHETIC city ×``scale`` and measure it; ``api`` is an engine set up as the
    API's (tiles, pages and identify run on it)."""
    catalog = real_city.catalog
    base = catalog.city(CITY)
    offsets, bbox = side_by_side(base, scale)
    wide = base.model_copy(update={"bbox": bbox})
    size = Size(scale)
    source = db.settings.source_data_dir
    parcels_path = work / f"SYNTHETIC_parcels_x{scale}.gpkg"
    zones_path = work / f"SYNTHETIC_neighbourhoods_x{scale}.gpkg"
    print(f"SYNTHETIC ×{scale}: writing…", flush=True)
    write_synthetic(source / PARCELS_PATH, parcels_path, wide, scale, offsets)
    parcels = bench_layer(
        catalog.layer(CITY, "parcels"), f"bench_parcels_x{scale}", parcels_path, join=True
    )
    run = measure.ours(
        db, {"path": str(parcels_path), "id": parcels.id, "join": True, "bbox": list(bbox)}
    )
    size.rows, size.load_s = run.rows, run.seconds
    size.peak_mib = (run.peak_kib - int(run.extra["baseline_kib"])) / 1024  # type: ignore[call-overload]
    zones_base = catalog.layer(CITY, "neighbourhoods")
    write_zones(source / zones_base.source.path, zones_path, wide, scale, offsets)
    zones = zones_layer(zones_base, f"bench_neighbourhoods_x{scale}", zones_path)
    load_layer(zones, wide, db.engine, db.settings, force=True)
    city = scaled_city(City(catalog, wide, db.engine, "admin"), parcels, zones)
    api_city = scaled_city(City(catalog, wide, api, "admin"), parcels, zones)

    versions = VersionMap()
    versions.load(db.engine)
    state = versions.get(CITY, parcels.id)
    assert state is not None
    size.copy_s = _ms(lambda: prepare_layer(db.engine, parcels, wide, state.version)) / 1000
    settle_statistics(db)
    with db.engine.connect() as conn:
        table = f"{wide.schema_name}.{parcels.id}"
        total = conn.execute(
            sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
        ).scalar_one()
        total += conn.execute(
            sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"),
            {"t": copy_table(parcels, state.version)},
        ).scalar_one()
    size.db_mib = total / 1024 / 1024

    last_dx, last_dy = offsets[-1]
    points = _points(db, base, samples, seed=1)  # the same parcels at every size
    probes = [p for xy in points for p in (xy, (xy[0] + last_dx, xy[1] + last_dy))]

    service = TileService(city.catalog, TileOptions(tiles_dir=work, cache=False), versions=versions)
    service.copies[(CITY, parcels.id)] = state.version
    tileset = service.layer_tileset(parcels, "admin")
    assert tileset is not None
    for x, y in probes[:4]:  # warm up: connections, statement compilation, the card's layers
        t = WEB_MERCATOR.tile(x, y, 14)
        service.render(api, tileset, TileIndex(t.z, t.x, t.y))
        identify(api_city, x, y)
    for z in ZOOMS:
        tiles = {WEB_MERCATOR.tile(x, y, z) for x, y in probes}
        own = {WEB_MERCATOR.tile(x, y, z) for x, y in points}
        size.tiles_ms[z] = []
        for t in sorted(tiles):
            ms = _ms(lambda t=t: service.render(api, tileset, TileIndex(t.z, t.x, t.y)))
            size.tiles_ms[z].append(ms)
            if t in own:
                count = _tile_rows(db, copy_table(parcels, state.version), t.z, t.x, t.y)
                size.own_tiles[(t.z, t.x, t.y)] = (ms, count)
    for x, y in probes:
        query = ItemsQuery(
            layer=parcels,
            city=wide,
            role="admin",
            bbox=(
                x - PAGE_DEG[0] / 2,
                y - PAGE_DEG[1] / 2,
                x + PAGE_DEG[0] / 2,
                y + PAGE_DEG[1] / 2,
            ),
            limit=1000,
        )
        sql, params = query.page_sql(db.engine.dialect, extra_row=True)
        rows: list[int] = []
        size.page_ms.append(
            _ms(lambda s=sql, p=params, r=rows: r.append(sum(1 for _ in streamed_rows(api, s, p))))
        )
        size.page_rows.append(rows[0])
    for x, y in probes:
        size.identify_ms.append(_ms(lambda x=x, y=y: identify(api_city, x, y)))
    runs = [_ms(lambda: landuse_statistics(city, level="level1", group_by=zones.id)) / 1000]
    while sum(runs) < 5 and len(runs) < 5:  # small sizes: a median, not one noisy run
        runs.append(_ms(lambda: landuse_statistics(city, level="level1", group_by=zones.id)) / 1000)
    size.landuse_s = median(runs)
    return size


def buffer_pool_mb() -> int:
    """A quarter of the machine's RAM (MiB), as tuning guides advise for shared_buffers."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(256, pages // 4 // 1024 // 1024)


def print_table(sizes: list[Size], buffers_mb: int) -> None:
    base = sizes[0]
    print(
        "\nSYNTHETIC cities (translated copies of the real Cambridge parcels), one cluster "
        f"(shared_buffers {buffers_mb:,} MiB):"
    )
    head = f"{'':<34}" + "".join(f"{'×' + str(s.scale):>14}" for s in sizes)
    print(head)

    def row(name: str, values: list[str]) -> None:
        print(f"{name:<34}" + "".join(f"{v:>14}" for v in values))

    row("parcels", [f"{s.rows:,}" for s in sizes])
    row("ingest (s)", [f"{s.load_s:.1f}" for s in sizes])
    row("ingest rows/s", [f"{s.rows / s.load_s:,.0f}" for s in sizes])
    row("ingest peak RSS (MiB)", [f"{s.peak_mib:.0f}" for s in sizes])
    row("tile copy build (s)", [f"{s.copy_s:.1f}" for s in sizes])
    row("table + tile copy (MiB)", [f"{s.db_mib:,.0f}" for s in sizes])
    for z in ZOOMS:
        row(
            f"tile z{z} p50 / p95 (ms)",
            [f"{_p(s.tiles_ms[z], 0.5):.0f}/{_p(s.tiles_ms[z], 0.95):.0f}" for s in sizes],
        )
    row(
        "  p95 ratio to ×1 (worst zoom)",
        [
            f"{max(_p(s.tiles_ms[z], 0.95) / _p(base.tiles_ms[z], 0.95) for z in ZOOMS):.2f}"
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
    row("1,000-item page p95 (ms)", [f"{_p(s.page_ms, 0.95):.0f}" for s in sizes])
    row("  rows per page (median)", [f"{median(s.page_rows):.0f}" for s in sizes])
    row("  p95 ratio to ×1", [f"{_p(s.page_ms, 0.95) / _p(base.page_ms, 0.95):.2f}" for s in sizes])
    row("identify p95 (ms)", [f"{_p(s.identify_ms, 0.95):.0f}" for s in sizes])
    row(
        "  p95 ratio to ×1",
        [f"{_p(s.identify_ms, 0.95) / _p(base.identify_ms, 0.95):.2f}" for s in sizes],
    )
    row("land use by neighbourhood (s)", [f"{s.landuse_s:.2f}" for s in sizes])
    row(
        "  per parcel, ratio to ×1",
        [f"{(s.landuse_s / s.rows) / (base.landuse_s / base.rows):.2f}" for s in sizes],
    )
    print(
        "Like for like: copy 0's tiles that hold the same parcels at both sizes (p95 over\n"
        "those, ratio to ×1; (n/m): n such tiles of the m probed). Elsewhere a tile near a\n"
        "copy's edge holds the neighbouring copies' parcels too, which ×1 has not.\n"
        "Targets: tile and page p95 ratio ≤ 1.5; peak RSS flat; land use per parcel ≤ 1.0."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--scales", default="1,10,100", help="comma-separated copies (1 first)")
    parser.add_argument("--samples", type=int, default=30, help="probe points per copy")
    parser.add_argument(
        "--standbys", action="store_true", help="also the API over 1 and 2 standbys"
    )
    args = parser.parse_args(argv)
    scales = sorted({int(s) for s in args.scales.split(",")})
    if scales[0] != 1:
        scales.insert(0, 1)
    buffers = buffer_pool_mb()
    with (
        tempfile.TemporaryDirectory(prefix="digitalcity-scale-") as tmp,
        throwaway_cluster(
            "digitalcity-bench-scale-", pool_size=10, shared_buffers_mb=buffers
        ) as db,
    ):
        catalog = load_catalog(db.settings.layers_dir)
        started = time.perf_counter()
        load_city_layers(db, catalog, CITY)
        print(f"real Cambridge loaded in {time.perf_counter() - started:.1f} s", flush=True)
        real = City(catalog, catalog.city(CITY), db.engine, "admin")
        api = make_engine(db.settings, parallel_workers=api_parallel_workers(db.settings))
        sizes = [measure_size(db, real, n, args.samples, Path(tmp), api) for n in scales]
        api.dispose()
        print_table(sizes, buffers)
    if args.standbys:
        standbys.main()


if __name__ == "__main__":
    main()
