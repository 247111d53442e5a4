"""``python -m bench.ingest [--scale 20] [--repeat 3] [--keep]``: see the package docstring."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingest import db as bench_db
from bench.ingest import measure
from bench.ingest.inputs import PARCELS_PATH, REAL_LAYER, write_synthetic
from bench.ingest.table import Case, print_table
from digitalcity.catalog import load_catalog
from digitalcity.config import Settings


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--scale", type=int, default=20, help="SYNTHETIC copies (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; median reported")
    parser.add_argument("--keep", action="store_true", help="keep the temporary cluster and files")
    return parser.parse_args(argv)


def _cases(real: Path, gpkg1: Path, gpkgn: Path, scale: int) -> list[Case]:
    ogr_real = {"source": real, "table": "ogr_x1", "assign_srs": "EPSG:4326"}
    return [
        Case("real ×1", "TopoJSON", "full", {}, ogr_real),
        Case(
            "SYNTHETIC ×1",
            "GeoPackage",
            "full",
            {"id": "bench_parcels_x1", "path": str(gpkg1), "join": True},
            {"source": gpkg1, "table": "ogr_synth_x1"},
        ),
        Case(
            f"SYNTHETIC ×{scale}",
            "GeoPackage",
            "full",
            {"id": f"bench_parcels_x{scale}", "path": str(gpkgn), "join": True},
            {"source": gpkgn, "table": f"ogr_x{scale}"},
        ),
        Case(
            f"SYNTHETIC ×{scale}",
            "GeoPackage",
            "no join",
            {"id": f"bench_parcels_x{scale}_nojoin", "path": str(gpkgn), "join": False},
            {"source": gpkgn, "table": f"ogr_x{scale}"},
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    settings = Settings(progress=False)
    catalog = load_catalog(settings.layers_dir)
    city = catalog.city(REAL_LAYER[0])
    real = settings.source_data_dir / PARCELS_PATH
    work = Path(tempfile.mkdtemp(prefix="digitalcity-bench-inputs-"))
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True, check=True)
    print(f"ogr2ogr: {gdal.stdout.strip()}; python: {sys.version.split()[0]}")
    started = time.perf_counter()
    gpkg1, gpkgn = (
        work / "SYNTHETIC_parcels_x1.gpkg",
        work / f"SYNTHETIC_parcels_x{args.scale}.gpkg",
    )
    rows1 = write_synthetic(real, gpkg1, city, 1)
    rows = write_synthetic(real, gpkgn, city, args.scale)
    print(
        f"SYNTHETIC inputs (×1: {rows1} rows, ×{args.scale}: {rows} rows, "
        f"{gpkgn.stat().st_size / 2**20:.0f} MiB) written to {work} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    db = bench_db.start()
    print(
        f"cluster: {db.settings.data_dir} port {db.settings.db_port}, PostGIS {db.server_version()}"
    )
    try:
        cases = _cases(real, gpkg1, gpkgn, args.scale)
        for run_no in range(args.repeat):
            for case in cases:
                case.ours.append(measure.ours(db, case.ours_spec))
                case.ogr.append(measure.ogr2ogr(db, **case.ogr_spec))
                print(
                    f"  run {run_no + 1}/{args.repeat} {case.label} [{case.variant}]: "
                    f"ours {case.ours[-1].seconds:.2f} s, ogr2ogr {case.ogr[-1].seconds:.2f} s",
                    flush=True,
                )
        print_table(cases, args.repeat)
    finally:
        db.close(args.keep)
        if args.keep:
            print(f"kept: cluster in {db.settings.data_dir}, inputs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
