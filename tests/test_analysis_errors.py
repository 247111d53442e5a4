"""Bad inputs raise typed one-line errors before anything is computed; results carry their
provenance and serialise to JSON."""

from __future__ import annotations

import json
import math

import pytest
import shapely
import test_analysis_sources as src

import digitalcity
from digitalcity.analysis import (
    InvalidParameter,
    LayerNotLoaded,
    OutsideCity,
    buffer,
    facilities_within,
    landuse_statistics,
    parcels_beyond,
    population_in_polygon,
    service_areas,
    zoning_compliance,
)
from digitalcity.errors import DigitalCityError, NotFound

BOX = shapely.box(-71.12, 42.36, -71.10, 42.37)


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):
    return src.city(catalog, engine)


def _raises(error, call, *args, **kwargs) -> str:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, DigitalCityError)
    assert 400 <= info.value.status < 500
    return message


@pytest.mark.parametrize("distance", [-5, 0, 50_001, 1e9, math.nan, math.inf, "100", None, True])
def test_distances(cambridge, distance):
    message = _raises(InvalidParameter, parcels_beyond, cambridge, distance)
    assert "distance_m" in message


@pytest.mark.parametrize("minutes", [0, 0.5, 121, [], [5, 500], "15"])
def test_walk_times(cambridge, minutes):
    assert "minutes" in _raises(
        InvalidParameter, service_areas, cambridge, "fire_stations", minutes=minutes
    )


def test_walk_speed_and_buffer(cambridge):
    _raises(InvalidParameter, service_areas, cambridge, "fire_stations", walk_speed_kmh=0)
    _raises(InvalidParameter, service_areas, cambridge, "fire_stations", walk_speed_kmh=60)
    _raises(InvalidParameter, service_areas, cambridge, "fire_stations", buffer_m=-1)
    _raises(InvalidParameter, service_areas, cambridge, "street_centerlines")  # not points
    _raises(InvalidParameter, zoning_compliance, cambridge, feet_per_story=0)


@pytest.mark.parametrize(
    "polygon, crs, error, words",
    [
        (
            shapely.Polygon([(-71.12, 42.36), (-71.10, 42.37), (-71.10, 42.36), (-71.12, 42.37)]),
            "EPSG:4326",
            InvalidParameter,
            "not a valid polygon",
        ),  # bow-tie
        (shapely.Polygon(), "EPSG:4326", InvalidParameter, "empty"),
        (
            shapely.LineString([(-71.12, 42.36), (-71.10, 42.37)]),
            "EPSG:4326",
            InvalidParameter,
            "Polygon",
        ),
        ("POLYGON ((0 0, 1", "EPSG:4326", InvalidParameter, "readable"),
        ({"type": "Polygon", "coordinates": "x"}, "EPSG:4326", InvalidParameter, "readable"),
        (42, "EPSG:4326", InvalidParameter, "GeoJSON"),
        (shapely.box(116.3, 39.9, 116.4, 40.0), "EPSG:4326", OutsideCity, "does not overlap"),
        (shapely.box(42.36, -71.12, 42.37, -71.10), "EPSG:4326", OutsideCity, "x/y order"),
        (shapely.box(500, 42.36, 501, 42.37), "EPSG:4326", InvalidParameter, "out of range"),
        (BOX, "EPSG:999999", InvalidParameter, "polygon_crs"),
        (BOX, "not a crs", InvalidParameter, "polygon_crs"),
        (BOX, "", InvalidParameter, "polygon_crs"),
        (BOX, "EPSG:26986", InvalidParameter, "out of range"),  # degrees read as metres
        (
            shapely.box(170_000, 880_000, 171_000, 881_000),
            "EPSG:26986",
            OutsideCity,
            "does not overlap",
        ),  # Worcester
    ],
)
def test_polygons(cambridge, polygon, crs, error, words):
    message = _raises(error, population_in_polygon, cambridge, polygon, polygon_crs=crs)
    assert words in message


def test_choices_layers_and_access(cambridge, catalog, engine):
    _raises(InvalidParameter, landuse_statistics, cambridge, level="level3")
    _raises(InvalidParameter, landuse_statistics, cambridge, group_by="hydrants")
    _raises(NotFound, landuse_statistics, cambridge, group_by="no_such_layer")
    _raises(InvalidParameter, population_in_polygon, cambridge, BOX, method="kriging")
    _raises(InvalidParameter, facilities_within, cambridge, 100)
    _raises(InvalidParameter, facilities_within, cambridge, 100, parcel_fid=1, polygon=BOX)
    _raises(NotFound, facilities_within, cambridge, 100, parcel_fid=99_999_999)
    _raises(InvalidParameter, buffer, cambridge, "hydrants", 10, fids=["x"])
    anonymous = src.city(catalog, engine, role="anonymous")
    assert buffer(cambridge, "utility_poles", 5, fids=[1]).summary["features"] == 1
    _raises(NotFound, buffer, anonymous, "utility_poles", 5)  # internal layer
    xiamen = src.city(catalog, engine, "xiamen")
    _raises(InvalidParameter, landuse_statistics, xiamen)  # no parcels layer
    assert "no parcels" in _raises(InvalidParameter, parcels_beyond, xiamen, 100)


def test_layer_defined_but_not_loaded(catalog, engine, loaded):
    from digitalcity.city import City

    ghost = catalog.layer("cambridge", "fire_stations").model_copy(update={"id": "zz_never_loaded"})
    city = City(catalog.with_layer(ghost), catalog.city("cambridge"), engine, "land_bureau")
    message = _raises(LayerNotLoaded, service_areas, city, "zz_never_loaded")
    assert "digitalcity load cambridge" in message
    assert LayerNotLoaded.status == 409


def test_result_provenance_and_json(cambridge, engine):
    result = landuse_statistics(cambridge, polygon=BOX, group_by="zoning_districts")
    prov = result.provenance
    assert prov["analysis"] == "landuse_statistics"
    assert prov["parameters"]["group_by"] == "zoning_districts"
    assert prov["parameters"]["polygon"]["crs"] == "EPSG:26986"
    assert shapely.from_wkt(prov["parameters"]["polygon"]["wkt"]).area == pytest.approx(
        prov["parameters"]["polygon"]["area_m2"],
        rel=1e-5,  # WKT rounded to the centimetre
    )
    assert prov["package_version"] == digitalcity.__version__
    assert prov["crs"] == {"storage": "EPSG:4326", "measurement": "EPSG:26986"}
    with engine.connect() as conn:
        versions = dict(
            conn.exec_driver_sql(
                "SELECT layer, version FROM digitalcity.layer_versions "
                "WHERE city = 'cambridge' AND is_current"
            ).all()
        )
    assert {i["layer"]: i["version"] for i in prov["inputs"]} == {
        "cambridge.parcels": versions["parcels"],
        "cambridge.zoning_districts": versions["zoning_districts"],
    }
    assert prov["computed_at"].endswith("+00:00")
    data = json.loads(result.to_json())
    assert data["units"]["area_m2"] == "m²"
    assert len(data["data"]) == len(result.frame)
    assert data["provenance"] == json.loads(json.dumps(prov))
    geo = json.loads(parcels_beyond(cambridge, 100).to_json())
    assert geo["data"]["type"] == "FeatureCollection" and geo["crs"] == "EPSG:4326"
    assert geo["data"]["features"][0]["geometry"]["type"] == "MultiPolygon"
    with pytest.raises(AttributeError):
        result.crs = "EPSG:3857"  # frozen
