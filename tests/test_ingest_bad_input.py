"""Bad input: a clear one-line error or a per-row rejection, and the old version stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.registry import load_catalog
from digitalcity.errors import CatalogError, LoadError, SourceError
from digitalcity.ingest import load_layer
from tests.conftest import SHARED_DATA


def variant(layer: LayerDef, layer_id: str | None = None, **source_changes) -> LayerDef:
    """The same layer definition with a different source (and id, to load into its own table)."""
    data = layer.model_dump()
    data["source"].update(source_changes)
    data["id"] = layer_id or data["id"]
    return LayerDef.model_validate(data)


def rows_and_version(engine, table: str) -> tuple[int, int]:
    city, layer = table.split(".")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
        version = conn.execute(
            sa.text(
                "SELECT version FROM digitalcity.layer_versions WHERE city=:c AND layer=:l AND is_current"
            ),
            {"c": city, "l": layer},
        ).scalar_one()
    return rows, version


@pytest.fixture
def blocks(catalog, loaded):
    return catalog.layer("cambridge", "census_blocks_2000"), catalog.city("cambridge")


def test_missing_file(blocks, engine, settings, tmp_path):
    layer, city = blocks
    before = rows_and_version(engine, "cambridge.census_blocks_2000")
    with pytest.raises(SourceError, match="missing source file"):
        load_layer(variant(layer, path=str(tmp_path / "nope.geojson")), city, engine, settings)
    assert rows_and_version(engine, "cambridge.census_blocks_2000") == before


def test_truncated_file_keeps_previous_version(blocks, engine, settings, tmp_path):
    layer, city = blocks
    text = (SHARED_DATA / layer.source.path).read_text()
    truncated = tmp_path / "blocks.geojson"
    truncated.write_text(text[: len(text) // 2])
    before = rows_and_version(engine, "cambridge.census_blocks_2000")
    with pytest.raises(SourceError, match="cannot read blocks.geojson"):
        load_layer(variant(layer, path=str(truncated)), city, engine, settings)
    assert rows_and_version(engine, "cambridge.census_blocks_2000") == before
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT sum(population) FROM cambridge.census_blocks_2000"))
        assert total.scalar_one() == 101355


def test_unreadable_file(blocks, engine, settings, tmp_path):
    layer, city = blocks
    garbage = tmp_path / "garbage.geojson"
    garbage.write_bytes(b"\x00\x01 not json at all \xff")
    with pytest.raises(SourceError, match="cannot read garbage.geojson"):
        load_layer(variant(layer, path=str(garbage)), city, engine, settings)


def test_unknown_crs(blocks, engine, settings):
    layer, city = blocks
    with pytest.raises(SourceError, match="EPSG:999999"):
        load_layer(variant(layer, crs="EPSG:999999"), city, engine, settings)


def test_missing_crs(catalog, engine, settings, loaded):
    parcels = catalog.layer("cambridge", "parcels")
    with pytest.raises(SourceError, match="no CRS"):
        load_layer(variant(parcels, crs=None), catalog.city("cambridge"), engine, settings)


def test_join_key_matching_nothing(catalog, engine, settings, loaded):
    zoning = catalog.layer("cambridge", "zoning_districts")
    data = zoning.model_dump()
    data["source"]["joins"][0]["left_key"] = "GlobalID"  # never equals a zone code
    before = rows_and_version(engine, "cambridge.zoning_districts")
    with pytest.raises(LoadError, match="join 'names' matched none"):
        load_layer(LayerDef.model_validate(data), catalog.city("cambridge"), engine, settings)
    assert rows_and_version(engine, "cambridge.zoning_districts") == before


def test_join_column_missing(catalog, engine, settings, loaded):
    zoning = catalog.layer("cambridge", "zoning_districts")
    data = zoning.model_dump()
    data["source"]["joins"][0]["right_key"] = "NoSuchColumn"
    with pytest.raises(SourceError, match="no column 'NoSuchColumn'"):
        load_layer(LayerDef.model_validate(data), catalog.city("cambridge"), engine, settings)


def _feature(geometry, pop):
    return {
        "type": "Feature",
        "properties": {"STFID": str(900000 + pop), "POP_LAB": pop},
        "geometry": geometry,
    }


def test_broken_geometries_rejected_or_repaired_per_row(blocks, engine, settings, tmp_path):
    layer, city = blocks
    square = [[-71.11, 42.37], [-71.10, 42.37], [-71.10, 42.38], [-71.11, 42.38], [-71.11, 42.37]]
    bowtie = [[-71.11, 42.37], [-71.10, 42.38], [-71.10, 42.37], [-71.11, 42.38], [-71.11, 42.37]]
    far = [[[c[0] + 300.0, c[1]] for c in square]]  # longitude beyond 180
    paris = [[[c[0] + 73.45, c[1] + 6.5] for c in square]]  # valid, but nowhere near Cambridge
    features = [
        _feature({"type": "Polygon", "coordinates": [square]}, 1),
        _feature({"type": "Polygon", "coordinates": [bowtie]}, 2),
        _feature(None, 3),
        _feature({"type": "Polygon", "coordinates": far}, 4),
        _feature({"type": "Polygon", "coordinates": paris}, 5),
        _feature({"type": "LineString", "coordinates": square}, 6),
    ]
    path = tmp_path / "broken.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = load_layer(
        variant(layer, "broken_blocks", path=str(path), id_field=None), city, engine, settings
    )
    reasons = dict(report.rejected)
    assert report.rows_read == 6
    assert report.rows_loaded == 2
    assert report.repaired == [2]
    assert set(reasons) == {3, 4, 5, 6}
    assert "missing" in reasons[3]
    assert "out of range" in reasons[4]
    assert "far outside" in reasons[5]
    assert "does not fit" in reasons[6]
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT fid, ST_IsValid(geom), GeometryType(geom) FROM cambridge.broken_blocks "
                "ORDER BY fid"
            )
        ).all()
    assert stored == [(1, True, "MULTIPOLYGON"), (2, True, "MULTIPOLYGON")]


def test_all_rows_rejected_keeps_previous_version(blocks, engine, settings, tmp_path):
    layer, city = blocks
    path = tmp_path / "nothing.geojson"
    path.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [_feature(None, 1), _feature(None, 2)]}
        )
    )
    before = rows_and_version(engine, "cambridge.census_blocks_2000")
    with pytest.raises(LoadError, match="no valid rows among 2"):
        load_layer(variant(layer, path=str(path), id_field=None), city, engine, settings)
    assert rows_and_version(engine, "cambridge.census_blocks_2000") == before


def _write_layers(root: Path, layer_toml: str) -> Path:
    city = root / "testcity"
    city.mkdir(parents=True)
    (city / "city.toml").write_text(
        'title = { zh = "测试", en = "Test" }\nstorage_crs = "EPSG:4326"\nlocal_crs = "EPSG:26986"\n'
    )
    (city / "roads.toml").write_text(layer_toml)
    return root


VALID = """
id = "roads"
title = { zh = "道路", en = "Roads" }
kind = "infrastructure"
geometry_type = "MultiLineString"
[source]
path = "x.geojson"
[[fields]]
name = "name"
title = { zh = "名称", en = "Name" }
"""


def test_valid_definition_parses(tmp_path):
    catalog = load_catalog(_write_layers(tmp_path, VALID))
    assert catalog.layer("testcity", "roads").city == "testcity"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "infrastructure"', 'kind = "sewers"'), "kind"),
        (('name = "name"', 'name = "Name With Spaces"'), "field name"),
        (('geometry_type = "MultiLineString"', 'geometry_type = "Blob"'), "geometry_type"),
        (("[source]", "min_zoom = 18\nmax_zoom = 3\n[source]"), "min_zoom 18 exceeds max_zoom 3"),
        (('name = "name"\n', 'name = "name"\nsource = "other.col"\n'), "unknown join 'other'"),
        (('title = { zh = "道路", en = "Roads" }', 'title = "Roads"'), "title"),
        (('id = "roads"', 'id = "roads'), "not valid TOML"),
        (('path = "x.geojson"', 'path = "x.csv"'), "CSV or spreadsheet source needs"),
    ],
)
def test_invalid_definition_is_one_clear_error(tmp_path, change, message):
    old, new = change
    assert old in VALID
    with pytest.raises(CatalogError, match=message) as info:
        load_catalog(_write_layers(tmp_path, VALID.replace(old, new)))
    assert "roads.toml" in str(info.value)
    assert "\n" not in str(info.value)


def test_duplicate_feature_ids_keep_previous_version_and_leave_no_staging(
    blocks, engine, settings, tmp_path
):
    layer, city = blocks
    square = [[-71.11, 42.37], [-71.10, 42.37], [-71.10, 42.38], [-71.11, 42.38], [-71.11, 42.37]]
    polygon = {"type": "Polygon", "coordinates": [square]}
    twins = [_feature(polygon, 1), _feature(polygon, 1)]  # both STFID 900001
    path = tmp_path / "twins.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": twins}))
    before = rows_and_version(engine, "cambridge.census_blocks_2000")
    # the id named, as PostgreSQL reports the first duplicate
    duplicated = r"duplicate feature ids: id_field '\w+' must be unique \(Key \(fid\)=\(900001\)"
    with pytest.raises(LoadError, match=duplicated):
        load_layer(variant(layer, path=str(path)), city, engine, settings)
    assert rows_and_version(engine, "cambridge.census_blocks_2000") == before
    with engine.connect() as conn:
        staging = conn.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_staging'")
        ).scalar_one()
        copies = conn.execute(  # the tile copy built beside the staging table is gone too
            sa.text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'digitalcity_tiles' "
                "AND tablename LIKE 'cambridge\\_\\_census\\_blocks\\_2000\\_\\_s%'"
            )
        ).scalar_one()
    assert staging == 0 and copies == 0


def test_values_postgresql_cannot_store_are_cleaned_or_nulled(blocks, engine, settings, tmp_path):
    """A NUL character (PostgreSQL text cannot hold one) is dropped from the text; an integer
    beyond 64 bits becomes NULL and is counted. (GDAL cuts text at a NUL; CSV and TopoJSON,
    read without GDAL, keep it until here.)"""
    layer, city = blocks
    square = "POLYGON((-71.11 42.37,-71.10 42.37,-71.10 42.38,-71.11 42.38,-71.11 42.37))"
    path = tmp_path / "odd.csv"
    path.write_text(
        f'STFID,POP_LAB,WKT\n9\x001,{2**70},"{square}"\n900007,7,"{square}"\n', encoding="utf-8"
    )
    report = load_layer(
        variant(layer, "odd_blocks", path=str(path), id_field=None, crs="EPSG:4326", wkt="WKT"),
        city,
        engine,
        settings,
    )
    assert report.rows_loaded == 2 and report.rejected == []
    assert report.coerced_to_null == {"population": 1}
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT block_id, population FROM cambridge.odd_blocks ORDER BY fid")
        ).all()
    assert stored == [("91", None), ("900007", 7)]


def test_integer_ids_read_as_integers_keep_every_digit(blocks, engine, settings, tmp_path):
    """A GeoPackage's integer id column becomes the feature ids as read (beyond 2**53 too,
    where floats would round); a missing id is refused with its row, the old version kept."""
    import geopandas as gpd
    import shapely

    layer, city = blocks
    square = shapely.box(-71.11, 42.37, -71.10, 42.38)
    ids = [2**62 + 1, -7, 900_003]
    frame = gpd.GeoDataFrame(
        {"bid": ids, "STFID": ["a", "b", "c"], "POP_LAB": [1, 2, 3]},
        geometry=[square] * 3,
        crs="EPSG:4326",
    )
    path = tmp_path / "ids.gpkg"
    frame.to_file(path, engine="pyogrio")
    report = load_layer(
        variant(layer, "int_id_blocks", path=str(path), id_field="bid"), city, engine, settings
    )
    assert report.rows_loaded == 3
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT fid FROM cambridge.int_id_blocks ORDER BY fid"))
        assert stored.scalars().all() == sorted(ids)
    frame["bid"] = frame["bid"].astype("Int64")
    frame.loc[1, "bid"] = None
    frame.to_file(path, engine="pyogrio")
    before = rows_and_version(engine, "cambridge.int_id_blocks")
    with pytest.raises(LoadError, match=r"must hold whole numbers \(row 2\)"):
        load_layer(
            variant(layer, "int_id_blocks", path=str(path), id_field="bid"), city, engine, settings
        )
    assert rows_and_version(engine, "cambridge.int_id_blocks") == before


def test_a_source_without_rows_is_refused_and_keeps_the_version(blocks, engine, settings, tmp_path):
    """A layer with its columns and no row (the pipeline's first batch comes back empty):
    refused by name, nothing staged, the current version kept."""
    import geopandas as gpd

    layer, city = blocks
    empty = gpd.GeoDataFrame(
        {"STFID": [], "POP_LAB": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
    )
    path = tmp_path / "empty.gpkg"
    empty.to_file(path, engine="pyogrio", layer="blocks")
    before = rows_and_version(engine, "cambridge.census_blocks_2000")
    with pytest.raises(LoadError, match="census_blocks_2000: no valid rows among 0"):
        load_layer(variant(layer, path=str(path), id_field=None), city, engine, settings)
    assert rows_and_version(engine, "cambridge.census_blocks_2000") == before
    with engine.connect() as conn:
        staged = conn.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_staging'")
        ).scalar_one()
    assert staged == 0
