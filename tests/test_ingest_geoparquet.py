"""GeoParquet sources (Overture Maps, modern exports), read by pyarrow since this GDAL has no
Parquet driver: WKB geometry in any CRS its metadata gives, refused clearly when encoded
otherwise or without GeoParquet metadata; drafted by init-city. Written at test time from the
real Xiamen districts."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
import sqlalchemy as sa
from typer.testing import CliRunner

from digitalcity.catalog import load_catalog
from digitalcity.catalog.validate import validate_catalog
from digitalcity.cli import app
from digitalcity.config import Settings
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer
from tests.conftest import SHARED_DATA
from tests.test_ingest_formats import NAME, POP, XIAMEN_DISTRICTS, layer

PROJECT_LAYERS = Path(__file__).resolve().parents[1] / "layers"


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    with_gcj = gpd.read_file(XIAMEN_DISTRICTS)
    frame = (
        with_gcj[["district", "POPU", "geometry"]]
        .rename(columns={"district": "name", "POPU": "population"})
        .set_crs(4326, allow_override=True)
    )
    return frame.assign(population=frame.population.astype("int64"))


def test_geoparquet_in_lonlat_and_projected(districts, catalog, engine, settings, tmp_path):
    xiamen = catalog.city("xiamen")
    for crs, table in (("EPSG:4326", "parquet_lonlat"), ("EPSG:4548", "parquet_gk")):
        path = tmp_path / f"{table}.parquet"
        districts.to_crs(crs).to_parquet(path)
        report = load_layer(layer(table, "MultiPolygon", {"path": str(path)}, [NAME, POP]),
                            xiamen, engine, settings)  # fmt: skip
        assert report.rows_loaded == 6 and not report.rejected, report.summary()
        with engine.connect() as conn:
            query = f"SELECT name, population, ST_AsBinary(geom) AS wkb FROM xiamen.{table} ORDER BY fid"  # noqa: S608
            stored = pd.read_sql(sa.text(query), conn)
        assert stored.name.tolist() == districts.name.tolist()
        assert stored.population.tolist() == districts.population.tolist()
        shapes = shapely.from_wkb([bytes(b) for b in stored.wkb])
        drift = shapely.hausdorff_distance(shapes, districts.geometry.to_numpy())
        assert drift.max() < 1e-7  # degrees: a projected round trip, 1 cm


def test_geoparquet_refused_clearly(districts, catalog, engine, settings, tmp_path):
    xiamen = catalog.city("xiamen")
    native = tmp_path / "native.parquet"
    districts.to_parquet(native, geometry_encoding="geoarrow")
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


def test_init_city_drafts_geoparquet(districts, engine, settings, tmp_path, monkeypatch):
    folder = tmp_path / "overture"
    folder.mkdir()
    districts.to_parquet(folder / "districts.parquet")
    root = tmp_path / "layers"
    root.mkdir()
    shutil.copytree(PROJECT_LAYERS / "codes", root / "codes")
    monkeypatch.setenv("DIGITALCITY_LAYERS_DIR", str(root))
    result = CliRunner().invoke(app, ["init-city", "xiamen10", str(folder)])
    assert result.exit_code == 0, result.output
    drafted = tomllib.loads((root / "xiamen10" / "districts.toml").read_text(encoding="utf-8"))
    assert drafted["geometry_type"] == "MultiPolygon"
    assert drafted["source"]["crs"] == "EPSG:4326"
    assert [(f["source"], f["type"]) for f in drafted["fields"]] == [
        ("name", "string"),
        ("population", "integer"),
    ]
    here = Settings(source_data_dir=SHARED_DATA, layers_dir=root, progress=False)
    assert validate_catalog(load_catalog(root), here) == []
    catalog = load_catalog(root)
    report = load_layer(catalog.layer("xiamen10", "districts"), catalog.city("xiamen10"),
                        engine, settings)  # fmt: skip
    assert report.rows_loaded == 6
