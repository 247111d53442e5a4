"""Sources as spreadsheets and desktop tools write them, beyond the plain forms: delimited text
separated by semicolons (decimal commas) or tabs (Excel's "Unicode Text": UTF-16), numbers
with full-width digits or thousands separators, Chinese dates, Excel serial days, heights and
measures (XYZM lines), and latitude and longitude typed into each other's columns. Every file
is written at test time from the real Xiamen districts."""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa

from digitalcity.catalog import load_catalog
from digitalcity.catalog.delimited_text import sniff
from digitalcity.catalog.source_encoding import undeclared_encoding
from digitalcity.catalog.validate import validate_catalog
from digitalcity.config import Settings
from digitalcity.errors import LoadError, SourceError
from digitalcity.ingest import load_layer
from digitalcity.ingest.written_forms import (
    excel_serial_days,
    rescued_dates,
    rescued_degrees,
    rescued_numbers,
)
from tests.conftest import PROJECT_LAYERS, SHARED_DATA
from tests.test_ingest_formats import NAME, POP, layer

SINCE = {"name": "since", "type": "date", "title": {"zh": "日期", "en": "Date"}}
AREA = {"name": "area", "type": "float", "title": {"zh": "面积", "en": "Area"}}


@pytest.fixture(scope="module")
def points(districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """One point per district: name, population (integers), x and y (lon/lat)."""
    inside = districts.geometry.representative_point()
    return pd.DataFrame(
        {
            "name": districts.name,
            "population": districts.population.astype(int),
            "x": inside.x,
            "y": inside.y,
        }
    )


def rows(
    engine, table: str, columns: str = "name, population, ST_NDims(geom) AS dims"
) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text(f"SELECT {columns} FROM xiamen.{table} ORDER BY fid"),  # noqa: S608
            conn,
        )


def test_numbers_and_dates_in_the_forms_people_type() -> None:
    typed = pd.Series(
        [
            "1,234",
            "１２３",
            "1,234,567.25",
            "１，２３４",
            "-2,500",
            "1 234.5",
            "1,23",
            "12 m",
            None,
        ],
        dtype=object,
    )
    assert rescued_numbers(typed).tolist()[:6] == [1234, 123, 1234567.25, 1234, -2500, 1234.5]
    assert rescued_numbers(typed)[6:].isna().all()  # not grouped by thousands; a unit
    european = pd.Series(["1.234,5", "1 234,5", "-0,5", "118,0695", "3", "1,2,3"], dtype=object)
    assert rescued_numbers(european, decimal_comma=True).tolist()[:5] == [
        1234.5,
        1234.5,
        -0.5,
        118.0695,
        3,
    ]
    assert pd.isna(rescued_numbers(european, decimal_comma=True)[5])
    dates = rescued_dates(
        pd.Series(
            ["2023年5月1日", "２０２３年５月１日", "2023年12月31号 14时30分", "May"], dtype=object
        )
    )
    assert dates[:3].tolist() == [
        pd.Timestamp("2023-05-01"),
        pd.Timestamp("2023-05-01"),
        pd.Timestamp("2023-12-31 14:30"),
    ]
    assert pd.isna(dates[3])
    degrees = rescued_degrees(
        pd.Series(
            ["118°04'12.5\"E", "118°4′12.5″", "24°26'N", "北纬24度26分8秒", "W71°6'", "24°70'N"],
            dtype=object,
        )
    )
    assert degrees[:5].tolist() == pytest.approx(
        [118 + 4 / 60 + 12.5 / 3600] * 2 + [24 + 26 / 60, 24 + 26 / 60 + 8 / 3600, -71.1]
    )
    assert pd.isna(degrees[5])  # 70 minutes
    serial = excel_serial_days(pd.Series([45047, 45047.5, 1_700_000_000_000, 12]))
    assert serial[:2].tolist() == [pd.Timestamp("2023-05-01"), pd.Timestamp("2023-05-01 12:00")]
    assert serial[2:].isna().all()  # epoch milliseconds; too small for a serial day


def test_typed_numbers_and_dates_load_as_values(points, catalog, engine, settings, tmp_path):
    frame = points[["name", "x", "y"]].assign(
        population=["1,073,315", "５８２５１９", "1036974", " 1,036,987 ", "855920.0", "578,255"],
        since=["2023年5月1日", "2023/5/1", "2023-05-01", "20230501", "45047", "２０２３年５月１日"],
    )
    path = tmp_path / "typed.csv"
    frame.to_csv(path, index=False)
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    definition = layer("typed_points", "Point", source, [NAME, POP, SINCE])
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6 and report.coerced_to_null == {}, report.summary()
    stored = rows(engine, "typed_points", "population, since")
    assert stored.population.tolist() == points.population.tolist()
    assert set(stored.since.astype(str)) == {"2023-05-01"}


@pytest.mark.parametrize(
    ("name", "separator", "encoding", "decimal"),
    [
        ("semicolons.csv", ";", "utf-8", ","),  # European Excel: decimal commas
        ("unicode_text.txt", "\t", "utf-16", "."),  # Excel's "Unicode Text"
        ("tabs.tsv", "\t", "utf-8", "."),
        ("bars.csv", "|", "utf-8", "."),
    ],
)
def test_delimited_text_in_other_dialects(
    points, catalog, engine, settings, tmp_path, name, separator, encoding, decimal
):
    path = tmp_path / name
    frame = points.assign(area=points.population / 1000)
    path.write_bytes(frame.to_csv(index=False, sep=separator, decimal=decimal).encode(encoding))
    assert sniff(path, undeclared_encoding(path, in_china=True)).separator == separator
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    table = f"dialect_{path.stem}"
    report = load_layer(
        layer(table, "Point", source, [NAME, POP, AREA]), catalog.city("xiamen"), engine, settings
    )
    assert report.rows_loaded == 6 and report.coerced_to_null == {}, report.summary()
    stored = rows(engine, table, "name, population, area, ST_X(geom) AS x, ST_Y(geom) AS y")
    assert stored.name.tolist() == points.name.tolist()  # Chinese text intact
    assert stored.population.tolist() == points.population.tolist()
    assert stored.area.tolist() == pytest.approx((points.population / 1000).tolist())
    assert stored.x.tolist() == pytest.approx(points.x.tolist(), abs=1e-9)
    assert stored.y.tolist() == pytest.approx(points.y.tolist(), abs=1e-9)


def test_check_layers_reads_tab_separated_text(points, tmp_path):
    root = tmp_path / "layers"
    shutil.copytree(PROJECT_LAYERS, root)
    path = tmp_path / "schools.txt"
    path.write_bytes(points.to_csv(index=False, sep="\t").encode("utf-16"))
    (root / "xiamen" / "schools.toml").write_text(
        'id = "schools"\ntitle = { zh = "学校", en = "Schools" }\nkind = "infrastructure"\n'
        'geometry_type = "Point"\naccess = "public"\n\n'
        f'[source]\npath = "{path}"\nx = "x"\ny = "y"\ncrs = "EPSG:4326"\n\n'
        '[[fields]]\nname = "name"\ntitle = { zh = "名称", en = "Name" }\n\n'
        '[[fields]]\nname = "pupils"\nsource = "pupil_count"\ntype = "integer"\n'
        'title = { zh = "学生数", en = "Pupils" }\n'
    )
    settings = Settings(source_data_dir=SHARED_DATA, layers_dir=root, progress=False)
    problems = [p for p in validate_catalog(load_catalog(root), settings) if "schools" in p]
    assert problems == [
        f"xiamen.schools: field 'pupils': source column 'pupil_count' not in {path}"
    ], problems


def test_heights_and_measures_are_dropped(districts, catalog, engine, settings, tmp_path):
    """A PolylineZM shapefile (survey and CAD exports) failed the whole load: reprojected,
    shapely kept it XYZM (with NaN), which the 2D column refused."""
    lines = districts.assign(geometry=districts.geometry.boundary)
    plain = tmp_path / "lines.gpkg"
    lines.to_file(plain, layer="lines", driver="GPKG")
    for dims, name in (("XYZM", "lines_zm.shp"), ("XYM", "lines_m.gpkg"), ("XYZ", "lines_z.shp")):
        path = tmp_path / name
        utf8 = ["-lco", "ENCODING=UTF-8"] if path.suffix == ".shp" else []
        subprocess.run(["ogr2ogr", "-dim", dims, *utf8, str(path), str(plain)], check=True)
        table = f"lines_{dims.lower()}"
        definition = layer(table, "MultiLineString", {"path": str(path)}, [NAME, POP])
        report = load_layer(definition, catalog.city("xiamen"), engine, settings)
        assert report.rows_loaded == 6 and report.flattened == 6, report.summary()
        assert "heights (Z) or measures (M) dropped from 6" in report.summary()
        stored = rows(engine, table)
        assert set(stored.dims) == {2}
        assert stored.name.tolist() == lines.name.tolist()
    with engine.connect() as conn:
        same = conn.execute(
            sa.text(
                "SELECT bool_and(ST_Equals(a.geom, b.geom)) FROM xiamen.lines_xyzm a "
                "JOIN xiamen.lines_xym b USING (fid)"
            )
        ).scalar()
    assert same


def test_swapped_coordinates_are_named(points, catalog, engine, settings, tmp_path):
    path = tmp_path / "swapped.csv"
    points.rename(columns={"x": "y", "y": "x"}).to_csv(path, index=False)
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    with pytest.raises(LoadError, match="x and y look swapped: exchanged, it lies in xiamen"):
        load_layer(
            layer("swapped", "Point", source, [NAME, POP]), catalog.city("xiamen"), engine, settings
        )


def _dms(value: float, positive: str, negative: str) -> str:
    """``value`` degrees as a surveyor writes them: 118°04′12.50″E."""
    hemisphere = positive if value >= 0 else negative
    seconds = round(abs(value) * 3600, 2)
    degrees, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(degrees)}°{int(minutes):02d}′{seconds:05.2f}″{hemisphere}"


def test_a_title_above_the_header_and_coordinates_in_degrees_minutes_seconds(
    points, catalog, engine, settings, tmp_path
):
    """Bureau tables open with a title row; survey tables give degrees, minutes, seconds."""
    table = pd.DataFrame(
        {
            "名称": points.name,
            "经度": [_dms(x, "E", "W") for x in points.x],
            "纬度": [_dms(y, "N", "S") for y in points.y],
            "人口": points.population,
        }
    )
    text = "厦门市各区人口（2020年）,,,\n" + table.to_csv(index=False)
    titled_csv = tmp_path / "titled.csv"
    titled_csv.write_text(text, encoding="utf-8")
    titled_book = tmp_path / "titled.xlsx"
    plain = tmp_path / "for_xlsx.csv"
    plain.write_text(text.replace(",,,", ",Field2,Field3,Field4", 1), encoding="utf-8")
    subprocess.run(["ogr2ogr", "-f", "XLSX", str(titled_book), str(plain)], check=True)
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    for path in (titled_csv, titled_book):
        source = {"path": str(path), "x": "经度", "y": "纬度", "crs": "EPSG:4326"}
        table_id = f"titled_{path.suffix[1:]}"
        report = load_layer(
            layer(table_id, "Point", source, fields), catalog.city("xiamen"), engine, settings
        )
        assert report.rows_loaded == 6 and report.coerced_to_null == {}, report.summary()
        stored = rows(engine, table_id, "name, population, ST_X(geom) AS x, ST_Y(geom) AS y")
        assert stored.population.tolist() == points.population.tolist()
        # to the 1/100 second written: 0.3 m
        assert stored.x.tolist() == pytest.approx(points.x.tolist(), abs=0.01 / 3600)
        assert stored.y.tolist() == pytest.approx(points.y.tolist(), abs=0.01 / 3600)
    untitled = tmp_path / "untitled.csv"
    untitled.write_text("title only\n" * 25 + table.to_csv(index=False), encoding="utf-8")
    source = {"path": str(untitled), "x": "经度", "y": "纬度", "crs": "EPSG:4326"}
    with pytest.raises(SourceError, match="not in the header .nor in any of the first 20 rows"):
        load_layer(
            layer("untitled", "Point", source, fields), catalog.city("xiamen"), engine, settings
        )


def test_a_column_of_coordinate_pairs(points, catalog, engine, settings, tmp_path):
    """POI exports give a place as one "x,y" column (Amap's "location"), some services as
    "latitude,longitude" (``xy_order = "yx"``)."""
    pairs = [f"{x:.7f},{y:.7f}" for x, y in zip(points.x, points.y, strict=True)]
    flipped = [f"{y:.7f}, {x:.7f}" for x, y in zip(points.x, points.y, strict=True)]
    path = tmp_path / "poi.csv"
    points[["name", "population"]].assign(location=pairs, latlng=flipped).to_csv(path, index=False)
    xiamen = catalog.city("xiamen")
    for table, spec in (
        ("poi_xy", {"xy": "location"}),
        ("poi_yx", {"xy": "latlng", "xy_order": "yx"}),
    ):
        source = {"path": str(path), "crs": "EPSG:4326", **spec}
        report = load_layer(layer(table, "Point", source, [NAME, POP]), xiamen, engine, settings)
        assert report.rows_loaded == 6, report.summary()
        stored = rows(engine, table, "ST_X(geom) AS x, ST_Y(geom) AS y")
        assert stored.x.tolist() == pytest.approx(points.x.tolist(), abs=1e-7)
        assert stored.y.tolist() == pytest.approx(points.y.tolist(), abs=1e-7)
    with pytest.raises(ValueError, match="locate rows one way: wkt, xy, or both x and y"):
        layer("both", "Point", {"path": str(path), "xy": "location", "x": "a", "y": "b"}, [NAME])
    with pytest.raises(ValueError, match="needs wkt, xy, or both x and y columns"):
        layer("half", "Point", {"path": str(path), "x": "a"}, [NAME])


def test_metres_loaded_as_degrees_are_named(points, catalog, engine, settings, tmp_path):
    """A projected table declared as longitude/latitude: every row out of range, each saying
    its coordinates look like metres and, for eastings carrying their zone, which CRS."""
    gk = gpd.GeoSeries(gpd.points_from_xy(points.x, points.y), crs=4326).to_crs(4527)
    path = tmp_path / "metres.csv"
    points.assign(x=gk.x, y=gk.y).to_csv(path, index=False)
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    with pytest.raises(LoadError, match='look like metres, not degrees; eastings of Gauss–Krüger '
                       'zone 39: source.crs = "EPSG:4527"'):  # fmt: skip
        load_layer(layer("metres", "Point", source, [NAME, POP]), catalog.city("xiamen"), engine,
                   settings)  # fmt: skip


def test_points_group_thousands_where_the_comma_is_decimal(
    points, catalog, engine, settings, tmp_path
):
    """In a semicolon-separated file the comma is the decimal mark, so "582.519" is 582,519
    people (it loaded as 582.519, rounded to 583)."""
    table = points.assign(
        population=[f"{p:,}".replace(",", ".") for p in points.population],
        area=[f"{p / 1000:.3f}".replace(".", ",") for p in points.population],
        x=[f"{x:.6f}".replace(".", ",") for x in points.x],
        y=[f"{y:.6f}".replace(".", ",") for y in points.y],
    )
    path = tmp_path / "european.csv"
    table.to_csv(path, index=False, sep=";")
    assert "582.519" in path.read_text()
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    report = load_layer(layer("european", "Point", source, [NAME, POP, AREA]),
                        catalog.city("xiamen"), engine, settings)  # fmt: skip
    assert report.rows_loaded == 6 and report.coerced_to_null == {}, report.summary()
    stored = rows(engine, "european", "population, area")
    assert stored.population.tolist() == points.population.tolist()
    assert stored.area.tolist() == pytest.approx((points.population / 1000).round(3).tolist())
