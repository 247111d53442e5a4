"""The SYNTHETIC OSM-like benchmark dataset (``bench/common/osmlike.py``) stays loadable: a
city defined wholly outside the package (layers, land-use crosswalk and population grid,
all written at run time) loads through the product's loader, on a throwaway cluster of its
own, at a tiny scale. The benches that use it run outside CI; this keeps ``make bench``
working from a clean checkout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import sqlalchemy as sa

from bench.common.cluster import BenchDB, throwaway_cluster
from bench.common.osmlike import CITY, COUNTS, DISTRICT_GRID, LANDUSE, POPULATION_TIF, write_dataset
from digitalcity.catalog import load_catalog
from digitalcity.ingest.city import load_city

SCALE = 0.002


@pytest.fixture(scope="module")
def cluster() -> Iterator[BenchDB]:
    with throwaway_cluster("digitalcity-test-osmlike-") as db:
        yield db


def test_the_osmlike_city_loads_whole(cluster: BenchDB, tmp_path: Path) -> None:
    layers = write_dataset(
        tmp_path, scale=SCALE, editable=True, population=True, places=True, text_copies=True
    )
    catalog = load_catalog(layers)
    settings = cluster.settings.model_copy(update={"layers_dir": layers})
    outcomes = {o.layer: o for o in load_city(catalog, CITY, None, cluster.engine, settings)}
    assert {o.layer for o in outcomes.values() if o.error} == set(), outcomes
    expected = {layer: int(n * SCALE) for layer, n in COUNTS.items()}
    expected["districts"] = DISTRICT_GRID**2
    expected["places"] = expected["roads"]  # one per road, where it starts
    expected["buildings_geojson"] = expected["buildings_kml"] = expected["buildings"]
    with cluster.engine.connect() as conn:

        def value(sql: str) -> object:
            return conn.execute(sa.text(sql)).scalar_one()

        for layer, rows in expected.items():
            assert value(f"SELECT count(*) FROM {CITY}.{layer}") == rows, layer  # noqa: S608
        # each place is its road's first vertex, to the 7 decimals the table writes
        starts = value(
            f"SELECT count(*) FROM {CITY}.places p JOIN {CITY}.roads r USING (fid) "  # noqa: S608
            "WHERE ST_DWithin(p.geom, ST_StartPoint(ST_GeometryN(r.geom, 1)), 1e-7)"
        )
        assert starts == expected["roads"]
        # the GeoJSON and KML files hold the buildings: the same ids, shapes and values
        for copy in ("buildings_geojson", "buildings_kml"):
            same = value(
                f"SELECT count(*) FROM {CITY}.buildings b JOIN {CITY}.{copy} g "  # noqa: S608
                "USING (fid) WHERE ST_HausdorffDistance(b.geom, g.geom) < 1e-9 "
                "AND (b.addr_street, b.start_date) "
                "IS NOT DISTINCT FROM (g.addr_street, g.start_date)"
            )
            assert same == expected["buildings"], copy
        # every OSM landuse value the generator uses is classed by the dataset's crosswalk
        assert value(f"SELECT count(*) FROM {CITY}.landuse WHERE landuse_l1 IS NULL") == 0  # noqa: S608
        assert value(f"SELECT count(DISTINCT landuse) FROM {CITY}.landuse") <= len(LANDUSE)  # noqa: S608
        # the grid's cells hold every resident of the GeoTIFF
        with rasterio.open(tmp_path / POPULATION_TIF) as grid:
            residents = float(np.asarray(grid.read(1), dtype=np.float64).sum())
        loaded = float(value(f"SELECT sum(population) FROM {CITY}.population_grid"))  # noqa: S608
        assert residents > 0
        assert loaded == pytest.approx(residents, rel=1e-6)
    assert catalog.layer(CITY, "roads").editing.enabled
