"""Analysis endpoints return exactly what the library returns, with the same access rules."""

from __future__ import annotations

import pytest

from digitalcity import analysis
from digitalcity.city import City

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [
            [-71.115, 42.365],
            [-71.095, 42.365],
            [-71.095, 42.375],
            [-71.115, 42.375],
            [-71.115, 42.365],
        ]
    ],
}


@pytest.fixture(scope="module")
def cambridge(catalog, engine, loaded) -> City:
    return City(catalog, catalog.city("cambridge"), engine, "anonymous")


def post(client, name: str, body: dict | None = None, city: str = "cambridge", **kwargs):
    return client.post(f"/cities/{city}/analysis/{name}", json=body or {}, **kwargs)


def test_listing(client):
    names = {a["name"] for a in client.get("/cities/cambridge/analysis").json()["analyses"]}
    assert {"landuse_statistics", "service_areas", "population_in_polygon"} <= names


def test_landuse_statistics_same_as_library(client, cambridge):
    api = post(client, "landuse_statistics", {"polygon": SQUARE}).json()
    lib = analysis.landuse_statistics(cambridge, polygon=SQUARE).to_dict()
    assert api["data"] == lib["data"] and api["units"] == lib["units"]
    assert api["provenance"]["crs"] == lib["provenance"]["crs"]


def test_population_in_polygon_same_as_library(client, cambridge):
    for method in ("areal", "dasymetric"):
        api = post(client, "population_in_polygon", {"polygon": SQUARE, "method": method}).json()
        lib = analysis.population_in_polygon(cambridge, SQUARE, method=method).to_dict()
        assert api["summary"] == lib["summary"] and api["data"] == lib["data"]


def test_service_areas_same_as_library(client, cambridge):
    api = post(client, "service_areas", {"facility_layer": "fire_stations", "minutes": [5]}).json()
    lib = analysis.service_areas(cambridge, "fire_stations", minutes=(5,)).to_dict()
    assert api["summary"] == lib["summary"]
    assert len(api["data"]["features"]) == len(lib["data"]["features"]) == 8


def test_district_density_for_xiamen(client):
    body = post(client, "district_density", city="xiamen").json()
    assert sum(f["properties"]["population"] for f in body["data"]["features"]) == 5163970


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("landuse_statistics", {"level": "level9"}, 400),
        ("landuse_statistics", {"polygon": {"type": "Polygon", "coordinates": []}}, 400),
        (
            "population_in_polygon",
            {"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
            400,
        ),
        ("population_in_polygon", {"polygon": "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"}, 400),
        ("parcels_beyond", {"distance_m": -5}, 400),
        ("service_areas", {"facility_layer": "fire_stations", "minutes": [10000]}, 400),
        ("buffer", {"layer": "parcels", "distance_m": 10, "bogus": 1}, 400),
        ("nosuchanalysis", {}, 404),
    ],
)
def test_bad_parameters(client, name, body, status):
    response = post(client, name, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_internal_layers_refused_to_anonymous(client, planner_key):
    body = {"layer": "utility_poles", "distance_m": 10, "fids": [1]}
    assert post(client, "buffer", body).status_code == 404
    assert post(client, "buffer", body, headers={"X-API-Key": planner_key}).status_code == 200
