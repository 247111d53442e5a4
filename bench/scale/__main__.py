"""``python -m bench.scale``: see the package docstring."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from statistics import median

import sqlalchemy as sa

from bench.analysis.synthetic import scaled_city, write_zones, zones_layer
from bench.common.city import load_city_layers
from bench.common.cluster import BenchDB, throwaway_cluster
from bench.ingest import measure
from bench.ingest.inputs import PARCELS_PATH, bench_layer, write_synthetic
from bench.scale import osm, standbys
from bench.scale.probes import (
    Size,
    buffer_pool_mb,
    measure_probes,
    measure_storage,
    ms,
    print_table,
    probe_pairs,
    side_by_side,
)
from digitalcity.analysis import landuse_statistics
from digitalcity.catalog import CityDef, load_catalog
from digitalcity.city import City
from digitalcity.db.engine import make_engine
from digitalcity.db.routing import api_parallel_workers
from digitalcity.ingest import load_layer
from digitalcity.planning.card import identify

CITY = "cambridge"
PAGE_DEG = (0.02, 0.012)  # a bbox of ~1,000 parcels in central Cambridge (lon, lat degrees)


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

    versions = measure_storage(size, db, parcels, wide)
    points = _points(db, base, samples, seed=1)  # the same parcels at every size
    measure_probes(size, db, api, city.catalog, parcels, wide, versions, points, offsets[-1],
                   PAGE_DEG, work)  # fmt: skip
    probes = probe_pairs(points, offsets[-1])
    for x, y in probes[:4]:  # warm up: connections, the card's layers
        identify(api_city, x, y)
    for x, y in probes:
        size.identify_ms.append(ms(lambda x=x, y=y: identify(api_city, x, y)))
    runs = [ms(lambda: landuse_statistics(city, level="level1", group_by=zones.id)) / 1000]
    while sum(runs) < 5 and len(runs) < 5:  # small sizes: a median, not one noisy run
        runs.append(ms(lambda: landuse_statistics(city, level="level1", group_by=zones.id)) / 1000)
    size.landuse_s = median(runs)
    return size


def _cambridge(scales: list[int], samples: int) -> None:
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
        sizes = [measure_size(db, real, n, samples, Path(tmp), api) for n in scales]
        api.dispose()
        print_table(
            sizes,
            "SYNTHETIC cities (translated copies of the real Cambridge parcels), one cluster "
            f"(shared_buffers {buffers:,} MiB)",
            "parcels",
        )


def _scales(text: str) -> list[int]:
    scales = sorted({int(s) for s in text.split(",")})
    return scales if scales[0] == 1 else [1, *scales]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--scales", default="1,10,100", help="comma-separated copies (1 first)")
    parser.add_argument(
        "--osm-scales", default="1,10", help="copies of the SYNTHETIC OSM-like roads"
    )
    parser.add_argument("--samples", type=int, default=30, help="probe points per copy")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    parser.add_argument(
        "--standbys", action="store_true", help="also the API over 1 and 2 standbys"
    )
    args = parser.parse_args(argv)
    if args.dataset in ("cambridge", "both"):
        _cambridge(_scales(args.scales), args.samples)
    if args.dataset in ("osm", "both"):
        osm.main(_scales(args.osm_scales), args.samples)
    if args.standbys:
        standbys.main()


if __name__ == "__main__":
    main()
