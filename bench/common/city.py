"""A throwaway cluster with one city loaded through our own loaders and its tile copies built."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common.cluster import BenchDB, throwaway_cluster
from bench.common.osmlike import CITY as OSM_CITY
from bench.common.osmlike import write_dataset
from digitalcity.catalog import Catalog, load_catalog
from digitalcity.db.live import VersionMap
from digitalcity.ingest.city import load_city
from digitalcity.tiles.prepare import prepare_layer

CITY = "cambridge"


@dataclass
class CityDB(BenchDB):
    """A throwaway cluster with a city loaded, and the catalog it was loaded from."""

    catalog: Catalog


def load_city_layers(db: BenchDB, catalog: Catalog, city: str) -> None:
    """Load every layer of ``city`` with ``load_city``; exit with the first layer's error."""
    for outcome in load_city(catalog, city, None, db.engine, db.settings):
        if outcome.error:
            raise SystemExit(f"load failed: {outcome.error}")


def prepare_tile_copies(db: BenchDB, catalog: Catalog, city: str) -> None:
    """Build the EPSG:3857 tile copies of every loaded layer of ``city`` (as the server would)."""
    versions = VersionMap()
    versions.load(db.engine)
    for layer in catalog.city_layers(city):
        state = versions.get(city, layer.id)
        if state:
            prepare_layer(db.engine, layer, catalog.city(city), state.version)


@contextmanager
def city_db(city: str = CITY) -> Iterator[CityDB]:
    """A fast (unsafe) throwaway cluster with ``city`` loaded and its 3857 copies built."""
    with throwaway_cluster(f"digitalcity-bench-{city}-", pool_size=10) as db:
        catalog = load_catalog(db.settings.layers_dir)
        load_city_layers(db, catalog, city)
        prepare_tile_copies(db, catalog, city)
        settle_statistics(db)
        yield CityDB(db.settings, db.cluster, db.engine, catalog)


@contextmanager
def osmlike_db(
    *,
    editable: bool = False,
    population: bool = False,
    places: bool = False,
    searchable: bool = False,
    shared_buffers_mb: int | None = None,
) -> Iterator[CityDB]:
    """A fast (unsafe) throwaway cluster with the SYNTHETIC OSM-like dataset
    (``bench/common/osmlike.py``; ``editable``: its roads may be edited; ``population``: with
    its SYNTHETIC population grid; ``places``: with its places table, 246,900 points;
    ``searchable``: its buildings and roads searched by name and street)
    written to a temporary folder, loaded by our loader and its 3857 copies built; the
    settings' layers directory is the dataset's, so servers started with ``env()`` serve it."""
    with (
        tempfile.TemporaryDirectory(prefix="digitalcity-bench-osm-") as tmp,
        throwaway_cluster(
            "digitalcity-bench-osm-", pool_size=10, shared_buffers_mb=shared_buffers_mb
        ) as db,
    ):
        layers = write_dataset(
            Path(tmp) / "osmlike",
            editable=editable,
            population=population,
            places=places,
            searchable=searchable,
        )
        catalog = load_catalog(layers)
        osm = CityDB(
            db.settings.model_copy(update={"layers_dir": layers}), db.cluster, db.engine, catalog
        )
        load_city_layers(osm, catalog, OSM_CITY)
        prepare_tile_copies(osm, catalog, OSM_CITY)
        settle_statistics(osm)
        yield osm


def settle_statistics(db: BenchDB) -> None:
    """Analyse every table now: loads analyse only the columns their queries need and leave the
    rest to autovacuum, which would otherwise run during the first measurements."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
