"""Search latency (``digitalcity.search``, the maps' search box):
``python -m bench.search [--dataset cambridge|osm|both] [--scale 100] [--rounds 5]``.

Each dataset is searched as a whole city (every searchable layer the admin sees):
- ``cambridge``: the real city (13,116 parcels, 24 searchable layers), then the same city
  with its parcels replaced by a SYNTHETIC layer of ``--scale`` (100) translated copies of the
  real ones (1.3 million parcels; each address 100 times), loaded by our loader;
- ``osm``: the SYNTHETIC OSM-like dataset (``bench/common/osmlike.py``), its 48,600 buildings
  and 246,900 roads searched by their sparse ``name`` and ``addr_street`` values
  ("name 1234": every value of a field shares its first word, a worst case for trigrams).

Queries as people type them: addresses, a street, a place, typos, words out of order, an id
(neither dataset has Chinese values). For each, three series, taking turns over
``--rounds`` (5) rounds, medians kept:
- ours: ``search(limit=10)`` as the API runs it (layers of ``search.BIG_LAYER_ROWS`` rows or
  more in two steps: close fuzzy matches first);
- one step: every layer searched in one step (``BIG_LAYER_ROWS`` set out of reach: the code
  before the two steps);
- the floor: ours's statements (captured as run), executed straight through psycopg.

Prints each query's milliseconds, and ours against one step and against the floor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench.common.city import load_city_layers, osmlike_db, settle_statistics
from bench.common.cluster import BenchDB, throwaway_cluster
from bench.common.osmlike import CITY as OSM_CITY
from bench.ingest.inputs import PARCELS_PATH, bench_layer, write_synthetic
from bench.scale.probes import side_by_side
from digitalcity import search as search_module
from digitalcity.catalog import load_catalog
from digitalcity.city import City
from digitalcity.ingest import load_layer
from digitalcity.search import search

CITY = "cambridge"
QUERIES = [
    "38 maple",
    "main st 12",
    "Massachusetts Ave",
    "1 brattle",
    "Harvard",
    "central sq",
    "harvrd st",  # a typo
    "ave mass",  # words out of order
    "163-15",  # a parcel id (map-lot)
    "kendal",
]
OSM_QUERIES = [
    "name 4242",
    "addr_street 17",
    "name 42",  # a prefix of 111 values
    "nmae 300",  # a typo
    "4242 name",  # words out of order
    "street 99",  # the second half of a word
    "addr_stret 2500",  # a typo in a long word
    "4999",
]
LIMIT = 10


def _statements(city: City, q: str, layers: list[str]) -> list[tuple[str, object]]:
    """The statements ``search`` runs for ``q`` (SQL and parameters, in order)."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, many):  # noqa: ANN001, ANN202
        seen.append((statement, parameters))

    sa.event.listen(city.engine, "before_cursor_execute", record)
    try:
        search(city, q, layers=layers, limit=LIMIT)
    finally:
        sa.event.remove(city.engine, "before_cursor_execute", record)
    return seen


def _ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _floor(dsn: str, statements: list[tuple[str, object]]) -> Callable[[], object]:
    conn = psycopg.connect(dsn)

    def run() -> None:
        with conn.transaction():
            for statement, parameters in statements:
                conn.execute(statement, parameters).fetchall()  # type: ignore[arg-type]

    return run


def measure(
    label: str, db: BenchDB, city: City, layers: list[str], queries: list[str], rounds: int
) -> None:
    dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    series: dict[str, dict[str, list[float]]] = {
        q: {"ours": [], "one": [], "floor": []} for q in queries
    }
    floors = {q: _floor(dsn, _statements(city, q, layers)) for q in queries}
    big = search_module.BIG_LAYER_ROWS
    for _ in range(rounds):
        for q in queries:
            series[q]["ours"].append(_ms(lambda q=q: search(city, q, layers=layers, limit=LIMIT)))
            search_module.BIG_LAYER_ROWS = 10**12  # one step for every layer
            try:
                series[q]["one"].append(
                    _ms(lambda q=q: search(city, q, layers=layers, limit=LIMIT))
                )
            finally:
                search_module.BIG_LAYER_ROWS = big
            series[q]["floor"].append(_ms(floors[q]))
    print(f"\n{label}: search(limit={LIMIT}), medians of {rounds} rounds (ms)")
    print(f"{'query':<20}{'ours':>10}{'one step':>10}{'floor':>10}{'÷ one':>8}{'÷ floor':>9}")
    totals = {"ours": 0.0, "one": 0.0, "floor": 0.0}
    rows = [(q, {k: statistics.median(v) for k, v in series[q].items()}) for q in queries]
    for _, m in rows:
        for k in totals:
            totals[k] += m[k]
    for q, m in [*rows, ("all queries", totals)]:
        print(
            f"{q:<20}{m['ours']:>10.1f}{m['one']:>10.1f}{m['floor']:>10.1f}"
            f"{m['ours'] / m['one']:>8.2f}{m['ours'] / m['floor']:>9.2f}"
        )


def cambridge(scale: int, rounds: int) -> None:
    """Real Cambridge, then Cambridge with SYNTHETIC parcels ×``scale``."""
    with (
        tempfile.TemporaryDirectory(prefix="digitalcity-search-") as tmp,
        throwaway_cluster("digitalcity-bench-search-", pool_size=4) as db,
    ):
        catalog = load_catalog(db.settings.layers_dir)
        load_city_layers(db, catalog, CITY)
        settle_statistics(db)
        real = City(catalog, catalog.city(CITY), db.engine, "admin")
        searchable = [x.id for x in catalog.city_layers(CITY) if x.search_fields]
        measure("real Cambridge", db, real, searchable, QUERIES, rounds)

        base = catalog.city(CITY)
        offsets, bbox = side_by_side(base, scale)
        wide = base.model_copy(update={"bbox": bbox})
        path = Path(tmp) / f"SYNTHETIC_parcels_x{scale}.gpkg"
        print(f"\nwriting and loading SYNTHETIC parcels ×{scale}…", flush=True)
        rows = write_synthetic(
            db.settings.source_data_dir / PARCELS_PATH, path, wide, scale, offsets
        )
        parcels = bench_layer(catalog.layer(CITY, "parcels"), f"parcels_x{scale}", path, join=True)
        started = time.perf_counter()
        load_layer(parcels, wide, db.engine, db.settings, force=True)
        print(f"{rows:,} parcels loaded in {time.perf_counter() - started:.1f} s", flush=True)
        settle_statistics(db)
        big = City(catalog.with_layer(parcels), wide, db.engine, "admin")
        layers = [x for x in searchable if x != "parcels"] + [parcels.id]
        label = f"SYNTHETIC Cambridge, parcels ×{scale} ({rows:,})"
        measure(label, db, big, layers, QUERIES, rounds)


def osmlike(rounds: int) -> None:
    """The SYNTHETIC OSM-like dataset, its buildings and roads searched."""
    print("\nwriting and loading the SYNTHETIC OSM-like dataset…", flush=True)
    with osmlike_db(searchable=True) as db:
        city = City(db.catalog, db.catalog.city(OSM_CITY), db.engine, "admin")
        searchable = [x.id for x in db.catalog.city_layers(OSM_CITY) if x.search_fields]
        label = "SYNTHETIC OSM-like (48,600 buildings, 246,900 roads)"
        measure(label, db, city, searchable, OSM_QUERIES, rounds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--dataset", choices=("cambridge", "osm", "both"), default="both")
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.dataset in ("cambridge", "both"):
        cambridge(args.scale, args.rounds)
    if args.dataset in ("osm", "both"):
        osmlike(args.rounds)


if __name__ == "__main__":
    main()
