"""``python -m bench.raster [--repeat 5]``: see the package docstring."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from statistics import median

import shapely
import sqlalchemy as sa

from bench.common.city import city_db
from digitalcity.analysis import population_in_polygon
from digitalcity.city import City
from digitalcity.config import Settings

CITY = "wuhan"
GRID_LAYER = "population_grid"
BOX = shapely.box(114.2517, 30.5213, 114.3391, 30.6109)

_RASTER_LOAD = (
    sa.text(
        "CREATE TABLE bench_grid AS SELECT ST_Tile(ST_FromGDALRaster(:data), 1, 100, 100) AS rast"
    ),
    sa.text("CREATE INDEX ON bench_grid USING gist (ST_ConvexHull(rast))"),
    sa.text("ANALYZE bench_grid"),
)
_RASTER_SUM = sa.text(
    "SELECT sum((ST_SummaryStats(ST_Clip(rast, g, true))).sum) "
    "FROM bench_grid, ST_GeomFromText(:wkt, 4326) g WHERE ST_Intersects(ST_ConvexHull(rast), g)"
)
_SIZE = sa.text("SELECT pg_total_relation_size(CAST(:table AS regclass))")


def _timed(repeat: int, call: Callable[[], object]) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - start)
    return median(times), value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.raster", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with city_db(CITY) as db:
        city = City(db.catalog, db.catalog.city(CITY), db.engine, "admin")
        layer = db.catalog.layer(CITY, GRID_LAYER)
        source = Settings().source_data_dir / layer.source.path
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis_raster SCHEMA public"))
        start = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL postgis.gdal_enabled_drivers = 'GTiff'"))
            conn.execute(_RASTER_LOAD[0], {"data": source.read_bytes()})
            conn.execute(_RASTER_LOAD[1])
            conn.execute(_RASTER_LOAD[2])
        raster_load = time.perf_counter() - start
        from digitalcity.ingest.loader import load_layer

        start = time.perf_counter()
        load_layer(layer, db.catalog.city(CITY), db.engine, db.settings, force=True)
        cells_load = time.perf_counter() - start
        with db.engine.connect() as conn:
            sizes = {
                "cells": conn.execute(_SIZE, {"table": f"{CITY}.{GRID_LAYER}"}).scalar_one(),
                "raster": conn.execute(_SIZE, {"table": "bench_grid"}).scalar_one(),
            }
        boundary = city.read("city_boundary", crs=4326).geometry.iloc[0]
        print(
            f"{'case':<34}{'cells (ours)':>14}{'raster':>12}{'ratio':>8}   residents cells / raster"
        )
        print(
            f"{'load (s)':<34}{cells_load:>14.2f}{raster_load:>12.2f}{cells_load / raster_load:>8.2f}"
        )
        mib = 1024 * 1024
        print(
            f"{'table size (MiB)':<34}{sizes['cells'] / mib:>14.1f}{sizes['raster'] / mib:>12.1f}"
            f"{sizes['cells'] / sizes['raster']:>8.2f}"
        )
        for name, shape in (
            ("drawn box (8 x 10 km)", BOX),
            ("city boundary (8,569 km²)", boundary),
        ):
            wkt = shapely.to_wkt(shape)
            ours, result = _timed(args.repeat, lambda w=wkt: population_in_polygon(city, w))

            def raster_sum(w: str = wkt) -> float:
                with db.engine.connect() as conn:
                    return float(conn.execute(_RASTER_SUM, {"wkt": w}).scalar_one())

            theirs, value = _timed(args.repeat, raster_sum)
            people = result.summary["population"]  # type: ignore[attr-defined]
            print(
                f"{name + ' (s)':<34}{ours:>14.3f}{theirs:>12.3f}{ours / theirs:>8.2f}"
                f"   {people:,.0f} / {value:,.0f}"
            )


if __name__ == "__main__":
    main()
