"""``python -m bench.quality``: see the package docstring."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import shapely
import sqlalchemy as sa

from bench.common.city import CITY, CityDB, city_db, osmlike_db
from bench.common.osmlike import CITY as OSM_CITY
from digitalcity.analysis import data_quality
from digitalcity.analysis.sqlrun import local_srid
from digitalcity.city import City
from digitalcity.db.schema import layer_table

# the plain overlap statements on whole polygons (the baseline the pieces are measured
# against): staged in the local CRS with a GiST index as ours are, each intersecting pair's
# intersection computed once
WHOLE_OVERLAPS = (
    "CREATE TEMP TABLE _whole AS SELECT fid, ST_Transform(geom, %(srid)s) AS geom FROM {table}",
    "CREATE INDEX ON _whole USING gist (geom)",
    "ANALYZE _whole",
    "SELECT a.fid, b.fid, i.area FROM _whole AS a "
    "JOIN _whole AS b ON a.fid < b.fid AND ST_Intersects(a.geom, b.geom) "
    "CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(a.geom, b.geom)) AS area) AS i "
    "WHERE i.area >= 0.1",
)


@dataclass(frozen=True)
class QualityDataset:
    label: str
    open_db: Callable[[], AbstractContextManager[CityDB]]
    city: str
    layers: tuple[str, ...]


DATASETS = {
    "cambridge": QualityDataset(
        "Cambridge (real data)", city_db, CITY, ("parcels", "hydrants", "street_centerlines")
    ),
    "osm": QualityDataset(
        "SYNTHETIC OSM-like (bench/common/osmlike.py)", osmlike_db, OSM_CITY,
        ("buildings", "landuse", "roads"),
    ),
}  # fmt: skip


@contextmanager
def recorded(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``engine`` runs meanwhile, as the driver got them (SQL, parameters)."""
    statements: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)


def replay(db: CityDB, statements: list[tuple[str, Any]]) -> float:
    """Seconds to run ``statements`` through psycopg in one transaction (rows fetched)."""
    with psycopg.connect(db.libpq_url()) as conn:
        t0 = time.perf_counter()
        for statement, parameters in statements:
            cursor = conn.execute(statement, parameters or None)
            if cursor.description is not None:
                cursor.fetchall()
        elapsed = time.perf_counter() - t0
        conn.rollback()
    return elapsed


def best(rounds: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def shapely_overlaps(city: City, layer: str) -> int:
    """Overlapping pairs (≥ 0.1 m²) as a notebook would find them with geopandas."""
    frame = city.read(layer).to_crs(city.local_crs)
    geoms = np.asarray(frame.geometry.values)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    areas = shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))
    return int((areas >= 0.1).sum())


def measure(data: QualityDataset, rounds: int) -> None:
    with data.open_db() as db:
        city = City(db.catalog, db.catalog.city(data.city), db.engine, "land_bureau")
        print(f"\n{data.label}: best of {rounds}")
        for layer_id in data.layers:
            layer = city.layer(layer_id)
            with recorded(db.engine) as statements:
                result = data_quality(city, layer_id)
            ours = best(rounds, lambda layer_id=layer_id: data_quality(city, layer_id))
            floor = min(replay(db, statements) for _ in range(rounds))
            counts = ", ".join(f"{k} {v}" for k, v in result.summary["by_check"].items())
            print(f"  {layer_id} ({result.summary['features']:,} features; {counts})")
            print(f"    whole check    {ours:8.2f} s = {ours / floor:.2f}x the SQL floor "
                  f"({floor:.2f} s, its statements replayed)")  # fmt: skip
            if not layer.geometry_type.endswith("Polygon"):
                continue
            pieces = best(
                rounds, lambda layer_id=layer_id: data_quality(city, layer_id, checks=["overlap"])
            )
            table = layer_table(layer, city.definition)
            name = f'"{table.schema}"."{table.name}"'
            with psycopg.connect(db.libpq_url()) as conn:
                t0 = time.perf_counter()
                for statement in WHOLE_OVERLAPS:
                    srid = {"srid": local_srid(city)} if "%(srid)s" in statement else None
                    cursor = conn.execute(statement.format(table=name), srid)
                whole_pairs = len(cursor.fetchall())
                whole = time.perf_counter() - t0
                conn.rollback()
            t0 = time.perf_counter()
            peer_pairs = shapely_overlaps(city, layer_id)
            peer = time.perf_counter() - t0
            ours_pairs = (
                result.summary["by_check"]["overlap"] + result.summary["by_check"]["duplicate"]
            )
            print(f"    overlaps       {pieces:8.2f} s ({ours_pairs} pairs with the duplicates); "
                  f"whole polygons {whole:.2f} s ({whole_pairs} pairs) = {pieces / whole:.2f}x; "
                  f"shapely {peer:.2f} s ({peer_pairs} pairs) = {pieces / peer:.2f}x")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; best kept")
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    args = parser.parse_args(argv)
    for name in ("cambridge", "osm") if args.dataset == "both" else (args.dataset,):
        measure(DATASETS[name], args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
