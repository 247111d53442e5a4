"""A site boundary as a survey's boundary points in text (界址点坐标 TXT), checked like any
boundary file (`POST /cities/{city}/boundary`): the Ministry of Natural Resources' exchange
format written at test time from a real Xiamen district (CGCS2000 Gauss–Krüger zone 39, X the
northing, in GB18030 as Chinese surveying software writes it), a plain point list of a real
Cambridge neighbourhood, holes, and lines that are not points refused with their number."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from conftest import SHARED_DATA

ZONE_39 = 4527  # CGCS2000 / 3-degree Gauss-Kruger zone 39 (zone number in the easting)
XIAMEN_LOCAL = 4548  # the city's local CRS (CM 117E, no zone number), areas measured in it
CAMBRIDGE_LOCAL = 26986


def _largest_polygon(geometry: shapely.Geometry) -> shapely.Polygon:
    parts = getattr(geometry, "geoms", [geometry])
    return max(parts, key=lambda p: p.area)


def _exchange_text(polygon: shapely.Polygon, *, hole: shapely.Polygon | None = None) -> bytes:
    """The polygon (x the easting) in the exchange format: X the northing, Y the easting."""
    lines = [
        "[属性描述]", "格式版本号=1.01版本", "数据产生单位=测试", "坐标系=2000国家大地坐标系",
        "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=39", "精度=0.01",
        "[地块坐标]",
    ]  # fmt: skip
    rings = [polygon.exterior.coords, *(r.coords for r in polygon.interiors)]
    if hole is not None:
        rings.append(hole.exterior.coords)
    count = sum(len(r) for r in rings)
    lines.append(f"{count},{polygon.area / 10000:.4f},1,测试地块,面,,,,@")
    n = 0
    for ring_number, ring in enumerate(rings, 1):
        for x, y in ring:
            n += 1
            lines.append(f"J{n},{ring_number},{y:.3f},{x:.3f}")
    return "\r\n".join(lines).encode("gb18030")


@pytest.fixture(scope="module")
def siming(districts: gpd.GeoDataFrame) -> shapely.Polygon:
    """A real district of Xiamen (its largest part) in zone 39's coordinates, as a surveyor
    writes them."""
    row = districts[districts["name"].str.contains("思明")]
    return _largest_polygon(row.to_crs(ZONE_39).geometry.iloc[0])


def post(client, city: str, body: bytes, **params):  # noqa: ANN001, ANN201
    params = {"name": "红线.txt", **params}
    return client.post(f"/cities/{city}/boundary", params=params, content=body)


def test_the_exchange_format_reads_back_to_the_district(client, siming):
    answer = post(client, "xiamen", _exchange_text(siming))
    assert answer.status_code == 200, answer.text
    found = answer.json()["properties"]
    assert found["crs"] == f"EPSG:{ZONE_39}"  # named by the header, the zone number in Y
    truth = gpd.GeoSeries([siming], crs=ZONE_39).to_crs(XIAMEN_LOCAL).area.iloc[0]
    assert found["area_m2"] == pytest.approx(truth, rel=1e-4)
    assert found["parts"] == 1 and found["rejected_count"] == 0
    read = shapely.geometry.shape(answer.json()["geometry"])
    original = gpd.GeoSeries([siming], crs=ZONE_39).to_crs(4326).iloc[0]
    assert read.intersection(original).area / original.area > 0.999


def test_ring_two_is_a_hole(client, siming):
    """圈号 2 cuts a hole: the area is the district's less the hole's."""
    hole = siming.representative_point().buffer(300, quad_segs=4)
    with_hole = post(client, "xiamen", _exchange_text(siming, hole=hole)).json()["properties"]
    whole = post(client, "xiamen", _exchange_text(siming)).json()["properties"]
    hole_m2 = gpd.GeoSeries([hole], crs=ZONE_39).to_crs(XIAMEN_LOCAL).area.iloc[0]
    assert with_hole["area_m2"] == pytest.approx(whole["area_m2"] - hole_m2, rel=1e-4)


def test_a_plain_list_of_points_in_the_crs_chosen(client):
    """A list of named points, easting then northing (Cambridge is not in China), a ring
    closing where its first point comes again; it declares no CRS, so the one chosen reads it
    and without one the answer asks for it."""
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    site = _largest_polygon(frame.to_crs(CAMBRIDGE_LOCAL).geometry.iloc[3])
    body = "点号 X Y\n" + "\n".join(
        f"P{i} {x:.3f} {y:.3f}" for i, (x, y) in enumerate(site.exterior.coords)
    )
    answer = post(client, "cambridge", body.encode(), crs=f"EPSG:{CAMBRIDGE_LOCAL}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["area_m2"] == pytest.approx(site.area, rel=1e-4)
    unnamed = post(client, "cambridge", body.encode(), lang="zh")
    assert unnamed.status_code == 400
    assert "请选择其坐标所用的坐标系" in unnamed.json()["message"]


def test_a_chinese_plain_list_is_x_north_then_y(client, siming):
    """In Xiamen a plain list is X (northing) then Y, comma-separated, two rings split by a
    blank line (two parcels, merged into one boundary); CGCS2000-GK3 reads the zone."""
    first = siming
    second = siming.centroid.buffer(200, quad_segs=4)
    body = "\n\n".join(
        "\n".join(f"{y:.3f},{x:.3f}" for x, y in ring.exterior.coords) for ring in (first, second)
    )
    answer = post(client, "xiamen", body.encode(), crs="CGCS2000-GK3")
    assert answer.status_code == 200, answer.text
    merged = shapely.union_all([first, second])
    truth = gpd.GeoSeries([merged], crs=ZONE_39).to_crs(XIAMEN_LOCAL).area.iloc[0]
    assert answer.json()["properties"]["area_m2"] == pytest.approx(truth, rel=1e-4)
    assert answer.json()["properties"]["parts"] == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_line_that_is_not_a_point_is_named(client, lang):
    body = "J1,1,2708867.21,39610437.94\nJ2 somewhere near the river\nJ3,1,2708900,39610500\n"
    answer = post(client, "xiamen", body.encode(), lang=lang)
    assert answer.status_code == 400
    said = {"en": "line 2 is not a point", "zh": "第 2 行不是坐标点"}[lang]
    assert said in answer.json()["message"]


def test_a_ring_of_two_points_is_reported_not_fatal(client, siming):
    """A parcel of two points is left out and counted; the rest is the boundary."""
    body = _exchange_text(siming).decode("gb18030") + "\r\n3,0,2,残缺,面,,,,@\r\nK1,1,2708000,39610000\r\nK2,1,2708010,39610010"
    answer = post(client, "xiamen", body.encode("gb18030"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["rejected_count"] == 1
