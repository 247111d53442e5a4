"""Damaged source files, as partial copies and downloads leave them: every one either loads
(with its unreadable rows reported) or fails with a clear SourceError or LoadError, keeping the
previous version; none ends in an internal error. A .dbf cut short used to load the rows before
the cut, silently (GDAL says so on stderr only). Written at test time from the real Xiamen
districts."""

from __future__ import annotations

import random
import shutil
import sqlite3
import struct
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from digitalcity.errors import DigitalCityError, LoadError, SourceError
from digitalcity.ingest import load_layer
from tests.conftest import XIAMEN_DISTRICTS
from tests.test_ingest_formats import NAME, POP, layer

DAMAGES = ("cut in half", "garbage after 100 bytes", "64 zero bytes in the middle")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The districts as a shapefile, GeoPackage, GeoJSON, FlatGeobuf and CSV of points."""
    districts = (
        gpd.read_file(XIAMEN_DISTRICTS)[["district", "POPU", "geometry"]]
        .rename(columns={"district": "name", "POPU": "population"})
        .set_crs(4326, allow_override=True)
    )
    folder = tmp_path_factory.mktemp("clean")
    districts.to_file(folder / "d.shp", encoding="UTF-8")
    districts.to_file(folder / "d.gpkg", driver="GPKG")
    districts.to_file(folder / "d.geojson", driver="GeoJSON")
    districts.to_file(folder / "d.fgb", driver="FlatGeobuf")
    inside = districts.geometry.representative_point()
    table = districts.drop(columns="geometry").assign(x=inside.x, y=inside.y)
    table.to_csv(folder / "d.csv", index=False)
    return folder


def _damaged(clean: Path, folder: Path, name: str, damage: str) -> Path:
    shutil.copytree(clean, folder)
    path = folder / name
    data = path.read_bytes()
    if damage == "cut in half":
        data = data[: len(data) // 2]
    elif damage == "garbage after 100 bytes":
        data = data[:100] + random.Random(f"{name} {damage}").randbytes(len(data) - 100)
    else:
        middle = len(data) // 2
        data = data[:middle] + b"\0" * 64 + data[middle + 64 :]
    path.write_bytes(data)
    return folder / ("d.shp" if path.suffix in (".shp", ".dbf", ".shx") else name)


def _definition(path: Path, layer_id: str):
    if path.suffix == ".csv":
        spec = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
        return layer(layer_id, "Point", spec, [NAME, POP])
    return layer(layer_id, "MultiPolygon", {"path": str(path)}, [NAME, POP])


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize(
    "name", ["d.shp", "d.dbf", "d.shx", "d.gpkg", "d.geojson", "d.fgb", "d.csv"]
)
def test_a_damaged_file_loads_or_fails_clearly(
    clean, catalog, engine, settings, tmp_path, name, damage
):
    path = _damaged(clean, tmp_path / "copy", name, damage)
    layer_id = f"damaged_{name[2:]}_{DAMAGES.index(damage)}"
    try:
        report = load_layer(_definition(path, layer_id), catalog.city("xiamen"), engine, settings)
    except DigitalCityError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert report.rows_loaded + len(report.rejected) == report.rows_read > 0


def test_a_dbf_cut_short_keeps_the_previous_version(clean, catalog, engine, settings, tmp_path):
    folder = tmp_path / "layer"
    shutil.copytree(clean, folder)
    definition = _definition(folder / "d.shp", "cut_dbf")
    xiamen = catalog.city("xiamen")
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    dbf = folder / "d.dbf"
    dbf.write_bytes(dbf.read_bytes()[: dbf.stat().st_size // 2])
    with pytest.raises(
        LoadError, match=r"read 2 of the 6 features d.shp declares: the file looks cut"
    ):
        load_layer(definition, xiamen, engine, settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM xiamen.cut_dbf")).scalar() == 6


def test_records_flagged_deleted_are_not_missing(clean, catalog, engine, settings, tmp_path):
    """A shapefile edited without packing keeps its deleted records, flagged: GDAL counts them
    in the layer but does not read them, and the load is complete without them."""
    folder = tmp_path / "edited"
    shutil.copytree(clean, folder)
    dbf = folder / "d.dbf"
    data = bytearray(dbf.read_bytes())
    _, header_length, record_length = struct.unpack("<IHH", data[4:12])
    data[header_length + 2 * record_length] = ord("*")  # the third record
    dbf.write_bytes(bytes(data))
    report = load_layer(_definition(folder / "d.shp", "with_deleted"), catalog.city("xiamen"),
                        engine, settings)  # fmt: skip
    assert report.rows_read == report.rows_loaded == 5


def test_a_flatgeobuf_of_no_readable_layer(clean, catalog, engine, settings, tmp_path):
    path = _damaged(clean, tmp_path / "fgb", "d.fgb", "garbage after 100 bytes")
    with pytest.raises(SourceError, match="d.fgb holds no layer GDAL can read"):
        load_layer(_definition(path, "fgb_garbage"), catalog.city("xiamen"), engine, settings)


def test_a_defect_on_one_layer_spares_the_others(catalog, engine, settings, monkeypatch, caplog):
    """Fault injection (a defect of ours, which no real input is known to trigger any more):
    ``load_city`` reports the failing layer as an internal error, logs its traceback, keeps
    its previous version and loads the city's other layers."""
    from digitalcity.ingest import city as city_loading

    real = city_loading.load_layer

    def defective(layer, *args, **kwargs):
        if layer.id == "districts":
            raise ValueError("an unforeseen defect")
        return real(layer, *args, **kwargs)

    monkeypatch.setattr(city_loading, "load_layer", defective)
    outcomes = {
        o.layer: o for o in city_loading.load_city(catalog, "xiamen", None, engine, settings)
    }
    failed = outcomes.pop("districts")
    assert failed.report is None and failed.error == (
        "xiamen.districts: internal error (ValueError: an unforeseen defect); previous version "
        "kept; please report it with the log"
    )
    assert outcomes and all(o.report is not None for o in outcomes.values()), outcomes
    assert "internal error loading xiamen.districts" in caplog.text
    assert "Traceback" in caplog.text


def _garble_first_part_type(gpkg: Path, fid: int) -> None:
    """Set a high bit in the WKB type of the first part of feature ``fid``'s multipolygon, as
    a flipped byte would: GEOS still reads the part as a polygon, PostGIS refuses it."""
    with closing(sqlite3.connect(gpkg)) as db, db:
        (blob,) = db.execute("SELECT geom FROM d WHERE fid = ?", (fid,)).fetchone()
        envelope = (0, 32, 48, 48, 64)[(blob[3] >> 1) & 0x7]
        part = 8 + envelope + 9  # the GeoPackage header, then the multipolygon's own header
        assert blob[part : part + 5] == b"\x01\x03\x00\x00\x00"  # a little-endian polygon
        garbled = blob[: part + 3] + b"\x08" + blob[part + 4 :]
        # the spatial index's triggers call GeoPackage SQL functions plain SQLite lacks; the
        # extent does not change, so the index stays right without them
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute("UPDATE d SET geom = ? WHERE fid = ?", (garbled, fid))


def test_a_garbled_part_is_a_clear_error_naming_its_row(clean, catalog, engine, settings, tmp_path):
    """A GeoPackage's WKB is passed on as read when GEOS read it unchanged; PostGIS reads it
    more strictly, so a garbled part used to fail the COPY as an internal error."""
    folder = tmp_path / "garbled"
    shutil.copytree(clean, folder)
    definition = _definition(folder / "d.gpkg", "garbled_part")
    xiamen = catalog.city("xiamen")
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    _garble_first_part_type(folder / "d.gpkg", 3)
    with pytest.raises(
        LoadError,
        match=r"^xiamen\.garbled_part: row 3: its geometry cannot be stored \(Unknown WKB type "
        r"\(524291\)\); the file may be damaged; previous version kept$",
    ):
        load_layer(definition, xiamen, engine, settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM xiamen.garbled_part")).scalar() == 6


def test_a_geoparquet_damaged_past_its_footer(clean, catalog, engine, settings, tmp_path):
    """A GeoParquet file whose footer reads but whose last row group cannot be read fails
    with a SourceError at that batch (pyarrow raises OSError there, not its own errors),
    keeping the previous version."""
    districts = gpd.read_file(clean / "d.gpkg")
    path = tmp_path / "d.parquet"
    districts.to_parquet(path, row_group_size=2, compression="snappy")
    definition = _definition(path, "damaged_parquet")
    xiamen = catalog.city("xiamen")
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(meta.num_row_groups - 1).column(meta.schema.names.index("geometry"))
    data = path.read_bytes()
    at = (chunk.dictionary_page_offset or chunk.data_page_offset) + 100
    path.write_bytes(data[:at] + bytes(7) + data[at:])  # 7 bytes in: its pages misread
    with pytest.raises(SourceError, match=r"cannot read d\.parquet: "):
        load_layer(definition, xiamen, engine, settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM xiamen.damaged_parquet")).scalar() == 6
