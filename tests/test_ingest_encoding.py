"""Shapefiles whose text encoding nothing declares (no .cpg, no language driver byte), as many
Chinese shapefiles come, and CSV files saved by Excel on a Chinese Windows: their GBK text is
read as GBK, not garbled as ISO-8859-1 or refused as bad UTF-8. Written at test time from
Xiamen's real district names."""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa

from digitalcity.catalog.source_encoding import _decodes, undeclared_encoding
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer
from tests.conftest import SHARED_DATA
from tests.test_ingest_formats import NAME, POP, layer

XIAMEN_DISTRICTS = SHARED_DATA / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    frame = gpd.read_file(XIAMEN_DISTRICTS)[["district", "POPU", "geometry"]]
    return frame.rename(columns={"district": "名称", "POPU": "人口"}).set_crs(
        4326, allow_override=True
    )


def _shapefile(districts: gpd.GeoDataFrame, folder: Path, encoding: str) -> Path:
    """``districts`` as a shapefile in ``encoding`` with its .cpg removed; the .dbf's
    language driver byte left as GDAL writes it (0: none)."""
    folder.mkdir(exist_ok=True)
    path = folder / "districts.shp"
    districts.to_file(path, encoding=encoding)
    path.with_suffix(".cpg").unlink()
    assert path.with_suffix(".dbf").read_bytes()[29] == 0
    return path


def test_the_text_tells_its_encoding(districts, tmp_path: Path) -> None:
    gbk = _shapefile(districts, tmp_path / "gbk", "GBK")
    assert undeclared_encoding(gbk, in_china=True) == "GB18030"
    assert undeclared_encoding(gbk, in_china=False) is None  # GDAL's ISO-8859-1, as before
    utf8 = _shapefile(districts, tmp_path / "utf8", "UTF-8")
    assert undeclared_encoding(utf8, in_china=True) == "UTF-8"
    assert undeclared_encoding(utf8, in_china=False) == "UTF-8"
    ascii_only = _shapefile(districts.assign(名称="Siming"), tmp_path / "ascii", "GBK")
    assert undeclared_encoding(ascii_only, in_china=True) is None
    declared = _shapefile(districts, tmp_path / "declared", "GBK")
    declared.with_suffix(".cpg").write_text("GBK")
    assert undeclared_encoding(declared, in_china=True) is None  # GDAL reads the .cpg
    ldid = _shapefile(districts, tmp_path / "ldid", "GBK")
    dbf = bytearray(ldid.with_suffix(".dbf").read_bytes())
    dbf[29] = 0x4D  # the language driver of code page 936
    ldid.with_suffix(".dbf").write_bytes(bytes(dbf))
    assert undeclared_encoding(ldid, in_china=True) is None  # GDAL reads the byte


def test_a_value_cut_inside_its_last_character_still_tells() -> None:
    """A text field's width can cut its last character short: that value still counts as
    GB18030 (or UTF-8), while a broken character inside it does not."""
    name = "思明区".encode("gbk")
    assert _decodes(name[:-1], "gb18030") and _decodes("思明区".encode()[:-1], "utf-8")
    assert not _decodes(name[:1] + b" " + name[2:], "gb18030")
    assert not _decodes(name, "utf-8")


def test_a_gbk_shapefile_without_cpg_loads_its_chinese_names(
    districts, catalog, engine, settings, tmp_path: Path, loaded
) -> None:
    path = _shapefile(districts, tmp_path / "load", "GBK")
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    definition = layer("gbk_no_cpg", "MultiPolygon", {"path": str(path)}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.encoding_guessed == "GB18030"
    assert "text read as GB18030" in report.summary()
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.gbk_no_cpg")).scalars().all()
    assert set(names) == set(districts["名称"]) and "思明区" in names


def test_short_gbk_text_that_happens_to_be_valid_utf8(tmp_path: Path) -> None:
    """ "学校" in GBK is also valid UTF-8 ("ѧУ"): in China the Chinese reading wins."""
    path = tmp_path / "schools.csv"
    path.write_bytes("name,lon,lat\n学校,118.1,24.5\n".encode("gbk"))
    assert "学校".encode("gbk").decode("utf-8") == "ѧУ"
    assert undeclared_encoding(path, in_china=True) == "GB18030"
    assert undeclared_encoding(path, in_china=False) == "UTF-8"
    utf8 = tmp_path / "schools_utf8.csv"
    utf8.write_bytes("\ufeffname,lon,lat\n学校,118.1,24.5\n".encode())  # as Excel saves it
    assert undeclared_encoding(utf8, in_china=True) == "UTF-8"


def test_a_gbk_csv_loads_its_chinese_names(
    districts, catalog, engine, settings, tmp_path: Path, loaded
) -> None:
    """A CSV saved by Excel on a Chinese Windows (GBK, nothing declared) loads as GBK."""
    points = districts.geometry.representative_point()
    path = tmp_path / "centres.csv"
    frame = districts.drop(columns="geometry").assign(lon=points.x, lat=points.y)
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    spec = {"path": str(path), "x": "lon", "y": "lat", "crs": "EPSG:4326"}
    definition = layer("gbk_csv", "Point", spec, [{**NAME, "source": "名称"}])
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.encoding_guessed == "GB18030"
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.gbk_csv")).scalars().all()
    assert set(names) == set(districts["名称"])


def test_utf8_symbols_alone_stay_utf8(tmp_path: Path) -> None:
    """Text whose only characters above ASCII are symbols such as "²" and "°" is valid GB18030
    too, but stays UTF-8: GBK read as UTF-8 gives letters of U+0100-U+07FF, not those."""
    path = tmp_path / "wells.csv"
    path.write_bytes("name,area,slope,lon,lat\nW1,12 m²,±5°,118.1,24.5\n".encode())
    "12 m²±5°".encode().decode("gb18030")  # valid GB18030 as well
    assert undeclared_encoding(path, in_china=True) == "UTF-8"


def test_a_gbk_join_table_is_read_as_gbk(
    districts, catalog, engine, settings, tmp_path: Path, loaded
) -> None:
    """A join table saved by Excel (GBK, nothing declared), keyed by Chinese names, matches the
    UTF-8 names of the layer it joins."""
    source = tmp_path / "districts.gpkg"
    districts[["名称", "geometry"]].to_file(source, driver="GPKG")
    table = tmp_path / "census.csv"
    table.write_bytes(districts.drop(columns="geometry").to_csv(index=False).encode("gbk"))
    join = {"name": "census", "path": str(table), "left_key": "名称", "right_key": "名称"}
    fields = [
        {**NAME, "source": "名称"},
        {**POP, "source": "census.人口"},
    ]
    definition = layer("gbk_join", "MultiPolygon", {"path": str(source), "joins": [join]}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.joins["census"]["matched"] == 6
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT sum(population) FROM xiamen.gbk_join")).scalar()
    assert total == 5163970


def test_a_cpg_declaring_utf8_that_the_text_is_not(
    districts, catalog, engine, settings, tmp_path: Path
) -> None:
    """A GBK table whose .cpg says UTF-8 (a tool rewrote it): GDAL failed on the first GBK
    byte and the load ended in an internal error. In China it is read as GB18030 and the
    report says which declaration was overruled; elsewhere it is a SourceError."""
    path = _shapefile(districts, tmp_path / "lying", "GBK")
    path.with_suffix(".cpg").write_text("UTF-8")
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    definition = layer("gbk_lying_cpg", "MultiPolygon", {"path": str(path)}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.encoding_guessed == "GB18030"
    assert "text read as GB18030 (its .cpg declares UTF-8, which the text is not)" in (
        report.summary()
    )
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.gbk_lying_cpg")).scalars().all()
    assert names == districts["名称"].tolist()
    with pytest.raises(SourceError, match="its .cpg declares UTF-8, which its text is not"):
        undeclared_encoding(path, in_china=False)
    truthful = _shapefile(districts, tmp_path / "truthful", "UTF-8")
    truthful.with_suffix(".cpg").write_text("UTF-8")
    assert undeclared_encoding(truthful, in_china=True) is None  # GDAL reads it as declared


def test_a_prj_naming_its_crs_in_gbk(districts, catalog, engine, settings, tmp_path) -> None:
    """A .prj naming its CRS in GBK (Chinese tools write "西安80"-style names): GDAL reads it,
    but pyogrio failed to decode the CRS GDAL hands back (an UnboundLocalError of its own),
    so nothing could be read. The shapefile is read through a copy of its .prj in UTF-8."""
    path = _shapefile(districts, tmp_path / "gbk_prj", "GBK")
    prj = path.with_suffix(".prj")
    text = prj.read_text()
    assert '"GCS_WGS_1984"' in text
    prj.write_bytes(text.replace('"GCS_WGS_1984"', '"GCS_WGS_1984_厦门"').encode("gbk"))
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    definition = layer("gbk_prj", "MultiPolygon", {"path": str(path)}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6
    assert prj.read_bytes() == text.replace('"GCS_WGS_1984"', '"GCS_WGS_1984_厦门"').encode("gbk")
    with engine.connect() as conn:
        area = conn.execute(sa.text("SELECT sum(ST_Area(geom)) FROM xiamen.gbk_prj")).scalar()
    assert area == pytest.approx(shapely.area(districts.geometry.to_numpy()).sum(), rel=1e-9)


@pytest.mark.parametrize("cpg", [True, False])
def test_utf8_text_with_one_value_damaged(
    districts, catalog, engine, settings, tmp_path: Path, cpg: bool
) -> None:
    """One garbled byte in one name of a UTF-8 table. With a .cpg saying UTF-8 the load was
    refused ("its .cpg declares UTF-8, which its text is not: set source.encoding"); without
    one, no encoding fitted every value, so GDAL read the whole table as ISO-8859-1 and every
    Chinese name came out garbled. Now 5 of 6 names decoding is UTF-8 with a value damaged:
    that value is set to null and counted, the others are kept."""
    path = _shapefile(districts, tmp_path / "damaged", "UTF-8")
    if cpg:
        path.with_suffix(".cpg").write_text("UTF-8")
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    header_length, record_length = struct.unpack("<HH", data[8:12])
    data[header_length + record_length + 1] = 0xFF  # the second name's first byte
    dbf.write_bytes(bytes(data))
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    table = f"utf8_damaged_{int(cpg)}"
    definition = layer(table, "MultiPolygon", {"path": str(path)}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.coerced_to_null == {"name": 1}
    with engine.connect() as conn:
        names = conn.execute(sa.text(f"SELECT name FROM xiamen.{table} ORDER BY fid")).scalars()  # noqa: S608
        kept = names.all()
    expected = districts["名称"].tolist()
    assert kept[1] is None and kept[:1] + kept[2:] == expected[:1] + expected[2:]
