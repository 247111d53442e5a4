"""The web maps' API: the city list, page HTML and assets, and polygon statistics checked
against an independent geopandas computation."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from conftest import SHARED_DATA
from shapely.geometry import shape

from digitalcity.catalog.access import visible_layer
from digitalcity.city import City
from digitalcity.web import static_dir
from digitalcity.web.pages import basemap

# A block of mid-Cambridge around Maple Ave and Harvard St (lon/lat).
POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[-71.1075, 42.3705], [-71.0995, 42.3705], [-71.0990, 42.3765], [-71.1050, 42.3772],
         [-71.1075, 42.3705]]
    ],
}  # fmt: skip
LOCAL = "EPSG:26986"


@pytest.fixture(scope="module")
def stats(client) -> dict:
    response = client.post("/cities/cambridge/stats?lang=en", json=POLYGON)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def area() -> gpd.GeoSeries:
    return gpd.GeoSeries([shape(POLYGON)], crs="EPSG:4326").to_crs(LOCAL)


def test_landuse_areas_match_geopandas(stats, area, catalog, engine):
    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    parcels = city.read("parcels", bbox=shape(POLYGON).bounds, crs=LOCAL, columns=["landuse_l1"])
    pieces = parcels.geometry.intersection(area.iloc[0])
    expected = pieces.area.groupby(parcels["landuse_l1"].fillna("none")).sum()
    expected = expected[expected > 0]
    got = {c["code"] or "none": c["area_m2"] for c in stats["landuse"]["classes"]}
    assert set(got) == set(expected.index)
    for code, value in expected.items():
        assert got[code] == pytest.approx(value, rel=0.005), code
    assert stats["landuse"]["field"] == "landuse_l1"
    assert stats["area_m2"] == pytest.approx(area.area.iloc[0], rel=1e-6)
    assert stats["landuse"]["total_area_m2"] <= stats["area_m2"] * 1.0001
    residential = next(c for c in stats["landuse"]["classes"] if c["code"] == "07")
    assert residential["name"] == "Residential land" and residential["colour"].startswith("#")


def test_residents_match_areal_interpolation_with_geopandas(stats, area):
    blocks = gpd.read_file(SHARED_DATA / "cambridge_ma" / "DEMOGRAPHICS_Blocks2000.geojson")
    blocks = blocks.to_crs(LOCAL)
    share = blocks.geometry.intersection(area.iloc[0]).area / blocks.geometry.area
    expected = float((blocks["POP_LAB"].astype(float) * share).sum())
    assert expected > 1000
    assert stats["residents"]["residents"] == pytest.approx(expected, rel=0.01)


def test_facilities_inside_match_geopandas(stats, catalog, engine):
    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    polygon = shape(POLYGON)
    for kind, layer_ids in catalog.city("cambridge").roles.facilities.items():
        count = sum(int(city.read(i, crs="EPSG:4326").intersects(polygon).sum()) for i in layer_ids)
        got = stats["facilities"].get(kind, {"count": 0})["count"]
        assert got == count, kind
    assert stats["facilities"]["school"]["count"] >= 1


@pytest.mark.parametrize(
    "body, message",
    [
        ({"type": "Point", "coordinates": [-71.1, 42.37]}, "Polygon"),
        ({"type": "Polygon", "coordinates": []}, "empty"),
        ({"type": "Polygon", "coordinates": [[[-71.1, 42.37], [-71.1, 42.37], [-71.1, 42.37]]]}, ""),
        ({"type": "Polygon", "coordinates": [[[-71.11, 42.37], [-71.10, 42.375], [-71.10, 42.37],
          [-71.11, 42.375], [-71.11, 42.37]]]}, "not a valid"),
        ({"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]},
         "does not overlap"),
        ({"type": "Polygon", "coordinates": [[[-73.0, 41.0], [-70.0, 41.0], [-70.0, 43.0],
          [-73.0, 43.0], [-73.0, 41.0]]]}, "larger"),
        ({"type": "Polygon", "coordinates": [[[-71.1, 142.0], [-71.0, 142.0], [-71.0, 143.0],
          [-71.1, 142.0]]]}, "out of range"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "not a readable"),
    ],
)  # fmt: skip
def test_bad_polygons_are_400_problems(client, body, message):
    response = client.post("/cities/cambridge/stats", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


def test_stats_of_a_feature_and_unknown_city(client):
    feature = {"type": "Feature", "properties": {}, "geometry": POLYGON}
    assert client.post("/cities/cambridge/stats", json=feature).status_code == 200
    assert client.post("/cities/nowhere/stats", json=POLYGON).status_code == 404
    assert client.post("/cities/cambridge/stats", content=b"{not json").status_code == 400


def test_city_list_and_layers_by_role(client, catalog, planner_key):
    cities = client.get("/cities").json()["cities"]
    assert [c["id"] for c in cities] == list(catalog.cities)
    cambridge = next(c for c in cities if c["id"] == "cambridge")
    assert cambridge["bbox"] == list(catalog.city("cambridge").bbox)
    assert cambridge["center"] and cambridge["zoom"] and cambridge["has_parcels"]
    anonymous = client.get("/cities/cambridge").json()
    internal = {x.id for x in catalog.city_layers("cambridge") if not visible_layer("anonymous", x)}
    assert internal and not internal & set(anonymous["layers"])
    assert anonymous["role"] == "anonymous"
    keyed = client.get("/cities/cambridge", headers={"X-API-Key": planner_key}).json()
    assert internal <= set(keyed["layers"]) and keyed["role"] == "planner"
    assert client.get("/cities/cambridge", headers={"X-API-Key": "wrong"}).status_code == 401


@pytest.mark.parametrize("path", ["/map", "/public"])
def test_pages_embed_their_config_and_load_only_local_assets(client, path):
    response = client.get(f"{path}?city=cambridge&lang=zh")
    assert response.status_code == 200
    html = response.text
    assert '"city": "cambridge"' in html and '"lang": "zh"' in html and 'lang="zh-CN"' in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    for asset in (a for a in assets if a.startswith("static/")):
        assert client.get(f"/{asset}").status_code == 200, asset
    assert "utility_poles" not in html  # page metadata is public only
    assert client.get(f"{path}?city=nowhere").status_code == 200  # falls back to a real city


def test_vendored_libraries_are_complete_and_small():
    vendor = static_dir() / "vendor"
    for name in ("maplibre-gl/maplibre-gl.js", "maplibre-gl/maplibre-gl.css",
                 "maplibre-gl/LICENSE.txt", "pmtiles/pmtiles.js", "pmtiles/LICENSE",
                 "leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/LICENSE"):  # fmt: skip
        assert (vendor / name).stat().st_size > 0, name
    # the minified production build (5.x: ~1.06 MB), not the 3 MB development one
    assert (vendor / "maplibre-gl/maplibre-gl.js").stat().st_size < 1_300_000
    assert not list(vendor.rglob("*.map"))
    for js in static_dir().rglob("*.js"):
        assert "sourceMappingURL" not in js.read_text("utf-8")[-300:], js


def test_external_basemap_is_off_by_default_and_read_from_settings(settings):
    assert basemap(settings) is None
    spec = basemap(settings.model_copy(update={"basemap_url": "https://t.example/{z}/{x}/{y}.png",
                                               "basemap_crs": "gcj02"}))  # fmt: skip
    assert spec == {"url": "https://t.example/{z}/{x}/{y}.png", "crs": "GCJ-02", "attribution": ""}


def test_zoning_districts_match_geopandas(stats, area, catalog, engine):
    """The districts the polygon falls in, with the polygon's area in each (summed over a
    district's features) and the limits the card shows, checked against geopandas."""
    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    zoning = city.read("zoning_districts", bbox=shape(POLYGON).bounds, crs=LOCAL)
    code = catalog.layer("cambridge", "zoning_districts").semantic("zone_code").name
    pieces = zoning.geometry.intersection(area.iloc[0])
    expected = pieces.area.groupby(zoning[code]).sum()
    expected = expected[expected > 0].sort_values(ascending=False)
    got = stats["zoning"]["zones"]
    assert [z["zone_code"] for z in got] == list(expected.index)
    for zone, value in zip(got, expected, strict=True):
        assert zone["area_m2"] == pytest.approx(value, rel=0.005), zone["zone_code"]
        assert zone["share"] == pytest.approx(value / area.area.iloc[0], abs=1e-3)
        assert {c["control"] for c in zone["controls"]} <= {
            "max_far", "max_far_residential", "max_height", "min_open_space",
        }  # fmt: skip
        assert "properties" not in zone
    assert stats["zoning"]["count"] == len(expected) and got[0]["zone_name"]
    # a city without a zoning layer has no such section
    xiamen = {"type": "Polygon", "coordinates": [[[118.08, 24.45], [118.12, 24.45],
              [118.12, 24.48], [118.08, 24.45]]]}  # fmt: skip
    assert zoning_of(engine, catalog, xiamen) is None


def zoning_of(engine, catalog, polygon):  # noqa: ANN001, ANN201
    """The zoning section of the statistics of ``polygon`` in Xiamen, as a visitor."""
    from digitalcity.web.stats import polygon_statistics

    city = City(catalog, catalog.city("xiamen"), engine, "anonymous")
    return polygon_statistics(city, polygon)["zoning"]
