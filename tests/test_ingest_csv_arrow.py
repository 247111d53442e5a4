"""Delimited text streamed by Arrow loads exactly what pandas' reader loads (``ingest.csv_arrow``):
real tables written at test time as bureaus send them (Cambridge's hydrants with x and y
columns; Xiamen's districts in GB18030 below a title, separated by semicolons), loaded once by
each path and compared column by column; files Arrow would read otherwise go to pandas."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa

from digitalcity.catalog.delimited_text import Dialect, sniff
from digitalcity.catalog.model import LayerDef
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer, table_rows
from digitalcity.ingest.csv_arrow import arrow_plan
from digitalcity.ingest.join_tables import read_table
from digitalcity.ingest.readers import SourceReader
from tests.conftest import SHARED_DATA
from tests.test_ingest_formats import layer as xiamen_layer

HYDRANTS = SHARED_DATA / "cambridge_ma/INFRA_Hydrants.geojson"


def _as_csv_layer(base: LayerDef, layer_id: str, source: dict) -> LayerDef:
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = layer_id
    data["source"] = source
    for key in ("editing", "label", "search"):  # not what these tests compare
        data.pop(key, None)
    return LayerDef.model_validate(data)


def _stored(engine, city: str, layer: LayerDef) -> pd.DataFrame:
    columns = ", ".join(f'"{f.name}"' for f in layer.fields)
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text(
                f"SELECT fid, {columns}, ST_AsEWKB(geom) AS geom "  # noqa: S608
                f"FROM {city}.{layer.id} ORDER BY fid"
            ),
            conn,
        )


def _load_both_ways(monkeypatch, catalog, engine, settings, city: str, layer: LayerDef):
    """The layer loaded by Arrow and by pandas (as ``<id>_pandas``): both reports and tables."""
    reader = SourceReader(layer.source, settings.source_data_dir)
    try:
        read = sum(len(batch) for batch in reader.batches(4000))
        assert reader.total == read, "the Arrow path was not taken"  # its scan counts rows
        total = reader.total
    finally:
        reader.close()
    by_arrow = load_layer(layer, catalog.city(city), engine, settings, force=True)
    with monkeypatch.context() as patched:
        patched.setattr(table_rows, "arrow_plan", lambda *args: None)
        other = layer.model_copy(update={"id": f"{layer.id}_pandas"})
        by_pandas = load_layer(other, catalog.city(city), engine, settings, force=True)
    assert by_arrow.rows_read == by_pandas.rows_read == total
    for name in ("rows_loaded", "rejected", "repaired", "coerced_to_null", "encoding_guessed"):
        assert getattr(by_arrow, name) == getattr(by_pandas, name), name
    return _stored(engine, city, layer), _stored(engine, city, other)


def test_real_hydrants_csv_loads_the_same_through_arrow_and_pandas(
    monkeypatch, catalog, engine, settings, tmp_path, loaded
):
    hydrants = gpd.read_file(HYDRANTS).to_crs(4326)
    frame = pd.DataFrame(hydrants.drop(columns="geometry")).convert_dtypes()  # 1, not 1.0
    frame["x"], frame["y"] = hydrants.geometry.x, hydrants.geometry.y
    frame.loc[frame.index[::7], "x"] = None  # rows without a place are reported alike
    path = tmp_path / "hydrants.csv"
    frame.to_csv(path, index=False)
    base = catalog.layer("cambridge", "hydrants")
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326", "id_field": "OBJECTID"}
    layer = _as_csv_layer(base, "hydrants_csv", source)
    arrow, pandas = _load_both_ways(monkeypatch, catalog, engine, settings, "cambridge", layer)
    assert len(arrow) == len(hydrants) - len(hydrants.index[::7]) > 1000
    pd.testing.assert_frame_equal(arrow, pandas)
    # types cast from the text alike: integers, booleans and dates are not all null
    assert arrow.drop(columns=["fid", "geom"]).notna().any().all()


@pytest.mark.parametrize(
    ("encoding", "separator", "title"),
    [("gb18030", ";", True), ("utf-8-sig", "\t", False), ("utf-8", ",", True)],
)
def test_chinese_tables_load_the_same_through_arrow_and_pandas(
    monkeypatch, districts, catalog, engine, settings, tmp_path, loaded, encoding, separator, title
):
    points = districts.geometry.representative_point()
    frame = pd.DataFrame(
        {
            "名称": districts.name,
            "人口": districts.population.map(lambda n: f"{int(n):,}".replace(",", " ")),
            "备注": ['含"引号", 与分隔符;', "", "  两端空白  ", None, "多行\n说明", "x"],
            "经度": points.x,
            "纬度": points.y,
        }
    )
    decimal = "," if separator == ";" else "."
    path = tmp_path / f"districts_{encoding}.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        if title:
            fh.write("厦门市行政区（2020年）\n")
        frame.to_csv(fh, index=False, sep=separator, decimal=decimal)
    source = {"path": str(path), "x": "经度", "y": "纬度", "crs": "EPSG:4326"}
    source |= {"encoding": encoding}
    fields = [
        {"name": "name", "source": "名称", "title": {"zh": "名称", "en": "Name"}},
        {"name": "pop", "source": "人口", "type": "integer", "title": {"zh": "人口", "en": "Pop"}},
        {"name": "note", "source": "备注", "title": {"zh": "备注", "en": "Note"}},
    ]
    layer = xiamen_layer(f"districts_{encoding.replace('-', '_')}", "Point", source, fields)
    arrow, pandas = _load_both_ways(monkeypatch, catalog, engine, settings, "xiamen", layer)
    pd.testing.assert_frame_equal(arrow, pandas)
    assert arrow["name"].tolist() == districts.name.tolist()
    assert arrow["pop"].tolist() == districts.population.astype(int).tolist()
    assert [v if isinstance(v, str) else None for v in arrow["note"]] == [
        '含"引号", 与分隔符;',
        None,
        "两端空白",
        None,
        "多行\n说明",
        "x",
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"a,b,c\n1,2,3\n4,5\n", "a short row, which pandas fills"),
        (b"a,b,c\n1,2,3\n4,5,6,7\n", "a long row"),
        (b"a,a,c\n1,2,3\n", "a repeated name, which pandas renames"),
        (b"a,,c\n1,2,3\n", "a blank name, which pandas renames"),
        (b"a,b,c\r1,2,3\r4,5,6\r", "lone carriage returns"),
        (b'a,b,c\n1,2,3\n4,5,"6\n7,8,9\n', "a file ending inside quotes"),
        (b"a\n1\n  \n2\n", "one column, whose blank lines pandas skips"),
        (b"a,b,c\n1,\xd1x,3\n", "bytes that are not UTF-8"),
        (b"a,b,c\n1,2,3\n   \n4,5,6\n", "a line of blanks, which pandas skips"),
    ],
)
def test_files_arrow_would_read_otherwise_go_to_pandas(tmp_path, text, why):
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    try:
        names = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except (pd.errors.ParserError, UnicodeDecodeError):
        names = ["a", "b", "c"]
    assert arrow_plan(path, "utf-8", sniff(path, "utf-8"), names) is None, why


def test_plain_files_are_planned_with_their_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'\xef\xbb\xbfa,b,c\r\n1,"x\r\ny",3\r\n\r\n4,,6')
    plan = arrow_plan(path, "utf-8", Dialect(), ["a", "b", "c"])
    assert plan is not None and plan.rows == 2
    tables = list(plan.batches(1))
    assert [t.to_pylist() for t in tables] == [
        [{"a": "1", "b": "x\r\ny", "c": "3"}],
        [{"a": "4", "b": None, "c": "6"}],
    ]
    assert read_table(path).values.tolist() == [["1", "x\r\ny", "3"], ["4", None, "6"]]


def test_batches_are_cut_to_the_rows_asked_for(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i},{'x' * (i % 50)}\n" for i in range(100_000)))
    plan = arrow_plan(path, "utf-8", Dialect(), ["a", "b"])
    assert plan is not None
    sizes = [t.num_rows for t in plan.batches(4000)]
    assert sizes == [4000] * 25
    assert pd.concat(t.to_pandas() for t in plan.batches(30_000))["a"].astype(int).tolist() == list(
        range(100_000)
    )


def test_a_file_changed_under_the_reader_is_a_source_error(monkeypatch, settings, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("id,x,y\n" + "".join(f"{i},118.1,24.5\n" for i in range(1, 20_001)))
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    layer = xiamen_layer("changed_points", "Point", source, [])

    def planned_then_changed(*args):  # bytes that are not UTF-8 arrive after the scan
        plan = arrow_plan(*args)
        with path.open("r+b") as fh:
            fh.seek(200_000)
            fh.write(b"\xd1\xd1")
        return plan

    monkeypatch.setattr(table_rows, "arrow_plan", planned_then_changed)
    reader = SourceReader(layer.source, settings.source_data_dir)
    try:
        with pytest.raises(SourceError, match=r"cannot read points.csv \(after \d+ rows\)"):
            for _ in reader.batches(4000):
                pass
        assert reader.total == 20_000  # as the scan counted
    finally:
        reader.close()


def test_an_unchanged_table_is_not_scanned(
    monkeypatch, districts, catalog, engine, settings, tmp_path, loaded
):
    points = districts.geometry.representative_point()
    path = tmp_path / "unchanged.csv"
    pd.DataFrame({"名称": districts.name, "x": points.x, "y": points.y}).to_csv(path, index=False)
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    layer = xiamen_layer("unchanged_points", "Point", source, [])
    scans = []

    def counted(*args):
        scans.append(args[0])
        return arrow_plan(*args)

    monkeypatch.setattr(table_rows, "arrow_plan", counted)
    city = catalog.city("xiamen")
    assert load_layer(layer, city, engine, settings).rows_loaded == len(districts)
    assert load_layer(layer, city, engine, settings).status == "unchanged"
    assert scans == [path]  # the second load read no more than the header


def test_plain_decimal_coordinates_are_read_from_arrow_text(monkeypatch, tmp_path):
    """x and y columns of plain decimals are cast from the Arrow text as it is: through
    pandas (``coordinate_numbers``) they took 0.26-0.29 s of the 246,900 SYNTHETIC places'
    1.9 s load, holding the GIL. A column in another form (degrees and minutes) still goes
    through pandas, and both give the points they gave before."""
    from digitalcity.catalog.model import SourceDef

    sent: list[str] = []
    coordinate_numbers = table_rows.coordinate_numbers

    def counted(values, **kwargs):  # noqa: ANN001, ANN003, ANN202
        sent.append(str(values.iloc[0]))
        return coordinate_numbers(values, **kwargs)

    monkeypatch.setattr(table_rows, "coordinate_numbers", counted)
    rows = ["name,x,y", "a,118.0891,24.4791", "b,,24.5", "c,-0.5,.25", "d,118,24"]
    (tmp_path / "plain.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dms.csv").write_text("\n".join([*rows, "e,118°04'12.5\"E,24.4"]) + "\n")
    read = {}
    for name in ("plain.csv", "dms.csv"):
        source = SourceDef.model_validate({"path": name, "x": "x", "y": "y"})
        reader = SourceReader(source, tmp_path)
        try:
            (batch,) = list(reader.batches(100))
            assert reader.total == len(batch)  # counted by the Arrow path's scan
        finally:
            reader.close()
        read[name] = [None if g is None else g.wkt for g in batch.geometry]
    assert sent == ["118.0891"]  # dms.csv's x alone went through pandas
    expected = ["POINT (118.0891 24.4791)", None, "POINT (-0.5 0.25)", "POINT (118 24)"]
    assert read["plain.csv"] == expected
    assert read["dms.csv"][:4] == expected
    assert read["dms.csv"][4] == f"POINT ({118 + 4 / 60 + 12.5 / 3600} 24.4)"


def test_plain_integer_ids_are_read_from_arrow_text(monkeypatch, catalog, tmp_path):
    """Feature ids of plain whole numbers read by Arrow are cast from its text, exactly
    (0.07 s of the 246,900 SYNTHETIC places' load through pandas); ids in other forms still
    go through ``to_numbers``, which reports a row without one."""
    from digitalcity.errors import LoadError
    from digitalcity.ingest import job as load_job

    sent: list[int] = []
    to_numbers = load_job.to_numbers
    monkeypatch.setattr(load_job, "to_numbers", lambda values: sent.append(1) or to_numbers(values))
    base = catalog.layer("cambridge", "hydrants")

    def ids(name: str, rows: list[str]):  # noqa: ANN202
        (tmp_path / name).write_text("\n".join(["code,x,y", *rows]) + "\n")
        source = {"path": str(tmp_path / name), "x": "x", "y": "y", "id_field": "code"}
        layer = _as_csv_layer(base, "ids", source)
        reader = SourceReader(layer.source, tmp_path)
        try:
            (batch,) = list(reader.batches(100))
            return load_job.feature_ids(layer, batch)
        finally:
            reader.close()

    plain = ids("plain.csv", ["7,-71.1,42.4", "-3,-71.1,42.4", "900719925474099,-71.1,42.4"])
    assert plain.dtype == "int64" and plain.tolist() == [7, -3, 900719925474099]
    assert sent == []
    beyond = ids("beyond.csv", ["9007199254740993,-71.1,42.4", "1,-71.1,42.4"])
    assert beyond.tolist() == [9007199254740993, 1] and sent == [1]  # 16 digits: pandas
    with pytest.raises(LoadError, match="row 2"):
        ids("gap.csv", ["7,-71.1,42.4", ",-71.1,42.4"])
