"""``python -m bench.tiles.copies``: what each layer's EPSG:3857 tile copy buys its tiles.

For every loaded layer of a dataset, the layer's own tile statements over the bench's tile
list (``measure.tile_list``: the 3 x 3 tiles around the dataset's centre, at the zooms of
z10-z16 the layer is drawn at) are run from its copy and from its table (reprojected, and
simplified where the layer says so, per request: what tiles would cost without copies).
Both run on one connection set up as the API's (no parallel workers), in rounds that
alternate which goes first; each keeps its best round. The bench checks that the copy
series reads a current copy and the table series the table: a copy of another version
would make the two series time the same thing. What writing the copy costs a load is
``bench.ingest``'s "without the tile copy" line.

Datasets: Cambridge (real: polygons, lines, points) and the SYNTHETIC OSM-like set
(``bench/common/osmlike.py``) with its 246,900 places (points).

    python -m bench.tiles.copies [--dataset cambridge|osm|both] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from bench.common import osmlike
from bench.common.city import CITY, CityDB, city_db, osmlike_db
from bench.common.runner import thread_connection
from bench.tiles.measure import ZOOMS, tile_list
from digitalcity.catalog import LayerDef
from digitalcity.tiles.content import POINT_TYPES
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.query import driver_sql, qualified, tile_statement
from digitalcity.tiles.service import TileService

ROLE = "land_bureau"  # sees every layer and field: the heaviest tiles
CENTRES = {CITY: (-71.1106, 42.3736), osmlike.CITY: osmlike.CENTRE}
Statements = list[tuple[str, dict]]


@dataclass
class LayerTiming:
    """One layer's statements from its copy and from its table, and the best round of each."""

    layer: LayerDef
    rows: int
    statements: dict[str, Statements]
    best: dict[str, float] = field(default_factory=dict)
    nbytes: dict[str, int] = field(default_factory=dict)


def _statements(service: TileService, layer: LayerDef, centre: tuple[float, float]) -> dict:
    """The layer's tile statements, ``copy`` and ``table``, over the tiles it is drawn on."""
    tileset = service.layer_tileset(layer, ROLE)
    if tileset is None:
        raise SystemExit(f"{layer.qualified_id}: not loaded")
    [(plan, copy)] = service.sources(tileset, copies=True)
    [(_, table)] = service.sources(tileset, copies=False)
    if copy.copy_zooms is None or table.copy_zooms is not None:
        raise SystemExit(f"{layer.qualified_id}: no current tile copy to compare with its table")
    zooms = range(max(layer.min_zoom, ZOOMS.start), min(layer.max_zoom, ZOOMS.stop - 1) + 1)
    tiles = [t for t in tile_list(centre) if t.z in zooms]
    out: dict[str, Statements] = {}
    for name, source in (("copy", copy), ("table", table)):
        out[name] = []
        for tile in tiles:
            statement, params = tile_statement([(plan, source)], tileset.city, tile)
            out[name].append((driver_sql(statement), params))
    return out


def measure(db: CityDB, city: str, rounds: int) -> list[LayerTiming]:
    """Every loaded layer of ``city``, copy against table, ``rounds`` rounds."""
    service = TileService(db.catalog, TileOptions(tiles_dir=db.settings.tiles_dir, cache=False))
    service.start(db.engine, listen=False)
    try:
        service.wait_for_copies(300)
        time.sleep(3)  # the finder records the copies in the background
        timings = []
        schema = db.catalog.city(city).schema_name
        with db.engine.connect() as conn:
            for layer in db.catalog.city_layers(city):
                if not service.loaded(layer):
                    continue
                table = qualified(schema, layer.id)
                rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - catalog names
                statements = _statements(service, layer, CENTRES[city])
                if statements["copy"]:
                    timings.append(LayerTiming(layer, int(rows), statements))
    finally:
        service.stop()
    as_api = thread_connection(db.libpq_url(), "-c max_parallel_workers_per_gather=0")
    for n in range(rounds):
        for timing in timings:
            order = ("copy", "table") if n % 2 == 0 else ("table", "copy")
            for name in order:
                started, nbytes = time.perf_counter(), 0
                for sql, params in timing.statements[name]:
                    nbytes += len(as_api().execute(sql, params).fetchone()[0] or b"")
                seconds = time.perf_counter() - started
                timing.best[name] = min(seconds, timing.best.get(name, seconds))
                timing.nbytes[name] = nbytes
    return timings


def report(label: str, timings: list[LayerTiming], rounds: int) -> None:
    print(f"\n{label}: each layer's tiles from its EPSG:3857 copy and from its table "
          f"(best of {rounds} rounds, no parallel workers)")  # fmt: skip
    print(f"{'layer':<26} {'geometry':<16} {'rows':>8} {'tiles':>5} {'copy ms':>9} "
          f"{'table ms':>9} {'table/copy':>10} {'MVT bytes':>11}")  # fmt: skip
    for t in timings:
        copy, table = t.best["copy"] * 1000, t.best["table"] * 1000
        print(f"{t.layer.id:<26} {t.layer.geometry_type:<16} {t.rows:>8} "
              f"{len(t.statements['copy']):>5} {copy:>9.1f} {table:>9.1f} "
              f"{table / copy:>9.2f}x {t.nbytes['copy']:>11}")  # fmt: skip
    points = [t for t in timings if t.layer.geometry_type in POINT_TYPES]
    others = [t for t in timings if t.layer.geometry_type not in POINT_TYPES]
    for kind, chosen in (("points", points), ("lines and polygons", others)):
        if chosen:
            copy = sum(t.best["copy"] for t in chosen)
            table = sum(t.best["table"] for t in chosen)
            print(f"  {kind}: {len(chosen)} layers, table / copy {table / copy:.2f}x "
                  f"({table * 1000:.0f} against {copy * 1000:.0f} ms)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tiles.copies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.dataset in ("cambridge", "both"):
        with city_db(CITY) as db:
            report("Cambridge (real)", measure(db, CITY, args.rounds), args.rounds)
    if args.dataset in ("osm", "both"):
        with osmlike_db(places=True) as db:
            label = "SYNTHETIC OSM-like (bench/common/osmlike.py)"
            report(label, measure(db, osmlike.CITY, args.rounds), args.rounds)


if __name__ == "__main__":
    main()
