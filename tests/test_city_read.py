"""Notebook access: ``dc.open_city(...).read(...)`` returns GeoDataFrames in the requested CRS."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from digitalcity.city import City
from digitalcity.errors import DigitalCityError, NotFound
from tests.conftest import SHARED_DATA

BOX = (-71.115, 42.365, -71.095, 42.375)


def test_read_bbox_in_local_crs_matches_geopandas(catalog, engine, loaded):
    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    frame = city.read("census_blocks_2000", bbox=BOX, crs="EPSG:26986")
    source = gpd.read_file(SHARED_DATA / "cambridge_ma/DEMOGRAPHICS_Blocks2000.geojson")
    assert len(frame) == int(source.intersects(shapely.box(*BOX)).sum())
    assert frame.crs.to_epsg() == 26986
    assert frame.total_bounds[0] > 200_000  # metres, not degrees
    assert frame.index.name == "fid" and "population" in frame.columns


def test_read_respects_access(catalog, engine, loaded):
    anonymous = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    parcels = anonymous.read("parcels", limit=5)
    assert "total_value" not in parcels.columns and "address" in parcels.columns
    with pytest.raises(DigitalCityError, match="total_value"):
        anonymous.read("parcels", columns=["total_value"], limit=1)
    with pytest.raises(NotFound):
        anonymous.read("utility_poles", limit=1)
    planner = City(catalog, catalog.city("cambridge"), engine, "planner")
    assert "total_value" in planner.read("parcels", limit=1).columns


def test_open_city_from_settings(settings, loaded, monkeypatch):
    import digitalcity as dc

    monkeypatch.setenv("DIGITALCITY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIGITALCITY_DB_PORT", str(settings.db_port))
    if settings.database_url:
        monkeypatch.setenv("DIGITALCITY_DATABASE_URL", settings.database_url)
    xiamen = dc.open_city("xiamen")
    districts = xiamen.read("districts", crs="EPSG:4548")
    assert len(districts) == 6 and districts.population.sum() == 5163970
    assert districts.crs.to_epsg() == 4548
    assert callable(dc.maps.explore)


def test_read_in_crs84_and_refuse_a_crs_without_a_code(catalog, engine, loaded):
    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    frame = city.read("hydrants", crs="OGC:CRS84", bbox=BOX, bbox_crs="OGC:CRS84")
    same = city.read("hydrants", crs="EPSG:4326", bbox=BOX)
    assert frame.crs == "OGC:CRS84" and len(frame) == len(same) > 0
    assert frame.geometry.x.between(BOX[0], BOX[2]).all()  # lon first, as CRS84 orders it
    assert list(frame.geometry.to_wkb()) == list(same.geometry.to_wkb())  # the same points
    for bad in ("ESRI:99999999", "not a crs", "+proj=ortho +lat_0=42 +lon_0=-71"):
        with pytest.raises(DigitalCityError, match="EPSG code"):
            city.read("hydrants", crs=bad, limit=1)


def test_locate_reads_coordinates_as_the_maps_search_does(catalog, engine, loaded):
    """A notebook's 坐标定位: the same readings as the search's, as a GeoDataFrame of points
    whose parcel a spatial join then finds (38 Maple Ave, typed in Massachusetts metres)."""
    import geopandas as gpd
    import pyproj

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    east, north = pyproj.Transformer.from_crs(4326, 26986, always_xy=True).transform(
        -71.1039, 42.37295
    )
    found = city.locate(f"X={east:.2f} Y={north:.2f}")
    assert list(found["crs"]) == ["EPSG:26986"] and str(found.crs) == "OGC:CRS84"
    parcels = city.read("parcels", bbox=(-71.105, 42.372, -71.103, 42.374), crs="OGC:CRS84")
    hit = gpd.sjoin(found, parcels, predicate="within")
    assert list(hit["address"]) == ["38 MAPLE AVE"]
    assert city.locate("38 Maple Ave").empty
