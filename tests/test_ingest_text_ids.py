"""Feature ids from text codes (``source.id_from_text``): a parcel's 宗地代码 gives the same id
at every load, whatever the order of the rows; an empty or duplicated code is a clear error. The file is
written at test time from the real Xiamen districts."""

from __future__ import annotations

import geopandas as gpd
import pytest
import sqlalchemy as sa

from digitalcity.catalog import load_catalog
from digitalcity.errors import LoadError
from digitalcity.ingest import load_layer
from digitalcity.ingest.text_ids import stable_ids
from tests.conftest import XIAMEN_DISTRICTS
from tests.test_ingest_formats import NAME, POP, layer

CODE = {"name": "code", "title": {"zh": "宗地代码", "en": "Parcel code"}}


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    frame = (
        gpd.read_file(XIAMEN_DISTRICTS)[["district", "adcode", "POPU", "geometry"]]
        .rename(columns={"district": "name", "POPU": "population"})
        .set_crs(4326, allow_override=True)
    )
    codes = [f"{a}001001GB{i:05d}W00000000" for i, a in enumerate(frame.adcode)]
    return frame.drop(columns="adcode").assign(code=codes)


def stored_ids(engine, table: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT code, fid FROM xiamen.{table}")).all()  # noqa: S608
    return {code: fid for code, fid in rows}


def test_ids_from_text_codes_are_stable(districts, catalog, engine, settings, tmp_path):
    path = tmp_path / "parcels.geojson"
    districts.to_file(path, driver="GeoJSON")
    spec = {"path": str(path), "id_field": "code", "id_from_text": True}
    definition = layer("coded", "MultiPolygon", spec, [NAME, POP, CODE])
    xiamen = catalog.city("xiamen")
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    first = stored_ids(engine, "coded")
    expected = dict(zip(districts.code, stable_ids(districts.code).tolist(), strict=True))
    assert first == expected
    assert all(0 < fid < 2**52 for fid in first.values())
    # reordered and reloaded: each code keeps its id
    districts.iloc[::-1].to_file(path, driver="GeoJSON")
    assert load_layer(definition, xiamen, engine, settings, force=True).rows_loaded == 6
    assert stored_ids(engine, "coded") == first
    with pytest.raises(ValueError, match="id_from_text needs id_field"):
        layer("no_field", "MultiPolygon", {"path": str(path), "id_from_text": True}, [NAME])


def test_empty_or_duplicated_codes(districts, catalog, engine, settings, tmp_path):
    xiamen = catalog.city("xiamen")
    path = tmp_path / "bad.geojson"
    spec = {"path": str(path), "id_field": "code", "id_from_text": True}
    definition = layer("bad_codes", "MultiPolygon", spec, [NAME, POP, CODE])
    districts.assign(code=["a", "b", " ", "c", "d", "e"]).to_file(path, driver="GeoJSON")
    with pytest.raises(LoadError, match="id_field 'code' is empty in row 3"):
        load_layer(definition, xiamen, engine, settings)
    districts.assign(code=["a", "b", "b", "c", "d", "e"]).to_file(path, driver="GeoJSON")
    with pytest.raises(LoadError, match="id_field 'code' must be unique"):
        load_layer(definition, xiamen, engine, settings)


def test_init_city_drafts_ids_from_text_codes(districts, engine, settings, tmp_path, init_city):
    folder = tmp_path / "cadastre"
    folder.mkdir()
    districts.rename(columns={"code": "宗地代码"}).to_file(folder / "parcels.gpkg", driver="GPKG")
    drafted = init_city("xiamen11", folder)["parcels"]["source"]
    assert (drafted["id_field"], drafted["id_from_text"]) == ("宗地代码", True)
    catalog = load_catalog(init_city.root)
    report = load_layer(catalog.layer("xiamen11", "parcels"), catalog.city("xiamen11"), engine,
                        settings)  # fmt: skip
    assert report.rows_loaded == 6
    with engine.connect() as conn:
        fids = conn.execute(sa.text("SELECT fid FROM xiamen11.parcels ORDER BY fid")).scalars()
        assert list(fids) == sorted(stable_ids(districts.code).tolist())
