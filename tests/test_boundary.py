"""A site boundary (红线) read from the file a planner brings (`POST /cities/{city}/boundary`):
CAD drawings, zipped shapefiles, GeoPackages and GeoJSON made at test time from a real
Cambridge neighbourhood, in the CRS planners draw in, read back to the same area; files that
give no boundary refused with a reason in the caller's language."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import SHARED_DATA

from digitalcity.boundary import MAX_BYTES

STATE_PLANE_FT = 2249  # NAD83 / Massachusetts Mainland (ftUS): Cambridge's CAD drawings
LOCAL_M = 26986  # the city's local metric CRS, in which areas are measured


@pytest.fixture(scope="module")
def site() -> gpd.GeoDataFrame:
    """One real neighbourhood of Cambridge, as a site."""
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    return frame.iloc[[3]][["geometry"]]


@pytest.fixture(scope="module")
def files(site: gpd.GeoDataFrame, tmp_path_factory) -> dict[str, Path]:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("boundary")
    drawn = site.to_crs(STATE_PLANE_FT)
    # a CAD drawing: the outline as a closed polyline, no CRS (DXF declares none)
    drawn.boundary.to_frame("geometry").set_geometry("geometry").to_file(
        folder / "site.dxf", driver="DXF"
    )
    drawn.to_file(folder / "site.gpkg", driver="GPKG")
    site.to_file(folder / "site.geojson", driver="GeoJSON")
    drawn.to_file(folder / "site.fgb", driver="FlatGeobuf")
    site.to_file(folder / "site.kml", driver="KML")
    shp = folder / "shp"
    shp.mkdir()
    drawn.to_file(shp / "红线.shp", driver="ESRI Shapefile")
    with zipfile.ZipFile(folder / "site.zip", "w") as archive:
        for part in shp.iterdir():
            archive.write(part, part.name)
    points = folder / "points.geojson"
    gpd.GeoDataFrame(geometry=site.representative_point(), crs=site.crs).to_file(points)
    return {p.name: p for p in folder.iterdir() if p.is_file()}


def post(client, city: str, path: Path | None, name: str, **params):  # noqa: ANN001, ANN201
    body = path.read_bytes() if path else b""
    return client.post(f"/cities/{city}/boundary", params={"name": name, **params}, content=body)


@pytest.mark.parametrize(
    ("name", "crs"),
    [("site.dxf", f"EPSG:{STATE_PLANE_FT}"), ("site.gpkg", None), ("site.zip", None),
     ("site.geojson", None)],
)  # fmt: skip
def test_every_form_reads_back_to_the_site(client, files, site, name, crs):
    params = {"crs": crs} if crs else {}
    answer = post(client, "cambridge", files[name], name, **params)
    assert answer.status_code == 200, answer.text
    feature = answer.json()
    truth = site.to_crs(LOCAL_M).area.iloc[0]
    assert feature["properties"]["area_m2"] == pytest.approx(truth, rel=1e-4)
    assert feature["properties"]["parts"] == 1 and feature["properties"]["rejected_count"] == 0
    read = shapely.geometry.shape(feature["geometry"])
    original = site.geometry.iloc[0]
    # the same place: the read boundary and the site overlap almost whole (CRS84)
    assert read.intersection(original).area / original.area > 0.999
    # and the statistics of the site run on it
    stats = client.post("/cities/cambridge/stats", json=feature["geometry"])
    assert stats.status_code == 200 and stats.json()["landuse"]["classes"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_files_that_give_no_boundary_say_why(client, files, lang, tmp_path):
    said = {
        "site.dxf": ("declares no CRS", "未注明坐标系"),
        "points.geojson": ("no area in the file can be used", "没有可用的面"),
    }
    for name, (en, zh) in said.items():
        answer = post(client, "cambridge", files[name], name, lang=lang)
        assert answer.status_code == 400, name
        assert {"en": en, "zh": zh}[lang] in answer.json()["message"], answer.json()
        assert en in answer.json()["detail"]
    far = post(client, "xiamen", files["site.gpkg"], "site.gpkg", lang=lang)
    assert far.status_code == 400
    assert {"en": "far outside the extent of xiamen", "zh": "远在厦门市的范围之外"}[lang] in (
        far.json()["message"]
    )
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(bytes(range(256)) * 20)
    garbled = post(client, "cambridge", junk, "junk.gpkg", lang=lang)
    assert garbled.status_code == 400 and str(tmp_path) not in garbled.text
    assert "/tmp" not in garbled.text  # the server's own folders stay unnamed
    assert post(client, "cambridge", files["site.dxf"], "site.exe").status_code == 400
    assert post(client, "cambridge", None, "site.dxf").status_code == 400
    wrong = post(client, "cambridge", files["site.dxf"], "site.dxf", crs="EPSG:999999")
    assert wrong.status_code == 400
    assert post(client, "nowhere", files["site.gpkg"], "site.gpkg").status_code == 404


def test_a_file_too_large_is_refused_before_it_is_read(client):
    body = io.BytesIO(b"0" * (MAX_BYTES + 1))
    answer = client.post(
        "/cities/cambridge/boundary", params={"name": "big.geojson"}, content=body.getvalue()
    )
    assert answer.status_code == 400 and "20 MB" in answer.json()["detail"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_features_left_out_are_reported_in_the_language(client, site, files, lang, tmp_path):
    far = gpd.GeoDataFrame(geometry=[shapely.box(118.0, 24.4, 118.1, 24.5)], crs=4326)  # Xiamen
    mixed = tmp_path / "mixed.geojson"
    gpd.GeoDataFrame(geometry=[site.geometry.iloc[0], far.geometry.iloc[0]], crs=4326).to_file(
        mixed
    )
    answer = post(client, "cambridge", mixed, "mixed.geojson", lang=lang)
    assert answer.status_code == 200
    props = answer.json()["properties"]
    assert props["parts"] == 1 and props["rejected_count"] == 1
    assert props["rejected"][0]["feature"] == 1
    reason = {"en": "far outside the extent of cambridge", "zh": "远在剑桥市"}[lang]
    assert reason in props["rejected"][0]["reason"]
    # an archive the loader refuses (two data files, neither named) is refused here too
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(files["site.geojson"], "a.geojson")
        archive.write(files["site.geojson"], "b.geojson")
    refused = post(client, "cambridge", two, "two.zip", lang=lang)
    assert refused.status_code == 400
    assert {"en": "a.geojson", "zh": "无法打开该文件"}[lang] in refused.json()["message"]


def test_a_garbled_upload_leaves_the_server_s_threads_clean(client, tmp_path):
    """GDAL's warnings after a failed open went to a handler pyogrio 0.13 left pushed in
    the failing thread: a later shapefile export there (its field names shortened) raised
    warnings nothing could catch. Boundaries are read in a thread of their own."""
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(bytes(range(256)) * 20)
    for _ in range(8):
        assert post(client, "cambridge", junk, "junk.gpkg").status_code == 400
    for _ in range(4):
        exported = client.get("/collections/xiamen__districts/items", params={"f": "shp"})
        assert exported.status_code == 200 and exported.content[:2] == b"PK"


@pytest.mark.parametrize(
    "name", ["site.dxf", "site.gpkg", "site.geojson", "site.zip", "site.fgb", "site.kml"]
)
def test_damaged_files_get_an_answer_never_a_server_error(client, files, name):
    """Bytes flipped, cut, zeroed and inserted, 25 times per form (a fixed seed): each is a
    boundary or a 400 with its reason, never a 5xx (a FlatGeobuf with a ring left open was a
    500 from GEOS until the geometries were read as WKB and built leniently)."""
    rng = random.Random(name)
    data = files[name].read_bytes()
    crs = {"crs": f"EPSG:{STATE_PLANE_FT}"} if name == "site.dxf" else {}
    for _ in range(25):
        body = bytearray(data)
        at = rng.randrange(len(body))
        kind = rng.choice(["flip", "cut", "zero", "insert"])
        if kind == "flip":
            for _ in range(rng.randint(1, 20)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif kind == "cut":
            body = body[:at]
        elif kind == "zero":
            body[at : at + 500] = bytes(len(body[at : at + 500]))
        else:
            body[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        answer = client.post(
            "/cities/cambridge/boundary", params={"name": name, **crs}, content=bytes(body)
        )
        assert answer.status_code in (200, 400), (kind, answer.status_code, answer.text[:200])
        if answer.status_code == 400:
            assert answer.json()["message"]
