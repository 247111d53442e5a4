"""Real clients no one here wrote read the API over HTTP: GDAL (OAPIF), OWSLib, geopandas."""

from __future__ import annotations

import json
import subprocess

import geopandas as gpd
import shapely

from tests.conftest import SHARED_DATA

BOX = (-71.115, 42.365, -71.095, 42.375)


def _expected_blocks(min_pop: int) -> int:
    blocks = gpd.read_file(SHARED_DATA / "cambridge_ma/DEMOGRAPHICS_Blocks2000.geojson")
    inside = blocks.intersects(shapely.box(*BOX))
    return int((inside & (blocks.POP_LAB > min_pop)).sum())


def test_ogrinfo_lists_collections(live_server):
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "cambridge__parcels" in out and "xiamen__districts" in out
    assert "cambridge__utility_poles" not in out  # internal: not listed to anonymous clients


def test_ogr2ogr_reads_bbox_and_attribute_filtered_subset(live_server, tmp_path):
    target = tmp_path / "subset.geojson"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GeoJSON",
            str(target),
            f"OAPIF:{live_server}",
            "cambridge__census_blocks_2000",
            "-spat",
            *map(str, BOX),
            "-where",
            "population > 100",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    features = json.loads(target.read_text())["features"]
    assert len(features) == _expected_blocks(100) > 5
    assert all(f["properties"]["population"] > 100 for f in features)


def test_owslib_reads_items(live_server):
    from owslib.ogcapi.features import Features

    api = Features(live_server)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert "cambridge__hydrants" in ids
    items = api.collection_items("cambridge__hydrants", limit=7)
    assert len(items["features"]) == 7 and items["numberMatched"] == 1960
    queryables = api.collection_queryables("cambridge__hydrants")
    assert "hydrant_id" in queryables["properties"]


def test_geopandas_reads_an_items_url(live_server):
    url = (
        f"{live_server}/collections/cambridge__census_blocks_2000/items"
        f"?bbox={','.join(map(str, BOX))}&filter=population%20%3E%20100&limit=1000"
    )
    frame = gpd.read_file(url)
    assert len(frame) == _expected_blocks(100)
    assert frame.crs.to_epsg() == 4326
