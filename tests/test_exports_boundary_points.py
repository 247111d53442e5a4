"""Polygons exported as a survey's boundary points (界址点坐标, `f=txt`): the coordinate
exchange format in the city's local CRS, read back by the boundary check to the same area as
the GeoPackage export of the same feature; its header names a CGCS2000 Gauss–Krüger zone for
Xiamen and the CRS itself for Cambridge; points, geographic CRSs and bad encodings refused."""

from __future__ import annotations

import geopandas as gpd
import pytest


def _export(client, collection: str, **params):  # noqa: ANN001, ANN202
    return client.get(f"/collections/{collection}/items", params={"f": "txt", **params})


def test_a_district_reads_back_to_its_area(client, tmp_path) -> None:  # noqa: ANN001
    siming = client.get(
        "/cities/xiamen/search", params={"q": "思明", "layers": "districts"}
    ).json()["hits"][0]
    chosen = {"filter": f"fid={siming['fid']}"}
    text = _export(client, "xiamen__districts", **chosen)
    assert text.status_code == 200, text.text
    assert text.headers["content-type"].startswith("text/plain")
    body = text.content.decode("utf-8")
    assert "坐标系=2000国家大地坐标系" in body and "带号=39" in body and "几度分带=3" in body
    parcels = [line for line in body.splitlines() if line.endswith("@")]
    assert parcels and all(f",{siming['fid']},思明区," in line for line in parcels)
    gpkg = client.get(
        "/collections/xiamen__districts/items",
        params={"f": "gpkg", "crs": "http://www.opengis.net/def/crs/EPSG/0/4548", **chosen},
    )
    (tmp_path / "d.gpkg").write_bytes(gpkg.content)
    truth = gpd.read_file(tmp_path / "d.gpkg").area.sum()
    back = client.post(
        "/cities/xiamen/boundary", params={"name": "思明区.txt"}, content=text.content
    )
    assert back.status_code == 200, back.text
    found = back.json()["properties"]
    assert found["crs"] == "EPSG:4548" and found["parts"] == len(parcels)
    assert found["area_m2"] == pytest.approx(truth, rel=1e-5)


def test_cambridge_parcels_in_massachusetts_metres_and_gbk(client) -> None:  # noqa: ANN001
    answer = _export(client, "cambridge__parcels", limit=3, encoding="GBK")
    assert answer.status_code == 200, answer.text
    body = answer.content.decode("gb18030")
    assert "坐标系=NAD83 / Massachusetts Mainland (EPSG:26986)" in body
    points = [line for line in body.splitlines() if line.startswith("J")]
    x, y = (float(v) for v in points[0].split(",")[2:4])
    assert 880_000 < x < 920_000 and 220_000 < y < 245_000  # X the northing, Y the easting


@pytest.mark.parametrize(
    ("collection", "params", "said"),
    [
        ("cambridge__hydrants", {}, "polygon layers only"),
        ("cambridge__parcels", {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
         "projected CRS"),
        ("cambridge__parcels", {"encoding": "latin-9"}, "encoding"),
    ],
)  # fmt: skip
def test_what_cannot_be_boundary_points_is_400(client, collection, params, said) -> None:  # noqa: ANN001
    answer = _export(client, collection, limit=2, **params)
    assert answer.status_code == 400, answer.text
    assert said in answer.text
