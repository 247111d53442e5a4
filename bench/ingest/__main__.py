"""``python -m bench.ingest [--scale 20] [--repeat 3] [--keep]``: see the package docstring."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common.cluster import BenchDB
from bench.common.osmlike import BUILDINGS_AS, COUNTS, PLACES_CSV, write_dataset
from bench.common.osmlike import CITY as OSM_CITY
from bench.ingest import measure
from bench.ingest.db import bench_cluster, postgis_version, settle
from bench.ingest.inputs import PARCELS_PATH, REAL_LAYER, write_synthetic
from bench.ingest.table import Case, OgrSpec, print_memory_scaling, print_table, print_total
from digitalcity.catalog import load_catalog
from digitalcity.config import Settings


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--scale", type=int, default=20, help="SYNTHETIC copies (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; median reported")
    parser.add_argument("--keep", action="store_true", help="keep the temporary cluster and files")
    parser.add_argument(
        "--dataset",
        choices=("cambridge", "osm", "both"),
        default="both",
        help="Cambridge parcels (real + SYNTHETIC copies), the SYNTHETIC OSM-like set, or both",
    )
    args = parser.parse_args(argv)
    if args.scale < 1 or args.repeat < 1:
        parser.error("--scale and --repeat must be at least 1")
    return args


def _synthetic_case(path: Path, scale: int, *, join: bool) -> Case:
    suffix = "" if join else "_nojoin"
    return Case(
        f"SYNTHETIC ×{scale}",
        "GeoPackage",
        "full" if join else "no join",
        {"id": f"bench_parcels_x{scale}{suffix}", "path": str(path), "join": join},
        OgrSpec(path, f"ogr_synthetic_x{scale}"),
    )


def _real_case(settings: Settings, layer_id: str, label: str, variant: str) -> Case:
    """A real Cambridge layer as its catalog definition reads it, and ogr2ogr on its file."""
    source = load_catalog(settings.layers_dir).layer(REAL_LAYER[0], layer_id).source
    ogr = OgrSpec(
        settings.source_data_dir / source.path,
        f"ogr_{layer_id}",
        assign_srs=source.crs,  # the TopoJSON files declare none
        layer=source.layer,
    )
    return Case(label, "TopoJSON", variant, {"layer": layer_id}, ogr)


def _inputs(work: Path, scale: int) -> dict[int, Path]:
    """SYNTHETIC GeoPackages ×1, ×scale/4 (to see memory against size) and ×scale."""
    settings = Settings(progress=False)
    city = load_catalog(settings.layers_dir).city(REAL_LAYER[0])
    real = settings.source_data_dir / PARCELS_PATH
    paths = {}
    for n in sorted({1, max(scale // 4, 1), scale}):
        started = time.perf_counter()
        paths[n] = work / f"SYNTHETIC_parcels_x{n}.gpkg"
        rows = write_synthetic(real, paths[n], city, n)
        print(
            f"SYNTHETIC ×{n}: {rows} rows, {paths[n].stat().st_size / 2**20:.1f} MiB, "
            f"written in {time.perf_counter() - started:.1f} s to {paths[n]}"
        )
    return paths


def _osm_cases(work: Path) -> list[Case]:
    """One case per layer of the SYNTHETIC OSM-like dataset."""
    started = time.perf_counter()
    layers = write_dataset(work / "osmlike", places=True, text_copies=True)
    gpkg = work / "osmlike" / "SYNTHETIC_osmlike.gpkg"
    print(f"SYNTHETIC OSM-like: written in {time.perf_counter() - started:.1f} s to {gpkg}")
    return [
        Case(
            f"SYNTHETIC osm {layer}",
            "GeoPackage",
            "osm",
            {"layers_dir": str(layers), "city": OSM_CITY, "layer": layer},
            OgrSpec(gpkg, f"ogr_osm_{layer}", layer=layer),
        )
        for layer in COUNTS
    ] + [
        *(
            Case(
                "SYNTHETIC osm buildings",
                driver,
                driver.lower(),
                {"layers_dir": str(layers), "city": OSM_CITY, "layer": layer_id},
                OgrSpec(work / "osmlike" / name, f"ogr_osm_{layer_id}"),
            )
            for layer_id, (name, driver) in BUILDINGS_AS.items()
        ),
        Case(
            "SYNTHETIC osm places",
            "CSV",
            "csv",
            {"layers_dir": str(layers), "city": OSM_CITY, "layer": "places"},
            OgrSpec(
                work / "osmlike" / PLACES_CSV,
                "ogr_osm_places",
                assign_srs="EPSG:4326",
                open_options=("X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y", "KEEP_GEOM_COLUMNS=NO"),
            ),
        ),
    ]


def _run(db: BenchDB, cases: list[Case], repeat: int) -> None:
    """Each case ``repeat`` times, ours (with and without its tile copy), ogr2ogr and
    ogr2ogr -makevalid interleaved (so all see the same load), each after ``settle``."""
    for run_no in range(repeat):
        for case in cases:
            settle(db)
            case.ours.append(measure.ours(db, case.ours_spec))
            settle(db)
            case.bare.append(measure.ours(db, {**case.ours_spec, "tile_copies": False}))
            spec = case.ogr_spec
            settle(db)
            case.ogr.append(
                measure.ogr2ogr(
                    db,
                    spec.source,
                    spec.table,
                    assign_srs=spec.assign_srs,
                    layer=spec.layer,
                    open_options=spec.open_options,
                )
            )
            settle(db)
            case.ogr_valid.append(
                measure.ogr2ogr(
                    db,
                    spec.source,
                    f"{spec.table}_mv",
                    assign_srs=spec.assign_srs,
                    make_valid=True,
                    layer=spec.layer,
                    open_options=spec.open_options,
                )
            )
            print(
                f"  run {run_no + 1}/{repeat} {case.label} [{case.variant}]: "
                f"ours {case.ours[-1].seconds:.2f} s (without the tile copy "
                f"{case.bare[-1].seconds:.2f} s), ogr2ogr {case.ogr[-1].seconds:.2f} s, "
                f"ogr2ogr -makevalid {case.ogr_valid[-1].seconds:.2f} s",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    settings = Settings(progress=False)
    real = settings.source_data_dir / PARCELS_PATH
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True, check=True)
    print(f"ogr2ogr: {gdal.stdout.strip()}; python {sys.version.split()[0]}")
    print(f"real input: {real} (cambridge.parcels, TopoJSON, read whole by our loader)")
    work = Path(tempfile.mkdtemp(prefix="digitalcity-bench-inputs-"))
    kept = [f"inputs in {work}"]
    try:
        cambridge = args.dataset in ("cambridge", "both")
        paths = _inputs(work, args.scale) if cambridge else {}
        osm = _osm_cases(work) if args.dataset in ("osm", "both") else []
        with bench_cluster(keep=args.keep) as db:
            kept.append(f"cluster in {db.settings.data_dir}")
            print(
                f"cluster: {db.settings.data_dir}, port {db.settings.db_port}, {postgis_version(db)}"
            )
            cases = []
            if cambridge:
                cases = [_real_case(settings, REAL_LAYER[1], "real ×1", "full")]
                # few polygons, one of them huge and invalid (119,275 vertices, 1,054 holes)
                cases.append(_real_case(settings, "road_surfaces", "road surfaces", "large"))
                cases += [_synthetic_case(path, n, join=True) for n, path in paths.items()]
                cases.append(_synthetic_case(paths[args.scale], args.scale, join=False))
            _run(db, cases + osm, args.repeat)
        if cases:
            print_table(cases, args.repeat)
            full = [c for c in cases if c.variant == "full" and c.fmt == "GeoPackage"]
            print_memory_scaling(full[-2] if len(full) > 1 else full[0], full[-1])
        if osm:
            print("\nSYNTHETIC OSM-like dataset (bench/common/osmlike.py): wide sparse columns")
            print_table(osm, args.repeat)
            # the dataset's total is its three GeoPackage layers, as issue 16's figures have
            # always been; the places table (CSV) is a case of its own, in the table above
            print_total([c for c in osm if c.fmt == "GeoPackage"], args.repeat)
    finally:
        if args.keep:
            print("kept: " + ", ".join(kept))
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
