"""``python -m bench.analysis [--scale 20] [--repeat 3] [--keep]``: see the package docstring."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.analysis import catchments, landuse
from bench.analysis.landuse import timed
from bench.analysis.synthetic import CITY, Scaled, other_dataset, real, synthetic
from bench.analysis.table import Row, print_table
from bench.common.city import load_city_layers, osmlike_db
from bench.common.cluster import BenchDB, throwaway_cluster
from bench.common.osmlike import CITY as OSM_CITY
from digitalcity.catalog import load_catalog
from digitalcity.city import City

TARGET_S = 5.0  # catchments of all Cambridge schools
BOTH = (5.0, 10.0, 15.0)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.analysis", description=__doc__)
    parser.add_argument("--scale", type=int, default=20, help="SYNTHETIC copies (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; median reported")
    parser.add_argument("--keep", action="store_true", help="keep the temporary cluster")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    args = parser.parse_args(argv)
    if args.scale < 1 or args.repeat < 1:
        parser.error("--scale and --repeat must be at least 1")
    return args


def _catchment_rows(city: City, repeat: int) -> tuple[list[Row], list[str]]:
    """Ours cold (cache emptied) and warm, and the in-memory equivalent, ``repeat`` times."""
    local = city.local_crs
    keys = ("cold", "warm", "warm3", "read", "graph", "c15", "c3")
    times: dict[str, list[float]] = {k: [] for k in keys}
    for run_no in range(repeat):
        catchments.drop_cache(city)
        seconds, ours15 = timed(catchments.ours, city, (15.0,))
        times["cold"].append(seconds)
        seconds, ours15 = timed(catchments.ours, city, (15.0,))
        times["warm"].append(seconds)
        seconds, ours3 = timed(catchments.ours, city, BOTH)
        times["warm3"].append(seconds)
        seconds, inputs = timed(catchments.read, city)
        times["read"].append(seconds)
        seconds, graph = timed(catchments.build_graph, inputs.streets, local)
        times["graph"].append(seconds)
        seconds, gpd15 = timed(catchments.catchments, graph, inputs.schools, local, (15.0,))
        times["c15"].append(seconds)
        seconds, gpd3 = timed(catchments.catchments, graph, inputs.schools, local, BOTH)
        times["c3"].append(seconds)
        print(
            f"  run {run_no + 1}/{repeat} catchments: PostGIS cold {times['cold'][-1]:.2f} s, "
            f"cached {times['warm'][-1]:.2f} s, 5/10/15 {times['warm3'][-1]:.2f} s; in memory "
            f"read {times['read'][-1]:.2f} s, graph {times['graph'][-1]:.2f} s, "
            f"15 min {times['c15'][-1]:.2f} s, 5/10/15 {times['c3'][-1]:.2f} s",
            flush=True,
        )
    t = {k: median(v) for k, v in times.items()}
    size = f"{len(inputs.schools)} schools, {len(graph.lines):,} edges"
    target = f"PostGIS < {TARGET_S:g} s"
    rows = [
        Row("catchments 15 min, cold (graph built)", size, t["cold"],
            t["graph"] + t["c15"], t["read"], target, TARGET_S),
        Row("catchments 15 min, graph cached", size, t["warm"], t["c15"], None, target, TARGET_S),
        Row("catchments 5/10/15 min, graph cached", size, t["warm3"], t["c3"], None, target,
            TARGET_S),
    ]  # fmt: skip
    notes = []
    for label, ours_frame, gpd_frame in (("15", ours15, gpd15), ("5/10/15", ours3, gpd3)):
        worst, matched = catchments.compare(ours_frame, gpd_frame)
        notes.append(
            f"catchments {label} min: {matched} of {len(ours_frame)} matched by school and "
            f"time; max relative area difference PostGIS vs in-memory {worst * 100:.3f} %"
        )
    return rows, notes


def _landuse_row(size: Scaled, repeat: int) -> tuple[Row, str]:
    timing = landuse.measure(size, repeat)
    _, check = timing.check()
    row = Row(
        f"landuse by neighbourhood, {size.label}",
        f"{size.parcel_rows:,} parcels × {size.zone_rows} zones",
        timing.ours_s,
        timing.compute_s,
        timing.read_s,
        "PostGIS < gpd compute",
    )
    return row, f"landuse {size.label}: {check}"


def _run(db: BenchDB, work: Path, scale: int, repeat: int) -> tuple[list[Row], list[str]]:
    catalog = load_catalog(db.settings.layers_dir)
    started = time.perf_counter()
    load_city_layers(db, catalog, CITY)
    print(f"Cambridge loaded by our loaders in {time.perf_counter() - started:.1f} s", flush=True)
    city = City(catalog, catalog.city(CITY), db.engine, "land_bureau")
    rows, notes = _catchment_rows(city, repeat)
    for n in sorted({1, min(5, scale), scale}):
        size = real(city) if n == 1 else synthetic(db, city, n, work)
        row, note = _landuse_row(size, repeat)
        rows.append(row)
        notes.append(note)
    return rows, notes


def _run_osm(repeat: int) -> tuple[list[Row], list[str]]:
    """Land use by district on the SYNTHETIC OSM-like dataset (its land-use polygons are the
    parcels role, a grid of 2 km squares the districts). Its roads are random walks, not a
    street network, so catchments are measured on Cambridge only."""
    with osmlike_db() as db:
        city = City(db.catalog, db.catalog.city(OSM_CITY), db.engine, "land_bureau")
        row, note = _landuse_row(other_dataset(city, "SYNTHETIC OSM-like"), repeat)
    return [row], [note]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    prefix = "digitalcity-bench-analysis-"
    rows: list[Row] = []
    notes: list[str] = []
    if args.dataset in ("cambridge", "both"):
        with (
            throwaway_cluster(prefix, keep=args.keep) as db,
            tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        ):
            rows, notes = _run(db, Path(tmp), args.scale, args.repeat)
            if args.keep:
                print(f"cluster kept: {db.settings.data_dir} (port {db.settings.db_port})")
    if args.dataset in ("osm", "both"):
        more_rows, more_notes = _run_osm(args.repeat)
        rows += more_rows
        notes += more_notes
    print(
        f"\nAnalysis benchmark: PostGIS (digitalcity.analysis) vs geopandas/networkx in memory; "
        f"one cluster, one run; medians of {args.repeat}; SYNTHETIC = N translated copies of "
        f"the real parcels and neighbourhoods; SYNTHETIC OSM-like: bench/common/osmlike.py\n"
    )
    print_table(rows)
    print()
    for note in notes:
        print(f"  check: {note}")
    print(
        "  notes: PostGIS catchments include the residents of each catchment (areal "
        "interpolation from census blocks), the in-memory ones only the geometry; 'cold' "
        "empties the analysis cache first so the street graph is built; with the graph cached "
        "the in-memory side reuses its graph too (nothing re-read). Ratio > 1: PostGIS faster."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
