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
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from pyogrio.errors import DataLayerError

from digitalcity.catalog.ogr_layers import layer_info
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
    with _edited(gpkg) as db:
        (blob,) = db.execute("SELECT geom FROM d WHERE fid = ?", (fid,)).fetchone()
        envelope = (0, 32, 48, 48, 64)[(blob[3] >> 1) & 0x7]
        part = 8 + envelope + 9  # the GeoPackage header, then the multipolygon's own header
        assert blob[part : part + 5] == b"\x01\x03\x00\x00\x00"  # a little-endian polygon
        garbled = blob[: part + 3] + b"\x08" + blob[part + 4 :]
        db.execute("UPDATE d SET geom = ? WHERE fid = ?", (garbled, fid))


@contextmanager
def _edited(gpkg: Path) -> Iterator[sqlite3.Connection]:
    """A GeoPackage open in plain SQLite, committed after. Its spatial index's triggers call
    GeoPackage SQL functions plain SQLite lacks, so they are dropped; no edit here moves a
    geometry, so the index stays right without them."""
    with closing(sqlite3.connect(gpkg)) as db, db:
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        yield db


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


def test_a_text_value_that_is_not_utf8_is_set_to_null(clean, catalog, engine, settings, tmp_path):
    """A GeoPackage name whose bytes are not UTF-8 (SQLite stores a TEXT value's bytes
    unchecked): Arrow takes the text as GDAL hands it over, and its string functions then
    refused the whole batch (an internal error). The value is now set to null and counted,
    as other values that cannot be read."""
    folder = tmp_path / "garbled_text"
    shutil.copytree(clean, folder)
    with _edited(folder / "d.gpkg") as db:
        db.execute("UPDATE d SET name = CAST(X'E58EA6FF' AS TEXT) WHERE fid = 2")
    report = load_layer(
        _definition(folder / "d.gpkg", "garbled_text"), catalog.city("xiamen"), engine, settings
    )
    assert report.rows_loaded == 6 and report.coerced_to_null == {"name": 1}
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.garbled_text ORDER BY fid"))
        kept = names.scalars().all()
    assert kept[1] is None and None not in kept[:1] + kept[2:]


def test_a_field_name_that_is_not_utf8_is_a_clear_error(clean, tmp_path):
    """pyogrio raised UnicodeDecodeError for a field name it could not decode. A load's
    encoding check refuses most such files first ("its .cpg declares UTF-8, which its text is
    not"); one whose header a cut misaligned reached pyogrio, so its answer is asked here."""
    folder = tmp_path / "garbled_name"
    shutil.copytree(clean, folder)
    dbf = folder / "d.dbf"
    data = bytearray(dbf.read_bytes())
    data[32] = 0x80  # the first byte of the first field's name
    dbf.write_bytes(bytes(data))
    with pytest.raises(
        DataLayerError,
        match=r"^d\.shp: a field name is not UTF-8 text \(invalid start byte at byte 0\): a "
        r"damaged file, or set source\.encoding$",
    ):
        layer_info(folder / "d.shp", encoding="UTF-8")


def test_a_prj_of_another_planet_is_a_source_error(clean, catalog, engine, settings, tmp_path):
    """A garbled .prj can still parse, as an ellipsoid no Earth CRS is on: PROJ has no
    transformation to the city's CRS, and pyproj's error ended the load as an internal one."""
    folder = tmp_path / "garbled_prj"
    shutil.copytree(clean, folder)
    prj = folder / "d.prj"
    text = prj.read_text()
    assert "6378137.0" in text
    prj.write_text(text.replace("6378137.0", "6378.0"))
    with pytest.raises(SourceError, match=r"^no transformation from .* to .*: "):
        load_layer(_definition(folder / "d.shp", "garbled_prj"), catalog.city("xiamen"),
                   engine, settings)  # fmt: skip
