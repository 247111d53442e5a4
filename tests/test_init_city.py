"""init-city drafts definitions from real folders that pass check-layers after hand edits."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import pandas as pd
import pyogrio
import pyproj
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from digitalcity.api import create_app
from digitalcity.catalog import load_catalog
from digitalcity.catalog.codes import load_code_table
from digitalcity.catalog.draft import LayerDraft
from digitalcity.catalog.draft.drafts import field_name
from digitalcity.catalog.draft.glossary import english
from digitalcity.catalog.draft.layer_toml import layer_toml
from digitalcity.catalog.draft.naming import layer_kind, naming, unit_of
from digitalcity.catalog.draft.semantics import semantics_of
from digitalcity.catalog.validate import validate_catalog
from digitalcity.cli import app
from digitalcity.config import Settings
from digitalcity.crs import wgs84_to_gcj02
from digitalcity.crs.zones import gk3_epsg
from digitalcity.db.keys import create_key
from digitalcity.ingest import load_layer
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.service import TileService
from digitalcity.tiles.tms import TileIndex
from tests.conftest import CityDrafter

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def layers(init_city: CityDrafter) -> Path:
    """A fresh layers folder that ``init`` drafts into (``tests.conftest.init_city``)."""
    return init_city.root


def init(city: str, folder: Path) -> None:
    result = CliRunner().invoke(app, ["init-city", city, str(folder)])
    assert result.exit_code == 0, result.output


def drafts(root: Path, city: str) -> dict[str, dict]:
    """The layer drafts of ``city`` by id."""
    return {
        p.stem: tomllib.loads(p.read_text(encoding="utf-8"))
        for p in (root / city).glob("*.toml")
        if p.name != "city.toml"
    }


def problems(root: Path) -> list[str]:
    settings = Settings(source_data_dir=SHARED, layers_dir=root, progress=False)
    return validate_catalog(load_catalog(root), settings)


def test_wuhan_boundary_and_population_grid_are_drafted(layers: Path, engine, settings) -> None:
    """Wuhan's boundary shapefile and WorldPop grid (a GeoTIFF): the grid drafted as the
    loader reads it, one square per cell with people, its value the residents (a count: the
    file's name says pop), coloured by quintiles without outlines; loaded from the draft, it
    holds the grid's 9,491,334 residents."""
    init("wuhan2", SHARED / "wuhan_population")
    city_text = (layers / "wuhan2" / "city.toml").read_text(encoding="utf-8")
    assert "skipped derived_pop" not in city_text
    grid = drafts(layers, "wuhan2")["derived_pop_age20plus_sum_wuhan"]
    assert (grid["kind"], grid["source"]["band"], grid["theme"]) == ("population", 1, "population")
    assert grid["fields"] == [
        {
            "name": "population",
            "type": "float",
            "source": "value",
            "title": {"zh": "人口", "en": "Population"},
            "unit": "persons",
        }
    ]
    assert grid["semantics"] == {"population": "population"}
    assert (
        grid["style"]["outline_width"] == 0 and grid["style"]["graduated"]["field"] == "population"
    )
    assert "simplify" not in grid  # square cells
    assert "# min_zoom = 11" in (
        layers / "wuhan2" / "derived_pop_age20plus_sum_wuhan.toml"
    ).read_text(encoding="utf-8")  # 102,919 cells in the densest z10 tile
    city = tomllib.loads(city_text)
    local = pyproj.CRS.from_user_input(city["local_crs"])
    assert local.is_projected and "Gauss" in local.name and "CGCS2000" in local.name
    layer = tomllib.loads((layers / "wuhan2" / "wuhan_boundary.toml").read_text(encoding="utf-8"))
    info = pyogrio.read_info(SHARED / "wuhan_population" / "wuhan-boundary.shp")
    assert layer["geometry_type"] == info["geometry_type"]
    assert [f["source"] for f in layer["fields"]] == list(info["fields"])
    assert layer["source"]["id_field"] == "osm_id"
    assert problems(layers) == []
    catalog = load_catalog(layers)
    report = load_layer(
        catalog.layer("wuhan2", "derived_pop_age20plus_sum_wuhan"),
        catalog.city("wuhan2"),
        engine,
        settings,
    )
    assert report.rows_loaded == 494_676 and not report.rejected, report.summary()
    schema = catalog.city("wuhan2").schema_name
    with engine.connect() as conn:
        residents = conn.execute(
            sa.text(f"SELECT sum(population) FROM {schema}.derived_pop_age20plus_sum_wuhan")  # noqa: S608
        ).scalar_one()
    assert round(residents) == 9_491_334


def test_china_districts_with_code_stubs(layers: Path) -> None:
    init("shanghai", SHARED / "china_districts")
    folder = layers / "shanghai"
    drafted = sorted(p.stem for p in folder.glob("*.toml") if p.name != "city.toml")
    assert "derived_shanghai_districts_gcj02_census2020" in drafted
    layer = tomllib.loads(
        (folder / "derived_shanghai_districts_gcj02_census2020.toml").read_text(encoding="utf-8")
    )
    assert layer["source"]["crs"] == "GCJ-02"  # from the file name
    assert layer["source"]["id_field"] == "adcode"
    # hand edits: keep Shanghai and Shenzhen, titles, a role
    for stem in drafted:
        if "shanghai" not in stem and "shenzhen" not in stem:
            (folder / f"{stem}.toml").unlink()
    path = folder / "derived_shanghai_districts_gcj02_census2020.toml"
    text = path.read_text(encoding="utf-8").replace(
        'title = { zh = "derived_shanghai_districts_gcj02_census2020", '
        'en = "derived_shanghai_districts_gcj02_census2020" }',
        'title = { zh = "上海区县", en = "Shanghai districts" }',
    )
    path.write_text(text, encoding="utf-8")
    city = folder / "city.toml"
    city.write_text(
        city.read_text(encoding="utf-8")
        + 'districts = "derived_shanghai_districts_gcj02_census2020"\n',
        encoding="utf-8",
    )
    for stub in (folder / "codes").glob("*.csv"):
        assert stub.read_text(encoding="utf-8").startswith("code,level,parent")
    assert problems(layers) == []
    assert load_catalog(layers).city("shanghai").roles.districts


def test_cambridge_files_copied_to_a_folder(layers: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cambridge_files"
    folder.mkdir()
    src = SHARED / "cambridge_ma"
    shutil.copy(src / "CDD_ZoningDistricts.geojson", folder)
    for part in ("shp", "shx", "dbf", "prj", "cpg"):
        for path in src.glob(f"*.{part}"):
            if path.stem.lower().startswith(("boundary", "cdd_boundary", "bound")):
                shutil.copy(path, folder)
    init("cambridge2", folder)
    city = tomllib.loads((layers / "cambridge2" / "city.toml").read_text(encoding="utf-8"))
    assert city["local_crs"] == "EPSG:32619"  # UTM 19N for Cambridge, MA
    zoning = tomllib.loads(
        (layers / "cambridge2" / "cdd_zoningdistricts.toml").read_text(encoding="utf-8")
    )
    codes = {f["source"] for f in zoning["fields"]}
    assert "ZONE_TYPE" in codes
    stub = layers / "cambridge2" / "codes" / "cambridge2_cdd_zoningdistricts_zone_type.csv"
    data = pyogrio.read_dataframe(
        folder / "CDD_ZoningDistricts.geojson", columns=["ZONE_TYPE"], read_geometry=False
    )
    stub_codes = stub.read_text(encoding="utf-8").splitlines()[1:]
    assert len(stub_codes) == data["ZONE_TYPE"].dropna().nunique()
    # hand edit: classify by the stub table
    path = layers / "cambridge2" / "cdd_zoningdistricts.toml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[classification]\nfield = "zone_type"\nsystem = "cambridge2_cdd_zoningdistricts_zone_type"\n',
        encoding="utf-8",
    )
    assert problems(layers) == []


def test_geopackage_and_geodatabase_layers_are_drafted_one_by_one(
    layers: Path, tmp_path: Path
) -> None:
    """A GeoPackage holding two layers gives two drafts, each naming its layer; a File
    Geodatabase (a folder) with one feature class gives one; all pass check-layers."""
    folder = tmp_path / "xiamen_files"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "POPU", "geometry"]]
    districts.to_file(folder / "city.gpkg", layer="districts", driver="GPKG")
    centres = districts.copy()
    centres["geometry"] = districts.geometry.representative_point()
    centres.to_file(folder / "city.gpkg", layer="centres", driver="GPKG")
    gdb = folder / "zones.gdb"
    subprocess.run(
        ["ogr2ogr", "-f", "OpenFileGDB", str(gdb), str(folder / "city.gpkg"), "districts"],
        check=True,
    )
    init("xiamen2", folder)
    drafted = drafts(layers, "xiamen2")
    assert sorted(drafted) == ["centres", "districts", "zones"]
    assert drafted["districts"]["source"]["layer"] == "districts"
    assert drafted["centres"]["source"]["layer"] == "centres"
    assert drafted["centres"]["geometry_type"] == "Point"
    assert drafted["zones"]["source"]["path"] == "zones.gdb"
    assert "layer" not in drafted["zones"]["source"]
    assert problems(layers) == []


def test_a_gbk_shapefile_without_cpg_is_drafted_with_its_encoding(
    layers: Path, tmp_path: Path
) -> None:
    """No .cpg and Chinese column names and values in GBK: the draft reads them as the loader
    will (GB18030, guessed from the text), says so in ``source.encoding``, and passes
    check-layers."""
    folder = tmp_path / "xiamen_gbk"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "POPU", "geometry"]].rename(columns={"district": "名称", "POPU": "人口"})
    districts.to_file(folder / "districts.shp", encoding="GBK")
    (folder / "districts.cpg").unlink()
    init("xiamen3", folder)
    layer = tomllib.loads((layers / "xiamen3" / "districts.toml").read_text(encoding="utf-8"))
    assert layer["source"]["encoding"] == "GB18030"
    assert [f["source"] for f in layer["fields"]] == ["名称", "人口"]
    assert problems(layers) == []


def test_files_without_a_prj_are_drafted_from_their_coordinates(
    layers: Path, tmp_path: Path
) -> None:
    """No .prj: longitude/latitude is drafted as EPSG:4326, Gauss–Krüger eastings carrying
    their zone as that CGCS2000 zone, each marked as guessed; metres that cannot tell their
    CRS are skipped with a note instead of drafted as degrees (a bbox in metres before)."""
    folder = tmp_path / "xiamen_noprj"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "geometry"]].set_crs(4326, allow_override=True)
    prefixed = f"EPSG:{gk3_epsg(39, prefixed=True)}"
    for name, crs in (("lonlat", "EPSG:4326"), ("zoned", prefixed), ("plain", "EPSG:4548")):
        districts.to_crs(crs).to_file(folder / f"{name}.shp")
        (folder / f"{name}.prj").unlink()
    init("xiamen4", folder)
    city_text = (layers / "xiamen4" / "city.toml").read_text(encoding="utf-8")
    assert "skipped plain.shp: unreadable: declares no CRS" in city_text
    assert not (layers / "xiamen4" / "plain.toml").exists()
    for name, crs in (("lonlat", "EPSG:4326"), ("zoned", prefixed)):
        text = (layers / "xiamen4" / f"{name}.toml").read_text(encoding="utf-8")
        assert tomllib.loads(text)["source"]["crs"] == crs
        assert "guessed from the coordinates" in text
    city = tomllib.loads(city_text)
    west, south, east, north = city["bbox"]
    assert 117.5 < west < east < 118.8 and 24 < south < north < 25
    assert problems(layers) == []


def test_a_layer_off_the_earth_is_skipped_with_a_note(layers: Path, tmp_path: Path) -> None:
    """Eastings written as degrees (a GeoJSON exported without reprojecting): the city's
    extent took them in and its local CRS became a UTM zone that does not exist, so
    init-city ended in pyproj's CRSError. The layer is noted and the city drafted from the
    others."""
    folder = tmp_path / "xiamen_off_earth"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "geometry"]].set_crs(4326, allow_override=True)
    districts.to_file(folder / "districts.shp")
    metres = districts.to_crs("EPSG:4548").set_crs(4326, allow_override=True)
    metres.to_file(folder / "metres.geojson", driver="GeoJSON")
    init("xiamen5", folder)
    city_text = (layers / "xiamen5" / "city.toml").read_text(encoding="utf-8")
    assert "skipped metres.geojson: not drafted: its extent in longitude/latitude (" in city_text
    assert "is off the Earth: a wrong CRS, or damaged coordinates" in city_text
    assert not (layers / "xiamen5" / "metres.toml").exists()
    west, south, east, north = tomllib.loads(city_text)["bbox"]
    assert 117.5 < west < east < 118.8 and 24 < south < north < 25


def test_tables_with_coordinates_or_wkt_are_drafted_and_load(
    layers: Path, tmp_path: Path, engine, settings
) -> None:
    """A bureau's lists kept as tables: a workbook with a title above its header and
    经度/纬度, Excel's "Unicode Text"
    (UTF-16, tabs) with a surveyor's X坐标/Y坐标 (X the northing, in a Gauss–Krüger zone
    with its prefix), a CSV with a WKT column; a table without places is skipped with a
    note. Each draft passes check-layers and loads every row."""
    folder = tmp_path / "xiamen_tables"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "POPU", "geometry"]].set_crs(4326, allow_override=True)
    inside = districts.geometry.representative_point()
    population = districts.POPU.astype(int)
    schools = tmp_path / "schools.csv"  # a title row above the header, as bureaus keep lists
    table = pd.DataFrame(
        {"名称": districts.district, "经度": inside.x, "纬度": inside.y, "人口": population}
    ).to_csv(index=False)
    schools.write_text("厦门市学校名录,Field2,Field3,Field4\n" + table, encoding="utf-8")
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "XLSX",
            "-oo",
            "AUTODETECT_TYPE=YES",
            str(folder / "schools.xlsx"),
            str(schools),
        ],
        check=True,
    )
    gk = inside.to_crs(f"EPSG:{gk3_epsg(39, prefixed=True)}")
    hydrants = pd.DataFrame(
        {"编号": range(1, 7), "X坐标": gk.y.round(3), "Y坐标": gk.x.round(3), "状态": "完好"}
    )
    (folder / "hydrants.txt").write_bytes(hydrants.to_csv(index=False, sep="\t").encode("utf-16"))
    pd.DataFrame({"name": districts.district, "wkt": districts.geometry.to_wkt()}).to_csv(
        folder / "areas.csv", index=False
    )
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv(folder / "notes.csv", index=False)
    (folder / "学校名录.csv").write_text(table, encoding="utf-8")  # a Chinese file name
    init("xiamen5", folder)
    drafted = drafts(layers, "xiamen5")
    assert sorted(drafted) == ["areas", "hydrants", "schools", "xuexiaominglu"]
    # Chinese names in pinyin (they all made "field", "field_2" …), written as they are in zh
    listed = drafted["xuexiaominglu"]
    assert listed["title"] == {"zh": "学校名录", "en": "School list"}  # the glossary's
    assert listed["kind"] == "infrastructure"  # 学校
    assert [f["name"] for f in listed["fields"]] == ["mingcheng", "renkou"]
    assert listed["fields"][0]["title"] == {"zh": "名称", "en": "Name"}
    assert (listed["label_field"], listed["search_fields"]) == ("mingcheng", ["mingcheng"])
    assert [f["name"] for f in drafted["hydrants"]["fields"]] == ["bianhao", "zhuangtai"]
    assert {k: drafted["schools"]["source"][k] for k in ("x", "y", "crs")} == {
        "x": "经度",
        "y": "纬度",
        "crs": "EPSG:4326",
    }
    assert [f["type"] for f in drafted["schools"]["fields"]] == ["string", "integer"]
    hydrant_source = drafted["hydrants"]["source"]
    assert (hydrant_source["x"], hydrant_source["y"]) == ("Y坐标", "X坐标")  # X: northing
    assert hydrant_source["crs"] == f"EPSG:{gk3_epsg(39, prefixed=True)}"
    hydrants_text = (layers / "xiamen5" / "hydrants.toml").read_text(encoding="utf-8")
    assert 'x = "Y坐标"  # the eastings, as the coordinates tell' in hydrants_text
    assert hydrant_source["encoding"] == "UTF-16"
    assert drafted["hydrants"]["source"]["id_field"] == "编号"
    assert drafted["areas"]["source"]["wkt"] == "wkt"
    assert drafted["areas"]["geometry_type"] == "MultiPolygon"
    city_text = (layers / "xiamen5" / "city.toml").read_text(encoding="utf-8")
    assert "skipped notes.csv: not drafted: no coordinate columns" in city_text
    assert problems(layers) == []
    catalog = load_catalog(layers)
    city = catalog.city("xiamen5")
    for layer_id in drafted:
        report = load_layer(catalog.layer("xiamen5", layer_id), city, engine, settings)
        assert report.rows_loaded == 6 and not report.rejected, report.summary()


def test_poi_exports_are_drafted_with_their_offset_and_order(
    layers: Path, tmp_path: Path, engine, settings
) -> None:
    """An Amap POI export ("高德" in its name, places as "lng,lat" in GCJ-02) and a Tencent one
    ("latlng": "lat,lng"): drafted with ``xy``, the order the coordinates tell and GCJ-02;
    loaded, the points land where the WGS 84 originals are."""
    folder = tmp_path / "poi"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "geometry"]].set_crs(4326, allow_override=True)
    inside = districts.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(inside.x.to_numpy(), inside.y.to_numpy())
    pd.DataFrame(
        {
            "名称": districts.district,
            "location": [f"{x:.7f},{y:.7f}" for x, y in zip(lon, lat, strict=True)],
        }
    ).to_csv(folder / "高德POI_区政府.csv", index=False)
    pd.DataFrame(
        {
            "名称": districts.district,
            "latlng": [f"{y:.7f},{x:.7f}" for x, y in zip(lon, lat, strict=True)],
        }
    ).to_csv(folder / "tencent_poi.csv", index=False)
    init("xiamen8", folder)
    drafted = drafts(layers, "xiamen8")
    amap, tencent = drafted["gaode_poi_quzhengfu"], drafted["tencent_poi"]  # 高德: pinyin
    assert (amap["source"]["xy"], amap["source"].get("xy_order", "xy")) == ("location", "xy")
    assert (tencent["source"]["xy"], tencent["source"]["xy_order"]) == ("latlng", "yx")
    assert amap["source"]["crs"] == tencent["source"]["crs"] == "GCJ-02"
    assert problems(layers) == []
    catalog = load_catalog(layers)
    for layer_id in drafted:
        report = load_layer(
            catalog.layer("xiamen8", layer_id), catalog.city("xiamen8"), engine, settings
        )
        assert report.rows_loaded == 6, report.summary()
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text(f"SELECT ST_X(geom), ST_Y(geom) FROM xiamen8.{layer_id} ORDER BY fid")  # noqa: S608
            ).all()
        assert [r[0] for r in stored] == pytest.approx(inside.x.tolist(), abs=1e-6)
        assert [r[1] for r in stored] == pytest.approx(inside.y.tolist(), abs=1e-6)


def test_a_kmz_survey_is_drafted_folder_by_folder(layers: Path, tmp_path: Path) -> None:
    """A KMZ file (zipped KML, as Google Earth and 奥维互动地图 save a survey) with two
    folders of placemarks gives two drafts, each naming its folder; both pass check-layers."""
    from tests.test_ingest_formats import write_kmz

    folder = tmp_path / "survey"
    folder.mkdir()
    districts = gpd.read_file(
        SHARED / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
    )[["district", "geometry"]].rename(columns={"district": "name"})
    districts["geometry"] = districts.geometry.representative_point()
    write_kmz(folder / "survey.kmz", {"north": districts.iloc[:2], "south": districts.iloc[2:]})
    init("xiamen3", folder)
    drafted = drafts(layers, "xiamen3")
    assert {d["source"]["layer"] for d in drafted.values()} == {"north", "south"}
    assert {d["source"]["path"] for d in drafted.values()} == {"survey.kmz"}
    assert {d["geometry_type"] for d in drafted.values()} == {"Point"}
    assert problems(layers) == []


def _tile(catalog, engine, tmp_path: Path, city: str, tile) -> dict:  # noqa: ANN001
    """``tile`` (a TileIndex) of ``city``'s tileset as planners see it: bytes and layers."""
    service = TileService(catalog, TileOptions(tiles_dir=tmp_path, cache=False))
    service.start(engine, listen=False)
    try:
        assert service.wait_for_copies(60)
        data = service.render(engine, service.city_tileset(city, "planner", tile.z), tile)
    finally:
        service.stop()
    return {"bytes": len(data), "layers": mapbox_vector_tile.decode(data)}


def test_drafted_layers_are_named_searched_labelled_and_tiled_light(
    layers: Path, tmp_path: Path, engine, settings
) -> None:
    """Real Cambridge files drafted and loaded as they are. A layer whose tiles would be
    crowded is drafted with a ``detail_zoom`` (read off its densest tile), a line or polygon
    layer with shapes simplified up to z12; a light layer with neither. Name and address
    columns are drafted as the search fields, the hits' titles and the map's labels (from the
    zoom the layer's densest tile is light enough). Cambridge's parcels come as TopoJSON,
    whose driver tells no CRS nor extent: both are read off the features. Loaded, the drafted
    parcels' tiles leave out their fields below the detail zoom, carry them from it, and are
    lighter at z12 than unsimplified; the fire stations are found by name and by address,
    and the style labels them and the streets."""
    folder = tmp_path / "cambridge_dense"
    folder.mkdir()
    for name in (
        "ASSESSING_ParcelsFY2014.topojson",
        "TRANS_Centerlines.geojson",
        "INFRA_Hydrants.geojson",
        "PUBLICSAFETY_FireStations.geojson",
    ):
        (folder / name).symlink_to(SHARED / "cambridge_ma" / name)
    init("camdense", folder)
    drafted = drafts(layers, "camdense")
    parcels = drafted["assessing_parcelsfy2014"]
    assert parcels["source"]["crs"] == "EPSG:4326"
    # densest tile by box centre: 3,031 parcels at z14, 1,270 at z15
    assert parcels["detail_zoom"] == 15
    assert parcels["simplify"] == [{"max_zoom": 12, "tolerance_m": 0.0}]
    assert drafted["trans_centerlines"]["detail_zoom"] == 13  # 1,760 segments at z12
    assert "simplify" in drafted["trans_centerlines"]
    assert drafted["infra_hydrants"]["detail_zoom"] == 12  # 1,960 points at z10-z11
    assert "simplify" not in drafted["infra_hydrants"]  # points
    stations = drafted["publicsafety_firestations"]
    assert not {"detail_zoom", "simplify"} & set(stations)
    assert (stations["label_field"], stations["search_fields"]) == (
        "site_name",
        ["site_name", "address"],
    )
    assert stations["label"] == {"field": "site_name", "min_zoom": 10, "placement": "point"}
    # a hydrant has no name: titled and found by its location, not labelled on the map
    hydrants = drafted["infra_hydrants"]
    assert hydrants["search_fields"] == ["hydrant_location"] and "label" not in hydrants
    assert {x["access"] for x in drafted.values()} == {"internal"}
    staff_only = {f["source"] for f in hydrants["fields"] if f.get("access") == "internal"}
    assert staff_only == {"LASTEDITOR", "HYDRANT_OWNER", "created_user", "last_edited_user"}
    assert "label_field" not in parcels  # no column named as a name or an address
    # its map-lot id (ML) is a parcel id: searched, and meant as one to the cards
    assert parcels["search_fields"] == ["ml"] and parcels["semantics"] == {"parcel_id": "ml"}
    assert {k: drafted[k]["kind"] for k in sorted(drafted)} == {
        "assessing_parcelsfy2014": "landuse",
        "infra_hydrants": "infrastructure",
        "publicsafety_firestations": "infrastructure",
        "trans_centerlines": "infrastructure",
    }
    # one parcel of the TopoJSON is empty: GDAL's box of it (0, 0) is not the city's extent
    city_path = layers / "camdense" / "city.toml"
    city_text = city_path.read_text(encoding="utf-8")
    city = tomllib.loads(city_text)
    assert city["local_crs"] == "EPSG:32619"
    assert -71.3 < city["bbox"][0] < city["bbox"][2] < -71.0 < 42.2 < city["bbox"][1]
    suggested = [
        '# parcels = "assessing_parcelsfy2014"',
        '# streets = "trans_centerlines"',
        '# hydrants = "infra_hydrants"',
        "# [roles.facilities]",
        '# fire_station = ["publicsafety_firestations"]',
    ]
    assert city_text.rstrip().endswith("\n".join(suggested)), city_text
    # the staff agree: uncommented, the roles pass check-layers (kinds and geometry fit)
    for line in suggested:
        city_text = city_text.replace(line, line[2:])
    city_path.write_text(city_text, encoding="utf-8")
    assert problems(layers) == []

    catalog = load_catalog(layers)
    roles = catalog.city("camdense").roles
    assert (roles.parcels, roles.hydrants) == ("assessing_parcelsfy2014", "infra_hydrants")
    layer = catalog.layer("camdense", "assessing_parcelsfy2014")
    report = load_layer(layer, catalog.city("camdense"), engine, settings)
    assert report.rows_loaded == 13_116, report.summary()
    densest_z14 = _tile(catalog, engine, tmp_path / "t14", "camdense", TileIndex(14, 4955, 6059))
    features = densest_z14["layers"]["assessing_parcelsfy2014"]["features"]
    assert len(features) > 2_000 and not any(f["properties"] for f in features)
    z15 = _tile(catalog, engine, tmp_path / "t15", "camdense", TileIndex(15, 9911, 12119))
    features = z15["layers"]["assessing_parcelsfy2014"]["features"]
    assert features and all(f["properties"].get("ml") for f in features)

    for layer_id in ("trans_centerlines", "publicsafety_firestations"):
        report = load_layer(
            catalog.layer("camdense", layer_id), catalog.city("camdense"), engine, settings
        )
        assert not report.rejected, report.summary()
    served = settings.model_copy(update={"layers_dir": layers, "tile_cache": False})
    key = {"X-API-Key": create_key(engine, "planner", "tests").key}
    with TestClient(create_app(served)) as client:
        find = {"q": "fire company 4", "lang": "en"}
        # drafted staff-only: citizens find nothing until the staff open a layer
        assert client.get("/cities/camdense/search", params=find).json()["hits"] == []
        hits = client.get("/cities/camdense/search", params=find, headers=key)
        first = hits.json()["hits"][0]
        assert (first["layer"], first["label"]) == ("publicsafety_firestations", "Fire Company 4")
        hits = client.get(
            "/cities/camdense/search", params={"q": "2029 mass", "lang": "en"}, headers=key
        )
        assert hits.json()["hits"][0]["label"] == "Fire Company 4"  # by its address
        style = client.get("/styles/camdense/planner", params={"lang": "en"}, headers=key).json()
    labels = {x["source-layer"]: x for x in style["layers"] if x["type"] == "symbol"}
    assert sorted(labels) == ["publicsafety_firestations", "trans_centerlines"]
    streets = labels["trans_centerlines"]
    assert streets["layout"]["text-field"] == ["get", "label"]
    assert (streets["layout"]["symbol-placement"], streets["minzoom"]) == ("line", 15)
    assert labels["publicsafety_firestations"]["layout"]["text-field"] == ["get", "site_name"]
    simplified = _tile(catalog, engine, tmp_path / "s", "camdense", TileIndex(12, 1238, 1514))
    path = layers / "camdense" / "assessing_parcelsfy2014.toml"  # the staff's edit: no simplify
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\[\[simplify\]\].*\n.*\n.*\n", "", text), encoding="utf-8")
    plain = _tile(
        load_catalog(layers), engine, tmp_path / "p", "camdense", TileIndex(12, 1238, 1514)
    )
    assert simplified["bytes"] < 0.8 * plain["bytes"], (simplified["bytes"], plain["bytes"])


def test_a_layer_crowded_at_its_first_zoom_is_drafted_with_a_min_zoom_to_consider() -> None:
    """The densest tiles of the 246,900 SYNTHETIC roads (bench/common/osmlike.py) by zoom:
    the draft suggests, as a comment (only the staff know whether the layer may go unseen
    there), the first zoom whose densest tile holds at most 50,000; a lighter layer gets none."""
    roads = {10: 246_900, 11: 180_633, 12: 75_070, 13: 18_989, 14: 4_861, 15: 1_322, 16: 357}
    draft = LayerDraft(
        id="roads", path="roads.gpkg", layer=None, encoding=None, crs_guessed=False,
        geometry_type="LineString", crs="EPSG:4326", fields=[("name", "name", "string")],
        id_field=None, id_from_text=False, code_columns={}, bounds_lonlat=(0, 0, 1, 1),
        densest_tiles=roads,
    )  # fmt: skip
    text = layer_toml(draft, "synthetic", "EPSG:4326")
    data = tomllib.loads(text)
    assert "min_zoom" not in data and "# min_zoom = 13\n" in text
    assert data["detail_zoom"] == 15 and data["simplify"][0]["max_zoom"] == 12
    # labelled by name along the line, from z16 (357 roads in the densest tile; z15: 1,322)
    assert data["label"] == {"field": "name", "min_zoom": 16, "placement": "line"}
    draft.densest_tiles = {z: n // 5 for z, n in roads.items()}  # 49,380 at z10
    text = layer_toml(draft, "synthetic", "EPSG:4326")
    assert "# min_zoom" not in text and tomllib.loads(text)["detail_zoom"] == 14


@pytest.mark.parametrize(
    ("columns", "geometry", "name", "address"),
    [
        (["OBJECTID", "学校名称", "地址", "联系人姓名"], "Point", "学校名称", "地址"),
        (["owner_name", "StreetName", "use"], "Point", None, "streetname"),  # an address
        (["StreetName", "Label", "Alias"], "LineString", "label", None),  # label first
        (["ROAD_ID", "道路名称"], "MultiLineString", "道路名称", None),
        (["Street", "CONTACT_NAME"], "MultiLineString", "street", None),  # a street's name
        (["name_en", "名称", "坐落"], "Polygon", "名称", "坐落"),
        (["site_name", "full_address"], "Polygon", "site_name", "full_address"),
        (["MC", "DZ"], "Point", "mc", None),  # 名称's initials, as Chinese exports write it
        (["adcode", "province", "city", "district"], "MultiPolygon", "district", None),
        (["编号", "乡镇", "户主姓名"], "Polygon", "乡镇", None),
    ],
)
def test_name_and_address_columns_are_read_off_their_names(
    columns: list[str], geometry: str, name: str | None, address: str | None
) -> None:
    """Which column names a feature and which gives its address (``draft.naming``): never a
    person's name; a street's name is a line's name but a point's or an area's address."""
    fields = [(c.lower(), c, "string") for c in columns]
    found = naming(fields, geometry, None, {10: 30})
    assert (found.name, found.address) == (name, address)
    assert found.search_fields == tuple(f for f in (name, address) if f)
    assert found.label_field == (name or address) and found.label_min_zoom == 10


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("CDD_ZoningDistricts.geojson", "planning"),  # zoning before districts
        ("derived_xiamen_districts_gcj02_census2020.geojson", "boundary"),  # before census
        ("DEMOGRAPHICS_Blocks2020.geojson", "population"),
        ("derived_xiamen_island_taz_pop_wgs84.geojson", "population"),
        ("宗地图斑.shp", "landuse"),
        ("控规地块.shp", "planning"),
        ("道路中心线.shp", "infrastructure"),
        ("LANDMARK_PublicLibraries.geojson", "infrastructure"),
        ("HYDRO_WaterBodies.geojson", "basemap"),
        ("survey_2024.gpkg", "boundary"),  # says nothing
    ],
)
def test_a_layers_kind_is_read_off_its_name(path: str, kind: str) -> None:
    draft = LayerDraft(
        id="field", path=path, layer=None, encoding=None, crs_guessed=False,
        geometry_type="Polygon", crs="EPSG:4326", fields=[], id_field=None,
        id_from_text=False, code_columns={}, bounds_lonlat=(0, 0, 1, 1),
    )  # fmt: skip
    assert layer_kind(draft) == kind


def test_land_use_codes_of_a_national_standard_are_classified_by_it(
    layers: Path, tmp_path: Path, engine, settings
) -> None:
    """Xiamen island's 661 real TAZ polygons carrying, derived here, the columns of a 三调
    survey (DLBM codes, some with 三调's K, and DLMC names of GB/T 21010-2017), of a plan
    (codes only the 2023 guide has) and of a layer whose codes both standards hold with
    different meanings and nothing says which. The first two are classified by their
    standard (no stub table); the third names both and classifies by neither. Loaded, the
    survey's map colours its classes as GB/T 21010 does, K or not."""
    gbt = load_code_table(layers / "codes" / "gbt21010_2017.csv", "gbt21010_2017")
    guide = load_code_table(layers / "codes" / "tdyh_2023.csv", "tdyh_2023")
    differ = [
        c.code
        for c in gbt
        if c.level == 2 and (other := guide.get(c.code)) and other.name_zh != c.name_zh
    ]
    guide_only = [c.code for c in guide if c.level == 2 and c.code not in gbt]
    taz = gpd.read_file(SHARED / "xiamen_island/derived_xiamen_island_taz_pop_wgs84.geojson")
    taz = taz[["geometry"]]
    n = len(taz)
    folder = tmp_path / "xiamen_landuse"
    folder.mkdir()
    codes = [differ[i % len(differ)] for i in range(n)]
    survey = taz.assign(
        DLBM=[c + ("K" if i % 7 == 0 else "") for i, c in enumerate(codes)],
        DLMC=[gbt.get(c).name_zh for c in codes],  # type: ignore[union-attr]
    )
    survey.to_file(folder / "三调图斑.geojson")
    taz.assign(YDXZ=[guide_only[i % len(guide_only)] for i in range(n)]).to_file(
        folder / "规划用地.geojson"
    )
    taz.assign(CODE=codes).to_file(folder / "landcover.geojson")
    init("xiamen9", folder)
    drafted = drafts(layers, "xiamen9")
    assert drafted["sandiaotuban"]["kind"] == "landuse"
    assert drafted["sandiaotuban"]["classification"] == {
        "field": "dlbm",
        "system": "gbt21010_2017",
        "normalise": [{"match": "(.+)K", "to": "\\1"}],
    }
    assert drafted["guihuayongdi"]["classification"] == {"field": "ydxz", "system": "tdyh_2023"}
    meanings = {k: x.get("semantics") for k, x in drafted.items()}
    assert meanings == {
        "sandiaotuban": {"land_use": "dlbm"},
        "guihuayongdi": {"zone_code": "ydxz"},
        "landcover": None,
    }
    themes = {k: x.get("theme") for k, x in drafted.items()}
    assert themes == {"sandiaotuban": "landuse", "guihuayongdi": "zoning", "landcover": None}
    assert "classification" not in drafted["landcover"]
    text = (layers / "xiamen9" / "landcover.toml").read_text(encoding="utf-8")
    assert "those of gbt21010_2017 and tdyh_2023, which mean different classes" in text
    stubs = sorted(p.name for p in (layers / "xiamen9" / "codes").glob("*.csv"))
    assert "xiamen9_sandiaotuban_dlbm.csv" not in stubs and "xiamen9_landcover_code.csv" in stubs
    assert problems(layers) == []

    catalog = load_catalog(layers)
    layer = catalog.layer("xiamen9", "sandiaotuban")
    report = load_layer(layer, catalog.city("xiamen9"), engine, settings)
    assert report.rows_loaded == n and not report.rejected, report.summary()
    served = settings.model_copy(update={"layers_dir": layers, "tile_cache": False})
    key = {"X-API-Key": create_key(engine, "planner", "tests").key}
    with TestClient(create_app(served)) as client:
        style = client.get("/styles/xiamen9/planner", headers=key).json()
    fill = next(x for x in style["layers"] if x.get("source-layer") == "sandiaotuban")
    match = fill["paint"]["fill-color"]
    colours = {tuple(match[i]): match[i + 1] for i in range(2, len(match) - 1, 2)}
    with engine.connect() as conn:
        stored = set(
            conn.execute(sa.text("SELECT DISTINCT dlbm FROM xiamen9.sandiaotuban")).scalars()
        )
    assert {"0501", "0501K"} <= stored  # kept as the survey writes them
    assert colours[("0501", "0501K")] == gbt.colour_for("0501") != guide.colour_for("0501")


def test_an_area_layer_with_a_density_is_drafted_as_a_choropleth(
    layers: Path, tmp_path: Path, engine, settings
) -> None:
    """Xiamen's six real districts with their GHSL population density: drafted coloured by
    it in quintile classes (the public map's population theme); its population counts are
    not (a count per area is no choropleth). Loaded, the legend shows the five classes."""
    folder = tmp_path / "xiamen_density"
    folder.mkdir()
    name = "derived_xiamen_districts_gcj02_census2020.geojson"
    (folder / name).symlink_to(SHARED / "china_districts" / name)
    init("xiamen10", folder)
    (layer_id,) = drafts(layers, "xiamen10")
    drafted = drafts(layers, "xiamen10")[layer_id]
    graduated = drafted["style"]["graduated"]
    assert graduated["field"] == "ghsl_pop_dens" and drafted["theme"] == "population"
    density = gpd.read_file(folder / name)["GHSL_POP_DENS"]
    breaks = graduated["breaks"]
    assert breaks == sorted(breaks) and density.min() < breaks[0] <= breaks[-1] <= density.max()
    assert len(graduated["colours"]) == len(breaks) + 1
    units = {f["source"]: f.get("unit") for f in drafted["fields"]}
    assert (units["GHSL_POP_DENS"], units["POPU"], units["POPU_URB"]) == (
        "persons/km²",
        "persons",
        None,  # a share: its name writes no unit
    )
    assert problems(layers) == []
    catalog = load_catalog(layers)
    report = load_layer(
        catalog.layer("xiamen10", layer_id), catalog.city("xiamen10"), engine, settings
    )
    assert report.rows_loaded == 6, report.summary()
    served = settings.model_copy(update={"layers_dir": layers, "tile_cache": False})
    key = {"X-API-Key": create_key(engine, "planner", "tests").key}
    with TestClient(create_app(served)) as client:
        legend = client.get("/styles/xiamen10/legend", params={"lang": "en"}, headers=key).json()
    (entry,) = legend["layers"]
    assert entry["field"] == "ghsl_pop_dens"
    assert [e["colour"] for e in entry["entries"]] == graduated["colours"]


@pytest.mark.parametrize(
    ("column", "kind", "unit"),
    [
        ("area_km2", "float", "km²"),
        ("LAND_AREA_SQFT", "integer", "ft²"),
        ("面积（平方米）", "float", "m²"),
        ("height_m", "float", "m"),
        ("人口密度", "float", "persons/km²"),
        ("总人口", "integer", "persons"),
        ("POPU_URB", "float", None),  # a share of the population
        ("绿地率", "float", None),  # a fraction or a percentage: not told
        ("Shape_Area", "float", None),  # in the CRS's units, whatever they are
        ("area_km2", "string", None),  # not a number
    ],
)
def test_a_fields_unit_is_drafted_only_where_its_name_writes_it(
    column: str, kind: str, unit: str | None
) -> None:
    assert unit_of(column, kind) == unit


@pytest.mark.parametrize(
    ("name", "en"),
    [
        ("市政消火栓 2024", "Municipal hydrants 2024"),
        ("学校名录", "School list"),
        ("地类编码", "Land class code"),  # 三调's DLBM
        ("人口密度", "Population density"),
        ("用地性质", "Land use class"),  # the longest word first
        ("权利人", None),  # a word the glossary has not: no half-translated title
        ("Parcels", None),  # no Chinese
    ],
)
def test_chinese_names_in_english_by_the_glossary(name: str, en: str | None) -> None:
    assert english(name) == en


@pytest.mark.parametrize(
    ("columns", "kind", "meanings"),
    [
        (
            [("宗地代码", "string"), ("地址", "string"), ("宗地面积", "float"), ("建筑面积", "float"),
             ("层数", "integer"), ("建成年份", "integer"), ("权利人", "string")],
            "landuse",
            {"address": "dizhi", "parcel_id": "zongdidaima", "land_area": "zongdimianji",
             "floor_area": "jianzhumianji", "stories": "cengshu", "year_built": "jianchengnianfen"},
        ),
        (
            [("ZONE_NAME", "string"), ("MAX_FAR", "float"), ("HEIGHT_LIMIT", "float"),
             ("OPEN_SPACE_PCT", "float")],
            "planning",
            {"zone_name": "zone_name", "max_far": "max_far", "max_height": "height_limit",
             "min_open_space": "open_space_pct"},
        ),
        ([("人口", "integer"), ("人口密度", "float")], "population", {"population": "renkou"}),
        ([("人口", "integer")], "boundary", {}),  # a meaning only on its kind of layer
        ([("LAND_AREA", "string")], "landuse", {}),  # text: no area
    ],
)  # fmt: skip
def test_what_fields_mean_is_read_off_their_names(
    columns: list[tuple[str, str]], kind: str, meanings: dict[str, str]
) -> None:
    fields = [(field_name(c), c, t) for c, t in columns]
    names = naming(fields, "Polygon", None, {10: 10})
    assert semantics_of(fields, kind, names, None) == meanings


def test_a_large_grid_is_drafted_from_a_sample_of_its_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wuhan's grid read one cell in five (as a grid five times the size would be): its
    densest tiles and quintiles come out within a few percent of every cell's."""
    from digitalcity.catalog.draft import rasters

    folder = SHARED / "wuhan_population"
    path = folder / "derived_pop_age20plus_sum_wuhan.tif"
    whole = rasters.read_raster(path, folder)
    monkeypatch.setattr(rasters, "_CELLS_READ", 1662 * 1668 // 5)
    sampled = rasters.read_raster(path, folder)
    for z, n in whole.densest_tiles.items():
        assert abs(sampled.densest_tiles[z] - n) <= max(0.05 * n, 25), (z, n)
    for a, b in zip(whole.breaks["value"], sampled.breaks["value"], strict=True):
        assert abs(a - b) <= 0.15 * a
