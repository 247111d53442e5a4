"""Sources delivered as .zip archives, as bureaus send them: a GBK shapefile whose member names
a Windows archiver wrote in GBK, several data files (``source.member``), a File Geodatabase
folder, hostile archives (paths leading out, unpacking to far more than their size). Every
file is written at test time from the real Xiamen districts."""

from __future__ import annotations

import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa

from digitalcity.catalog import archives
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer
from tests.test_ingest_formats import NAME, POP, layer


def _zip(archive: Path, files: dict[str, Path]) -> None:
    """``files`` (member name -> file) in ``archive``; a member name outside ASCII is written
    as a Chinese Windows archiver writes it: GBK bytes, without the UTF-8 flag."""
    placeholders: dict[bytes, bytes] = {}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as book:
        for name, path in files.items():
            raw = name.encode("gbk")
            stored = name
            if not raw.isascii():
                stored = f"Q{len(placeholders)}".ljust(len(raw), "Q")  # as long as the GBK
                placeholders[stored.encode()] = raw
            book.write(path, stored)
    data = archive.read_bytes()
    for placeholder, raw in placeholders.items():
        data = data.replace(placeholder, raw)
    archive.write_bytes(data)


def _shapefile(districts: gpd.GeoDataFrame, folder: Path, stem: str) -> dict[str, Path]:
    """``districts`` as a GBK shapefile without .cpg (its sidecars by suffix)."""
    folder.mkdir(parents=True, exist_ok=True)
    districts.to_file(folder / "d.shp", encoding="GBK")
    (folder / "d.cpg").unlink()
    return {f"{stem}{p.suffix}": p for p in folder.glob("d.*")}


def stored_names(engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(sa.text(f"SELECT name FROM xiamen.{table} ORDER BY fid")).scalars()  # noqa: S608
        )


def test_a_zipped_gbk_shapefile_with_gbk_member_names(
    districts, catalog, engine, settings, tmp_path
):
    archive = tmp_path / "区县.zip"
    _zip(archive, _shapefile(districts, tmp_path / "parts", "厦门区县"))
    with zipfile.ZipFile(archive) as book:
        assert all(not i.flag_bits & 0x800 for i in book.infolist())  # as Windows writes them
    definition = layer("zipped", "MultiPolygon", {"path": str(archive)}, [NAME, POP])
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.encoding_guessed == "GB18030"
    assert report.source.endswith("区县.zip (厦门区县.shp)")
    assert stored_names(engine, "zipped") == districts.name.tolist()
    again = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert again.status == "unchanged"  # the archive is fingerprinted as one file
    # the unchanged load did not wait for the archive to be opened beside its fingerprint;
    # the folder it was unpacked into goes once the opening is done
    deadline = time.monotonic() + 30
    while list(Path(archives.tempfile.gettempdir()).glob("digitalcity-unpacked-*")):
        assert time.monotonic() < deadline, "an unpacked archive was left behind"
        time.sleep(0.05)


def test_several_data_files_need_a_member(districts, catalog, engine, settings, tmp_path):
    points = districts.assign(geometry=districts.geometry.representative_point())
    points.to_file(tmp_path / "centres.gpkg", driver="GPKG")
    gdb = tmp_path / "zones.gdb"
    subprocess.run(
        ["ogr2ogr", "-f", "OpenFileGDB", str(gdb), str(tmp_path / "centres.gpkg")], check=True
    )
    files = _shapefile(districts, tmp_path / "parts", "data/districts")
    files["data/centres.gpkg"] = tmp_path / "centres.gpkg"
    files.update({f"zones.gdb/{p.name}": p for p in gdb.iterdir()})
    files["__MACOSX/data/._centres.gpkg"] = tmp_path / "centres.gpkg"
    archive = tmp_path / "city.zip"
    _zip(archive, files)
    xiamen = catalog.city("xiamen")
    unnamed = layer("zip_unnamed", "MultiPolygon", {"path": str(archive)}, [NAME, POP])
    with pytest.raises(SourceError, match=r"holds 3 data files \(data/districts.shp, data/"):
        load_layer(unnamed, xiamen, engine, settings)
    for member, kind, table in (
        ("data/districts.shp", "MultiPolygon", "zip_districts"),
        ("data/centres.gpkg", "Point", "zip_centres"),
        ("zones.gdb", "Point", "zip_zones"),
    ):
        source = {"path": str(archive), "member": member}
        report = load_layer(layer(table, kind, source, [NAME, POP]), xiamen, engine, settings)
        assert report.rows_loaded == 6, report.summary()
        assert stored_names(engine, table) == districts.name.tolist()


def test_hostile_archives_are_refused(districts, catalog, engine, settings, tmp_path, monkeypatch):
    leading_out = tmp_path / "out.zip"
    with zipfile.ZipFile(leading_out, "w") as book:
        book.writestr("../../evil.geojson", districts.to_json())
    xiamen = catalog.city("xiamen")
    definition = layer("zip_out", "MultiPolygon", {"path": str(leading_out)}, [NAME, POP])
    with pytest.raises(SourceError, match="leads out of the archive"):
        load_layer(definition, xiamen, engine, settings)
    assert not (tmp_path.parent / "evil.geojson").exists()
    bomb = tmp_path / "zeros.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("zeros.csv", b"0" * 4_000_000)
    monkeypatch.setattr(archives, "_SMALL_BYTES", 1_000_000)
    spec = {"path": str(bomb), "x": "a", "y": "b", "crs": "EPSG:4326"}
    with pytest.raises(SourceError, match="more than 200 times its size: refused"):
        load_layer(layer("zip_bomb", "Point", spec, [NAME]), xiamen, engine, settings)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    definition = layer("zip_broken", "MultiPolygon", {"path": str(broken)}, [NAME, POP])
    with pytest.raises(SourceError, match="cannot unpack broken.zip"):
        load_layer(definition, xiamen, engine, settings)


def _central_entry(data: bytes) -> int:
    """Where the archive's (one) central directory entry starts."""
    return data.index(b"PK\x01\x02")


def _garbled(data: bytes, damage: str) -> bytes:
    b = bytearray(data)
    entry = _central_entry(data)
    if damage == "a newer zip version":  # version needed to extract: 6.6
        b[entry + 6 : entry + 8] = (66).to_bytes(2, "little")
    elif damage == "an encrypted member":  # general purpose flag bit 0, here and locally
        b[entry + 8] |= 1
        b[6] |= 1
    elif damage == "Deflate64":  # compression method 9, here and locally
        b[entry + 10 : entry + 12] = (9).to_bytes(2, "little")
        b[8:10] = (9).to_bytes(2, "little")
    else:  # the member's compressed data garbled
        name_length, extra_length = (
            int.from_bytes(b[26:28], "little"),
            int.from_bytes(b[28:30], "little"),
        )
        start = 30 + name_length + extra_length
        b[start : start + 64] = bytes(range(64))
    return bytes(b)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("a newer zip version", "zip file version 6.6"),
        ("an encrypted member", "encrypted"),
        ("Deflate64", "compression method is not supported"),
        ("garbled data", "Error -3 while decompressing"),
    ],
)
def test_archives_zipfile_cannot_read(districts, catalog, engine, settings, tmp_path, damage, says):
    """zipfile raises NotImplementedError, RuntimeError and zlib.error for these, not
    BadZipFile: each ended the load as an internal error."""
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("d.geojson", districts.to_json())
    archive.write_bytes(_garbled(archive.read_bytes(), damage))
    definition = layer("zip_unreadable", "MultiPolygon", {"path": str(archive)}, [NAME, POP])
    with pytest.raises(SourceError, match=f"^cannot unpack d.zip: .*{says}"):
        load_layer(definition, catalog.city("xiamen"), engine, settings)


def test_check_layers_and_init_city_read_archives(districts, tmp_path, init_city):
    folder = tmp_path / "delivered"
    folder.mkdir()
    points = districts.assign(geometry=districts.geometry.representative_point())
    points.to_file(tmp_path / "centres.gpkg", driver="GPKG")
    files = _shapefile(districts, tmp_path / "parts", "区县")
    files["点位.gpkg"] = tmp_path / "centres.gpkg"
    _zip(folder / "xiamen.zip", files)
    drafted = init_city("xiamen6", folder)
    assert {d["source"]["member"] for d in drafted.values()} == {"区县.shp", "点位.gpkg"}
    assert {d["source"]["path"] for d in drafted.values()} == {"xiamen.zip"}
    assert init_city.problems() == []
    # without its member, an archive of several data files is a problem check-layers names
    toml = next(p for p in (init_city.root / "xiamen6").glob("*.toml") if p.name != "city.toml")
    text = toml.read_text(encoding="utf-8")
    toml.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("member")))
    problems = init_city.problems()
    assert len(problems) == 1 and "holds 2 data files" in problems[0], problems


def test_a_shapefile_sent_without_its_index(
    districts, catalog, engine, settings, tmp_path, init_city
):
    """Only .shp, .dbf (and .prj) sent: GDAL refused it ("Unable to open d.shx"). The index is
    rebuilt in a temporary folder, never in the source folder; loose or in an archive; and
    init-city and check-layers read it the same way."""
    parts = _shapefile(districts, tmp_path / "parts", "区县")
    folder = tmp_path / "sent"
    folder.mkdir()
    for name, path in parts.items():
        if not name.endswith(".shx"):
            shutil.copy(path, folder / name)
    shapefile = folder / "区县.shp"
    xiamen = catalog.city("xiamen")
    report = load_layer(layer("no_shx", "MultiPolygon", {"path": str(shapefile)}, [NAME, POP]),
                        xiamen, engine, settings)  # fmt: skip
    assert report.rows_loaded == 6 and report.encoding_guessed == "GB18030"
    assert stored_names(engine, "no_shx") == districts.name.tolist()
    assert sorted(p.suffix for p in folder.iterdir()) == [".dbf", ".prj", ".shp"]
    assert not list(Path(archives.tempfile.gettempdir()).glob("digitalcity-shp-*"))
    archive = tmp_path / "sent.zip"
    _zip(archive, {p.name: p for p in folder.iterdir()})
    report = load_layer(layer("no_shx_zip", "MultiPolygon", {"path": str(archive)}, [NAME, POP]),
                        xiamen, engine, settings)  # fmt: skip
    assert report.rows_loaded == 6
    drafts = init_city("xiamen9", folder)
    assert len(drafts) == 1, drafts
    (drafted,) = drafts.values()
    assert drafted["source"]["path"] == "区县.shp"
    assert [f["source"] for f in drafted["fields"]] == ["name", "population"]
    assert init_city.problems() == []
    assert sorted(p.suffix for p in folder.iterdir()) == [".dbf", ".prj", ".shp"]


def test_field_names_cut_inside_a_character(
    districts, catalog, engine, settings, tmp_path, init_city
):
    """GDAL and QGIS cut a UTF-8 field name at the .dbf's 10 bytes, mid-character: "宗地代码"
    (12 bytes) became "宗地代" and one byte, and the file could not be read at all. Repaired in a
    copy: "宗地代", and "宗地_2" (10 bytes) for a second name cut to the same; the source
    untouched."""
    folder = tmp_path / "cut"
    folder.mkdir()
    frame = districts.rename(columns={"name": "宗地代码", "population": "宗地代号"})
    frame.to_file(tmp_path / "parcels.gpkg", driver="GPKG")
    subprocess.run(  # GDAL cuts the names
        [
            "ogr2ogr",
            "-lco",
            "ENCODING=UTF-8",
            str(folder / "parcels.shp"),
            str(tmp_path / "parcels.gpkg"),
        ],
        check=True,
        capture_output=True,
    )
    dbf = (folder / "parcels.dbf").read_bytes()
    assert "宗地代码".encode()[:10] in dbf and "宗地代号".encode()[:10] in dbf
    fields = [{**NAME, "source": "宗地代"}, {**POP, "source": "宗地_2"}]
    definition = layer("cut_names", "MultiPolygon", {"path": str(folder / "parcels.shp")}, fields)
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6
    assert stored_names(engine, "cut_names") == districts.name.tolist()
    assert (folder / "parcels.dbf").read_bytes() == dbf
    drafted = init_city("xiamen12", folder)["parcels"]
    assert [f["source"] for f in drafted["fields"]] == ["宗地代", "宗地_2"]
    assert init_city.problems() == []
