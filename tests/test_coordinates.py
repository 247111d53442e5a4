"""Coordinates typed into the search (坐标定位), read as places in the demo cities: lon/lat
in either order and in degrees, minutes and seconds, x/y in each city's local CRS in either
order, a Gauss–Krüger easting with its zone number; anything else gives no place (fuzzed, with
boundary points text: 界址点坐标). The
expected places come from pyproj, the reference the readings must agree with; the points are
real: 38 Maple Ave in Cambridge, Xiamen's city hall, Shanghai's People's Square."""

from __future__ import annotations

import math

import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitalcity.boundary_text import CoordinateTextError, read_coordinate_text
from digitalcity.coordinates import crs_for_pages, places, read_pair

MAPLE = (-71.1039, 42.37295)  # 38 MAPLE AVE, Cambridge (EPSG:26986: X east, Y north)
XIAMEN_HALL = (118.0894, 24.4798)  # 厦门市人民政府 (EPSG:4548, CM 117E: X north, Y east)
PEOPLES_SQUARE = (121.4737, 31.2304)  # 上海人民广场 (EPSG:4549, CM 120E)


def _projected(epsg: int, lonlat: tuple[float, float]) -> tuple[float, float]:
    """(easting, northing) of ``lonlat`` in ``epsg``, by pyproj."""
    return pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(*lonlat)


def _metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    geod = pyproj.Geod(ellps="WGS84")
    return float(geod.inv(a[0], a[1], b[0], b[1])[2])


@pytest.mark.parametrize(
    "text",
    [
        "42.37295, -71.1039",
        "-71.1039 42.37295",
        "42.37295,-71.1039",
        "lon=-71.1039 lat=42.37295",
        "经度 -71.1039，纬度 42.37295",
        "(-71.1039; 42.37295)",
    ],
)
def test_longitude_and_latitude_in_either_order(catalog, text):
    [place] = places(text, catalog.city("cambridge"))
    assert (place.lon, place.lat) == MAPLE
    assert place.crs == "EPSG:4326" and place.axes == ("Lon", "Lat")


@pytest.mark.parametrize(
    "text",
    [
        "N 42°22′22.62″ W 71°06′14.04″",  # hemispheres first, as GPS receivers write
        "N42.37295 W71.1039",
        "42.37295N 71.1039W",
        "E 232623.74 N 902569.77",  # not hemispheres: the easting's E and the northing's N
        "N 902569.77, E 232623.74",
    ],
)
def test_hemisphere_and_axis_letters_before_or_after(catalog, text):
    [place] = places(text, catalog.city("cambridge"))
    assert _metres_apart((place.lon, place.lat), MAPLE) < 0.05, text
    assert place.crs == ("EPSG:26986" if "232623" in text else "EPSG:4326")


def test_degrees_minutes_seconds_with_their_hemispheres(catalog):
    city = catalog.city("xiamen")
    for text in ["24°28′47.28″N 118°05′21.84″E", "118°05'21.84\"E, 24°28'47.28\"N",
                 "东经118度05分21.84秒 北纬24度28分47.28秒"]:  # fmt: skip
        place, *offset = places(text, city)  # then as GCJ-02 and BD-09: a city in China
        assert place.crs == "EPSG:4326"
        assert _metres_apart((place.lon, place.lat), XIAMEN_HALL) < 0.5, text
        assert [p.crs for p in offset] == ["GCJ-02", "BD-09"]
    west = read_pair("42°22′22.62″N 71°06′14.04″W")
    assert west is not None and west.second == pytest.approx(MAPLE[0], abs=1e-6)


@pytest.mark.parametrize("city_id, lonlat, epsg", [
    ("cambridge", MAPLE, 26986), ("xiamen", XIAMEN_HALL, 4548), ("shanghai", PEOPLES_SQUARE, 4549),
])  # fmt: skip
def test_local_coordinates_in_either_order(catalog, city_id, lonlat, epsg):
    """x/y in the city's local CRS, easting first or (as a Chinese survey writes X, the
    northing) northing first: the same place, within a centimetre of pyproj's inverse."""
    city = catalog.city(city_id)
    assert city.local_crs == f"EPSG:{epsg}"
    east, north = _projected(epsg, lonlat)
    for text in [f"{east:.3f}, {north:.3f}", f"X={north:.3f} Y={east:.3f}"]:
        found = places(text, city)
        assert len(found) == 1, (text, found)
        assert _metres_apart((found[0].lon, found[0].lat), lonlat) < 0.01
        assert found[0].crs == f"EPSG:{epsg}"
    axes = pyproj.CRS.from_epsg(epsg).axis_info
    expected = (east, north) if axes[0].direction == "east" else (north, east)
    assert found[0].values == pytest.approx(expected, abs=1e-3)


def test_lon_lat_as_chinese_map_apps_copy_them(catalog):
    """In a city in China, lon/lat is also read as the offset coordinates its map apps copy:
    Amap's and Tencent's GCJ-02, Baidu's BD-09, each taken back to WGS 84 (to half a metre:
    the inverses iterate); WGS 84 stays first. A city elsewhere has no such readings."""
    from digitalcity.crs.chinese import wgs84_to_bd09, wgs84_to_gcj02

    city = catalog.city("xiamen")
    for crs, forward in (("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)):
        lon, lat = forward(*XIAMEN_HALL)
        found = places(f"{lon:.7f},{lat:.7f}", city)
        assert found[0].crs == "EPSG:4326"
        [offset] = [p for p in found if p.crs == crs]
        assert _metres_apart((offset.lon, offset.lat), XIAMEN_HALL) < 0.5
        assert offset.values == (round(lon, 7), round(lat, 7))
    assert {p.crs for p in places("42.37295, -71.1039", catalog.city("cambridge"))} == {
        "EPSG:4326"
    }


def test_an_easting_with_its_zone_number(catalog):
    """A Gauss–Krüger easting that carries its zone (39,610,437 m: zone 39, CM 117E) is read
    in the zone's own CRS (EPSG:4527), whatever the city's local CRS omits."""
    east, north = _projected(4548, XIAMEN_HALL)
    [place] = places(f"X {north:.2f} Y {39_000_000 + east:.2f}", catalog.city("xiamen"))
    assert place.crs == "EPSG:4527" and "zone 39" in place.crs_name
    assert _metres_apart((place.lon, place.lat), XIAMEN_HALL) < 0.01
    assert place.values == pytest.approx((north, 39_000_000 + east), abs=0.01)


@pytest.mark.parametrize(
    "text",
    [
        "38 Maple Ave",  # an address: one number and words
        "91-118",  # a Cambridge parcel id: two numbers, nowhere in the city
        "思明区湖滨南路100号",
        "1 2 3",
        "42.37295",
        "",
        "12°75′00″N 71°00′00″W",  # 75 minutes
        "1e308, 1e308",
        "nan, nan",
        "118.0894, 24.4798",  # Xiamen's city hall: not in Cambridge
        "x" * 200,
    ],
)
def test_what_is_not_a_place_in_the_city_gives_none(catalog, text):
    assert places(text, catalog.city("cambridge")) == []


def test_a_city_without_an_extent_places_nothing(catalog):
    city = catalog.city("cambridge").model_copy(update={"bbox": None})
    assert places("42.37295, -71.1039", city) == []


@pytest.mark.parametrize("epsg", [26986, 4548, 4549, 2249])
def test_the_pages_projection_names_the_axes_as_the_crs_does(epsg):
    """What the planner projects the pointer with: proj4js's definition, and the axes in
    the CRS's own order (X north for CGCS2000 Gauss–Krüger, X east for Massachusetts)."""
    crs = crs_for_pages(f"EPSG:{epsg}")
    source = pyproj.CRS.from_epsg(epsg)
    assert crs["axes"] == [a.abbrev for a in source.axis_info]
    assert crs["east_first"] == (source.axis_info[0].direction == "east")
    # the definition projects as the CRS itself (to the millimetre at the city's place)
    from_definition = pyproj.Transformer.from_crs(4326, pyproj.CRS(crs["proj4"]), always_xy=True)
    reference = pyproj.Transformer.from_crs(4326, source, always_xy=True)
    lonlat = MAPLE if epsg in (26986, 2249) else XIAMEN_HALL if epsg == 4548 else PEOPLES_SQUARE
    a, b = from_definition.transform(*lonlat), reference.transform(*lonlat)
    assert math.dist(a, b) < 0.001


_TYPED = st.text(alphabet="0123456789.,-+ °′″'\"NSEWXY=:经纬度东北分秒eE\t", max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_TYPED, st.text(max_size=90)))
def test_any_text_is_places_or_none(catalog, text):
    """Whatever is typed, the answer is a list of places inside the city, never an error."""
    city = catalog.city("xiamen")
    for place in places(text, city):
        west, south, east, north = city.bbox
        assert west <= place.lon <= east and south <= place.lat <= north


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(alphabet="0123456789.,-J@ \n[]地块坐标属性描述=带号", max_size=300).map(str.encode),
))  # fmt: skip
def test_any_boundary_text_is_polygons_or_a_named_line(data):
    """Boundary points text (界址点坐标): any bytes give polygons (or parts left out) or an
    error naming a line, never anything else."""
    try:
        polygons, _ = read_coordinate_text(data, northing_first=True)
    except CoordinateTextError as exc:
        assert "line" in str(exc) and "行" in exc.zh
        return
    assert all(p is None or isinstance(p, shapely.Polygon) for p in polygons)
