"""Exports (f=gpkg|shp|fgb|kml and `digitalcity export`): read back with GDAL and geopandas,
same features and values as the GeoJSON items for the same query, GBK shapefiles keep Chinese
names, the access rules of GeoJSON apply."""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from conftest import cli_on_test_cluster
from typer.testing import CliRunner

PARCELS = "/collections/cambridge__parcels/items"
BBOX = "-71.110,42.370,-71.100,42.376"
HYDRANTS = "/collections/cambridge__hydrants/items"


def _download(client, path: str, params: dict, tmp_path: Path, headers: dict | None = None) -> Path:  # noqa: ANN001
    response = client.get(path, params=params, headers=headers or {})
    assert response.status_code == 200, response.text[:300]
    name = response.headers["content-disposition"].split("filename=")[1].strip('"')
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / name
    out.write_bytes(response.content)
    if out.suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            archive.extractall(tmp_path / "unzipped")
            shp = next(n for n in archive.namelist() if n.endswith(".shp"))
        return tmp_path / "unzipped" / shp
    return out


def _geojson(client, path: str, params: dict, headers: dict | None = None) -> gpd.GeoDataFrame:  # noqa: ANN001
    response = client.get(path, params={**params, "limit": 10000}, headers=headers or {})
    assert response.status_code == 200
    return gpd.GeoDataFrame.from_features(response.json()["features"], crs=4326)


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("gpkg", ".gpkg"), ("shp", ".shp"), ("fgb", ".fgb"), ("kml", ".kml")]
)
def test_each_format_reads_back_with_the_same_features(
    client, tmp_path, fmt: str, suffix: str
) -> None:  # noqa: ANN001
    params = {
        "bbox": BBOX,
        "filter": "land_area_sqft > 2000",
        "properties": "address,land_area_sqft,use_code",
    }
    path = _download(client, PARCELS, {**params, "f": fmt}, tmp_path)
    assert path.suffix == suffix
    info = subprocess.run(["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    exported = gpd.read_file(path)
    expected = _geojson(client, PARCELS, params)
    assert len(exported) == len(expected) > 50
    assert f"Feature Count: {len(expected)}" in info.stdout
    if fmt != "kml":  # KML keeps names and descriptions, not typed fields
        columns = {c.lower() for c in exported.columns}
        assert {"address", "land_area_", "land_area_sqft", "use_code"} & columns
        area = next(c for c in exported.columns if c.lower().startswith("land_area"))
        assert sorted(exported[area].astype(float)) == pytest.approx(
            sorted(expected["land_area_sqft"].astype(float))
        )
    # the same places: total area of the geometries in the same CRS
    assert exported.to_crs(26986).area.sum() == pytest.approx(
        expected.to_crs(26986).area.sum(), rel=1e-5
    )


def test_crs_and_limit_apply_to_exports(client, tmp_path) -> None:  # noqa: ANN001
    params = {
        "bbox": BBOX,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/26986",
        "limit": 7,
        "f": "gpkg",
    }
    path = _download(client, PARCELS, params, tmp_path)
    frame = gpd.read_file(path)
    assert len(frame) == 7
    assert frame.crs.to_epsg() == 26986
    minx, _, _, _ = frame.total_bounds
    assert 200_000 < minx < 240_000  # Massachusetts Mainland metres, x first


def test_gbk_shapefile_keeps_chinese_names(client, tmp_path) -> None:  # noqa: ANN001
    path = _download(
        client, "/collections/xiamen__districts/items", {"f": "shp", "encoding": "GBK"}, tmp_path
    )
    assert (path.with_suffix(".cpg")).read_text().strip().upper() in ("GBK", "CP936", "936")
    raw = path.with_suffix(".dbf").read_bytes()
    assert "思明区".encode("gbk") in raw and "思明区".encode() not in raw
    names = set(gpd.read_file(path)["district"])
    assert {"思明区", "湖里区", "集美区"} <= names
    utf8 = _download(client, "/collections/xiamen__districts/items", {"f": "shp"}, tmp_path / "u")
    assert "思明区".encode() in utf8.with_suffix(".dbf").read_bytes()


def test_exports_follow_the_access_rules(client, planner_key: str, tmp_path) -> None:  # noqa: ANN001
    params = {"bbox": BBOX, "f": "gpkg"}
    anonymous = pyogrio.read_info(_download(client, PARCELS, params, tmp_path / "a"))["fields"]
    keyed = pyogrio.read_info(
        _download(client, PARCELS, params, tmp_path / "k", {"X-API-Key": planner_key})
    )["fields"]
    hidden = set(keyed) - set(anonymous)
    assert hidden, "the planner's export holds internal fields"
    geojson = client.get(PARCELS, params={"bbox": BBOX, "limit": 1}).json()["features"][0]
    assert not hidden & set(geojson["properties"])
    assert (
        client.get("/collections/cambridge__utility_poles/items", params={"f": "gpkg"}).status_code
        == 404
    )


def test_bad_export_requests_are_400(client) -> None:  # noqa: ANN001
    assert client.get(PARCELS, params={"f": "dwg"}).status_code == 400
    bad = client.get(PARCELS, params={"f": "shp", "encoding": "latin-9"})
    assert bad.status_code == 400 and "encoding" in bad.json()["detail"]
    assert client.get(PARCELS, params={"f": "gpkg", "filter": "nope = 1"}).status_code == 400


def test_empty_export_has_the_columns(client, tmp_path) -> None:  # noqa: ANN001
    path = _download(client, HYDRANTS, {"f": "gpkg", "bbox": "0,0,0.001,0.001"}, tmp_path)
    info = pyogrio.read_info(path)
    assert info["features"] == 0 and len(info["fields"]) > 1


def test_cli_export(loaded, settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from digitalcity.cli import app

    cli_on_test_cluster(monkeypatch, settings)
    out = tmp_path / "parcels.gpkg"
    result = CliRunner().invoke(
        app, ["export", "cambridge", "parcels", "-f", "gpkg", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pyogrio.read_info(out)["features"] == 13_116
    bad = CliRunner().invoke(app, ["export", "cambridge", "parcels", "-f", "dwg", "-o", str(out)])
    assert bad.exit_code == 1 and "unknown export format" in bad.output


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "shp"])
def test_typed_fields_keep_their_values(client, tmp_path, fmt: str) -> None:  # noqa: ANN001
    """Whole numbers, booleans, dates and text read back as the GeoJSON gives them (a
    shapefile holds dates as ISO text), nulls stay null, every feature keeps its id."""
    path = _download(client, HYDRANTS, {"f": fmt}, tmp_path)
    exported = pyogrio.read_dataframe(path)
    features = client.get(HYDRANTS, params={"limit": 10000}).json()["features"]
    assert len(exported) == len(features) > 1000
    by_id = {f["id"]: f["properties"] for f in features}
    dates = tags = 0
    for row in exported.to_dict("records"):
        expected = by_id[int(row["feature_id"])]
        for name, value in expected.items():
            got = row[name[:10] if fmt == "shp" else name]
            if value is None:
                assert got is None or got != got, (name, got)  # None or NaN / NaT
            elif name == "install_date":
                shown = got if isinstance(got, str) else got.date().isoformat()
                assert shown[:10] == value, (name, got, value)
                dates += 1
            elif isinstance(value, bool):
                assert bool(got) is value, (name, got)
                tags += 1
            elif isinstance(value, (int, float)):
                assert float(got) == pytest.approx(value), (name, got, value)
            else:
                assert str(got) == str(value), (name, got, value)
    assert dates > 1000 and tags > 1000


def test_exports_open_in_qgis(client, tmp_path) -> None:  # noqa: ANN001
    """QGIS 3.22 (python3-qgis, Debian's Python, offscreen) opens each export as a layer
    from a file, with every feature; the GBK shapefile's Chinese names read back intact."""
    params = {"bbox": BBOX, "properties": "address,land_area_sqft,use_code"}
    expected = len(_geojson(client, PARCELS, params))
    paths = [
        _download(client, PARCELS, {**params, "f": fmt}, tmp_path / fmt)
        for fmt in ("gpkg", "shp", "fgb", "kml")
    ]
    gbk = _download(
        client, "/collections/xiamen__districts/items", {"f": "shp", "encoding": "GBK"},
        tmp_path / "gbk",
    )  # fmt: skip
    done = subprocess.run(
        ["/usr/bin/python3", str(Path(__file__).with_name("qgis_layer_probe.py")), "files",
         *map(str, [*paths, gbk])],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    *layers, districts = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(x["valid"], x["count"]) for x in layers] == [(True, expected)] * 4
    assert {"address", "use_code"} <= {f.lower() for f in layers[0]["fields"]}
    assert districts["valid"] and {"思明区", "湖里区", "集美区"} <= set(
        districts["values"]["district"]
    )
