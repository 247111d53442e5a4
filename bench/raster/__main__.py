"""``python -m bench.raster [--repeat 5] [--dataset wuhan|osm|both]``: see the package docstring."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from statistics import median

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from bench.common.city import CityDB, city_db, osmlike_db
from bench.common.osmlike import CITY as OSM_CITY
from digitalcity.analysis import population_in_polygon
from digitalcity.city import City
from digitalcity.ingest.loader import load_layer

GRID_LAYER = "population_grid"

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


@dataclass(frozen=True)
class RasterDataset:
    """One grid: its city, a drawn box and a whole area (named; lon/lat) to sum residents in."""

    label: str
    open_db: Callable[[], AbstractContextManager[CityDB]]
    city: str
    box_name: str
    box: BaseGeometry
    area_name: str
    area: Callable[[City], BaseGeometry]


DATASETS = {
    "wuhan": RasterDataset(
        "Wuhan WorldPop grid (real, 100 m)",
        lambda: city_db("wuhan"),
        "wuhan",
        "drawn box (8 x 10 km)",
        shapely.box(114.2517, 30.5213, 114.3391, 30.6109),
        "city boundary (8,569 km²)",
        lambda city: city.read("city_boundary", crs=4326).geometry.iloc[0],
    ),
    "osm": RasterDataset(
        "SYNTHETIC OSM-like grid (25 m, residents from the buildings)",
        lambda: osmlike_db(population=True),
        OSM_CITY,
        "drawn box (2 x 2.5 km)",
        shapely.box(8.527, 47.359, 8.553, 47.382),
        "all districts (144 km²)",
        lambda city: shapely.union_all(city.read("districts", crs=4326).geometry.values),
    ),
}


def _timed(repeat: int, call: Callable[[], object]) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - start)
    return median(times), value


def measure(data: RasterDataset, repeat: int) -> None:
    """Load the grid as a raster and as our cells, then time residents in the box and area."""
    with data.open_db() as db:
        city = City(db.catalog, db.catalog.city(data.city), db.engine, "admin")
        layer = db.catalog.layer(data.city, GRID_LAYER)
        source = db.settings.source_data_dir / layer.source.path
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis_raster SCHEMA public"))
        start = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL postgis.gdal_enabled_drivers = 'GTiff'"))
            conn.execute(_RASTER_LOAD[0], {"data": source.read_bytes()})
            conn.execute(_RASTER_LOAD[1])
            conn.execute(_RASTER_LOAD[2])
        raster_load = time.perf_counter() - start
        start = time.perf_counter()
        load_layer(layer, db.catalog.city(data.city), db.engine, db.settings, force=True)
        cells_load = time.perf_counter() - start
        with db.engine.connect() as conn:
            table = f"{db.catalog.city(data.city).schema_name}.{GRID_LAYER}"
            cells_size = conn.execute(_SIZE, {"table": table}).scalar_one()
            raster_size = conn.execute(_SIZE, {"table": "bench_grid"}).scalar_one()
        print(f"\n{data.label}")
        print(
            f"{'case':<34}{'cells (ours)':>14}{'raster':>12}{'ratio':>8}   residents cells / raster"
        )
        print(
            f"{'load (s)':<34}{cells_load:>14.2f}{raster_load:>12.2f}{cells_load / raster_load:>8.2f}"
        )
        mib = 1024 * 1024
        print(
            f"{'table size (MiB)':<34}{cells_size / mib:>14.1f}{raster_size / mib:>12.1f}"
            f"{cells_size / raster_size:>8.2f}"
        )
        for name, shape in ((data.box_name, data.box), (data.area_name, data.area(city))):
            wkt = shapely.to_wkt(shape)
            ours, result = _timed(repeat, lambda w=wkt: population_in_polygon(city, w))

            def raster_sum(w: str = wkt) -> float:
                with db.engine.connect() as conn:
                    return float(conn.execute(_RASTER_SUM, {"wkt": w}).scalar_one())

            theirs, value = _timed(repeat, raster_sum)
            people = result.summary["population"]  # type: ignore[attr-defined]
            print(
                f"{name + ' (s)':<34}{ours:>14.3f}{theirs:>12.3f}{ours / theirs:>8.2f}"
                f"   {people:,.0f} / {value:,.0f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.raster", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dataset", choices=("wuhan", "osm", "both"), default="both")
    args = parser.parse_args(argv)
    for name, data in DATASETS.items():
        if args.dataset in (name, "both"):
            measure(data, args.repeat)


if __name__ == "__main__":
    main()
