"""GeoParquet sources (Overture Maps, modern exports), read by pyarrow since this GDAL has no
Parquet driver: WKB geometry in any CRS its metadata gives, refused clearly when encoded
otherwise or without GeoParquet metadata; drafted by init-city. Written at test time from the
real Xiamen districts."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
import sqlalchemy as sa

from digitalcity.catalog import load_catalog
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer
from tests.test_ingest_formats import NAME, POP, layer


@pytest.fixture(scope="module")
def whole(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The districts with their population as Arrow integers, as GeoParquet writers keep it."""
    return districts.assign(population=districts.population.astype("int64"))


def test_geoparquet_in_lonlat_and_projected(whole, catalog, engine, settings, tmp_path):
    xiamen = catalog.city("xiamen")
    for crs, table in (("EPSG:4326", "parquet_lonlat"), ("EPSG:4548", "parquet_gk")):
        path = tmp_path / f"{table}.parquet"
        whole.to_crs(crs).to_parquet(path)
        report = load_layer(layer(table, "MultiPolygon", {"path": str(path)}, [NAME, POP]),
                            xiamen, engine, settings)  # fmt: skip
        assert report.rows_loaded == 6 and not report.rejected, report.summary()
        with engine.connect() as conn:
            query = f"SELECT name, population, ST_AsBinary(geom) AS wkb FROM xiamen.{table} ORDER BY fid"  # noqa: S608
            stored = pd.read_sql(sa.text(query), conn)
        assert stored.name.tolist() == whole.name.tolist()
        assert stored.population.tolist() == whole.population.tolist()
        shapes = shapely.from_wkb([bytes(b) for b in stored.wkb])
        drift = shapely.hausdorff_distance(shapes, whole.geometry.to_numpy())
        assert drift.max() < 1e-7  # degrees: a projected round trip, 1 cm


def test_geoparquet_refused_clearly(whole, catalog, engine, settings, tmp_path):
    xiamen = catalog.city("xiamen")
    native = tmp_path / "native.parquet"
    whole.to_parquet(native, geometry_encoding="geoarrow")
    with pytest.raises(SourceError, match="geometry encoded as 'multipolygon'; only WKB is read"):
        load_layer(layer("native", "MultiPolygon", {"path": str(native)}, [NAME]), xiamen,
                   engine, settings)  # fmt: skip
    plain = tmp_path / "plain.parquet"
    pq.write_table(
        pa.table({"name": ["a"], "wkb": [shapely.to_wkb(shapely.Point(118, 24.5))]}), plain
    )
    with pytest.raises(SourceError, match="without GeoParquet metadata"):
        load_layer(layer("plain", "Point", {"path": str(plain)}, [NAME]), xiamen, engine, settings)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match="cannot read broken.parquet"):
        load_layer(
            layer("broken", "Point", {"path": str(broken)}, [NAME]), xiamen, engine, settings
        )


def test_init_city_drafts_geoparquet(whole, engine, settings, tmp_path, init_city):
    folder = tmp_path / "overture"
    folder.mkdir()
    whole.to_parquet(folder / "districts.parquet")
    drafted = init_city("xiamen10", folder)["districts"]
    assert drafted["geometry_type"] == "MultiPolygon"
    assert drafted["source"]["crs"] == "EPSG:4326"
    assert [(f["source"], f["type"]) for f in drafted["fields"]] == [
        ("name", "string"),
        ("population", "integer"),
    ]
    assert init_city.problems() == []
    catalog = load_catalog(init_city.root)
    report = load_layer(catalog.layer("xiamen10", "districts"), catalog.city("xiamen10"),
                        engine, settings)  # fmt: skip
    assert report.rows_loaded == 6
