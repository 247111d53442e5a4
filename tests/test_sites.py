"""Saved site boundaries (红线核查 shared by link), over the API: a real Cambridge
neighbourhood drawn as a CAD file at test time, saved by a planner, read back by a colleague
to the same area and outline, hidden from anonymous callers, deleted only by the key that
saved it or an admin."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from test_boundary import LOCAL_M, STATE_PLANE_FT, post

from digitalcity.db.keys import create_key
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def drawing(tmp_path_factory) -> tuple[Path, gpd.GeoDataFrame]:  # noqa: ANN001
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    site = frame.iloc[[5]][["geometry"]]
    path = tmp_path_factory.mktemp("sites") / "项目红线.dxf"
    outline = site.to_crs(STATE_PLANE_FT).boundary.to_frame("geometry").set_geometry("geometry")
    outline.to_file(path, driver="DXF")
    return path, site


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    made = {r: create_key(engine, r, f"sites-{r}").key for r in ("planner", "land_bureau", "admin")}
    made["colleague"] = create_key(engine, "planner", "sites-colleague").key
    return made


def _save(client, drawing, key: str | None):  # noqa: ANN001, ANN202
    client.headers.pop("X-API-Key", None)
    if key:
        client.headers["X-API-Key"] = key
    try:
        return post(client, "cambridge", drawing[0], "项目红线.dxf", crs=f"EPSG:{STATE_PLANE_FT}",
                    save="true")  # fmt: skip
    finally:
        client.headers.pop("X-API-Key", None)


def test_a_saved_site_reads_back_for_colleagues_only(client, drawing, keys) -> None:  # noqa: ANN001
    saved = _save(client, drawing, keys["planner"])
    assert saved.status_code == 200, saved.text
    token = saved.json()["properties"]["site"]
    url = f"/cities/cambridge/sites/{token}"
    got = client.get(url, headers={"X-API-Key": keys["colleague"]})
    assert got.status_code == 200 and got.headers["cache-control"] == "private, no-cache"
    feature = got.json()
    props = feature["properties"]
    assert props["name"] == "项目红线.dxf" and props["saved_by"] == "planner"
    assert props["area_m2"] == saved.json()["properties"]["area_m2"]
    assert props["crs"] == saved.json()["properties"]["crs"]
    site = drawing[1]
    area = float(site.to_crs(LOCAL_M).area.iloc[0])
    assert props["area_m2"] == pytest.approx(area, rel=1e-4)
    shape = shapely.geometry.shape(feature["geometry"])
    assert shape.symmetric_difference(site.geometry.iloc[0]).area < 1e-4 * shape.area
    # not for the public: the same 404 as a token that never was
    for headers in ({}, {"X-API-Key": "dc_not-a-key"}):
        answer = client.get(url, headers=headers)
        assert answer.status_code in (401, 404) and "项目红线" not in answer.text
    assert client.get(url).status_code == 404
    assert (
        client.get(
            f"/cities/cambridge/sites/{'x' * 16}", headers={"X-API-Key": keys["planner"]}
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/cities/xiamen/sites/{token}", headers={"X-API-Key": keys["planner"]}
        ).status_code
        == 404
    )


def test_saving_needs_a_key_and_deleting_the_saver_or_an_admin(client, drawing, keys) -> None:  # noqa: ANN001
    anonymous = _save(client, drawing, None)
    assert anonymous.status_code == 401 and "sign in" in anonymous.text.lower()
    token = _save(client, drawing, keys["land_bureau"]).json()["properties"]["site"]
    url = f"/cities/cambridge/sites/{token}"
    assert client.delete(url).status_code == 404  # anonymous: nothing to see
    assert client.delete(url, headers={"X-API-Key": keys["colleague"]}).status_code == 403
    assert client.get(url, headers={"X-API-Key": keys["colleague"]}).status_code == 200
    assert client.delete(url, headers={"X-API-Key": keys["land_bureau"]}).status_code == 204
    assert client.get(url, headers={"X-API-Key": keys["land_bureau"]}).status_code == 404
    other = _save(client, drawing, keys["planner"]).json()["properties"]["site"]
    assert (
        client.delete(
            f"/cities/cambridge/sites/{other}", headers={"X-API-Key": keys["admin"]}
        ).status_code
        == 204
    )


def test_a_check_without_save_keeps_nothing(client, drawing, keys, engine) -> None:  # noqa: ANN001
    import sqlalchemy as sa

    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM digitalcity.sites")).scalar_one()
    client.headers["X-API-Key"] = keys["planner"]
    try:
        plain = post(client, "cambridge", drawing[0], "a.dxf", crs=f"EPSG:{STATE_PLANE_FT}")
    finally:
        client.headers.pop("X-API-Key", None)
    assert plain.status_code == 200 and "site" not in plain.json()["properties"]
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM digitalcity.sites")).scalar_one() == before
        )


def test_each_caller_lists_the_sites_they_saved(client, drawing, keys) -> None:  # noqa: ANN001
    mine = {_save(client, drawing, keys["planner"]).json()["properties"]["site"] for _ in range(2)}
    theirs = _save(client, drawing, keys["colleague"]).json()["properties"]["site"]

    def listed(key: str | None) -> list[dict]:
        headers = {"X-API-Key": key} if key else {}
        answer = client.get("/cities/cambridge/sites", headers=headers)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-cache"
        return answer.json()["sites"]

    own = listed(keys["planner"])
    assert mine <= {s["site"] for s in own} and theirs not in {s["site"] for s in own}
    assert [s["saved_at"] for s in own] == sorted((s["saved_at"] for s in own), reverse=True)
    assert own[0]["name"] == "项目红线.dxf" and own[0]["area_m2"] > 0
    assert {theirs, *mine} <= {s["site"] for s in listed(keys["admin"])}
    assert listed(None) == []  # the public: nothing, not even that sites exist
    assert client.get("/cities/xiamen/sites", headers={"X-API-Key": keys["planner"]}).json() == {
        "sites": []
    }
