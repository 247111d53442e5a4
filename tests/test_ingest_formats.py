"""Every input format and CRS convention the loader accepts, on small extracts of the real data
written at test time (GBK shapefile, GeoPackage, GeoPackage with arcs, CSV with coordinates or
WKT, Gauss–Krüger zones with and without the zone prefix, BD-09)."""

from __future__ import annotations

import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from digitalcity.catalog.model import LayerDef
from digitalcity.crs import wgs84_to_bd09
from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer
from digitalcity.ingest.readers import SourceReader


def layer(layer_id: str, geometry_type: str, source: dict, fields: list[dict]) -> LayerDef:
    return LayerDef.model_validate(
        {
            "id": layer_id,
            "city": "xiamen",
            "title": {"zh": "测试", "en": "Test"},
            "kind": "population",
            "geometry_type": geometry_type,
            "source": source,
            "fields": fields,
        }
    )


NAME = {"name": "name", "title": {"zh": "名称", "en": "Name"}}
POP = {"name": "population", "type": "integer", "title": {"zh": "人口", "en": "Population"}}


def stored(engine, table: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text(
                f"SELECT name, population, ST_X(ST_Centroid(geom)) AS x, ST_Y(ST_Centroid(geom)) AS y "  # noqa: S608
                f"FROM xiamen.{table} ORDER BY fid"
            ),
            conn,
        )


def test_gbk_shapefile_keeps_chinese_names(districts, catalog, engine, settings, tmp_path, loaded):
    path = tmp_path / "gbk_districts.shp"
    districts.to_file(path, encoding="GBK")
    assert (tmp_path / "gbk_districts.cpg").read_text().strip().upper() in ("GBK", "936", "CP936")
    definition = layer("gbk_districts", "MultiPolygon", {"path": str(path)}, [NAME, POP])
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 6
    rows = stored(engine, "gbk_districts")
    assert set(rows.name) == set(districts.name) and "思明区" in set(rows.name)
    assert rows.population.sum() == 5163970


def test_geopackage(districts, catalog, engine, settings, tmp_path, loaded):
    path = tmp_path / "districts.gpkg"
    districts.to_crs(4490).to_file(path, layer="districts", driver="GPKG")
    definition = layer(
        "gpkg_districts", "MultiPolygon", {"path": str(path), "layer": "districts"}, [NAME, POP]
    )
    assert load_layer(definition, catalog.city("xiamen"), engine, settings).rows_loaded == 6
    assert stored(engine, "gpkg_districts").population.sum() == 5163970


def _points(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    points = districts.copy()
    points["geometry"] = districts.geometry.representative_point()
    return points


@pytest.mark.parametrize("prefixed", [False, True])
def test_csv_gauss_kruger_with_or_without_zone_prefix(
    districts, catalog, engine, settings, tmp_path, loaded, prefixed
):
    points = _points(districts)
    projected = points.to_crs(4527 if prefixed else 4548)  # zone 39, with / without prefix
    frame = pd.DataFrame(
        {
            "name": points.name,
            "population": points.population,
            "x": projected.geometry.x,
            "y": projected.geometry.y,
        }
    )
    if prefixed:
        assert frame.x.min() > 39_000_000  # bureau-style eastings carry the zone number
    path = tmp_path / "gk.csv"
    frame.to_csv(path, index=False)
    # the definition says 4548 (no prefix) either way: the loader detects the prefix
    definition = layer(
        f"gk_{int(prefixed)}",
        "Point",
        {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4548"},
        [NAME, POP],
    )
    assert load_layer(definition, catalog.city("xiamen"), engine, settings).rows_loaded == 6
    rows = stored(engine, f"gk_{int(prefixed)}")
    expected = points.to_crs(4490)
    assert np.allclose(rows.x, expected.geometry.x, atol=1e-7)
    assert np.allclose(rows.y, expected.geometry.y, atol=1e-7)


def test_csv_wkt_in_bd09_is_converted(districts, catalog, engine, settings, tmp_path, loaded):
    points = _points(districts)
    lon, lat = wgs84_to_bd09(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    frame = pd.DataFrame(
        {
            "name": points.name,
            "population": points.population,
            "wkt": [f"POINT ({x} {y})" for x, y in zip(lon, lat, strict=True)],
        }
    )
    path = tmp_path / "bd09.csv"
    frame.to_csv(path, index=False)
    definition = layer(
        "bd09_points", "Point", {"path": str(path), "wkt": "wkt", "crs": "BD-09"}, [NAME, POP]
    )
    assert load_layer(definition, catalog.city("xiamen"), engine, settings).rows_loaded == 6
    rows = stored(engine, "bd09_points")
    # back within a metre of the WGS84 originals (BD-09's published inverse is good to ~0.1 m)
    assert np.abs(rows.x - points.geometry.x.to_numpy()).max() < 1e-5
    assert np.abs(rows.y - points.geometry.y.to_numpy()).max() < 1e-5
    assert np.abs(lon - points.geometry.x.to_numpy()).min() > 0.005  # the offset was real


def test_reload_is_idempotent_and_keeps_previous_version(catalog, engine, settings, loaded):
    blocks = catalog.layer("cambridge", "census_blocks_2000")
    city = catalog.city("cambridge")
    again = load_layer(blocks, city, engine, settings)
    assert again.status == "unchanged"
    forced = load_layer(blocks, city, engine, settings, force=True)
    assert forced.status == "loaded" and forced.version == again.version + 1
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text(
                f"SELECT count(*), sum(population) FROM cambridge.census_blocks_2000__v{again.version}"  # noqa: S608
            )
        ).one()
        current = conn.execute(
            sa.text("SELECT count(*), sum(population) FROM cambridge.census_blocks_2000")
        ).one()
    assert tuple(kept) == tuple(current) == (886, 101355)
    third = load_layer(blocks, city, engine, settings, force=True)
    with engine.connect() as conn:
        names = set(
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'cambridge' "
                    "AND tablename LIKE 'census_blocks_2000%'"
                )
            ).scalars()
        )
    # keep_versions = 1: the current table and the one before it, no more (beside the
    # layer's history and rowmeta, which every version shares)
    assert names == {
        "census_blocks_2000",
        f"census_blocks_2000__v{third.version - 1}",
        "census_blocks_2000__history",
        "census_blocks_2000__rowmeta",
    }
    with engine.connect() as conn:  # identical reloads changed no row: nothing went to history
        recorded = conn.execute(
            sa.text("SELECT count(*) FROM cambridge.census_blocks_2000__history")
        ).scalar_one()
    assert recorded == 0


def test_a_new_loader_version_reloads(catalog, settings, monkeypatch):
    """The loader's version is part of the fingerprint: after a change to what loads store,
    `load` reloads instead of reporting the layer unchanged."""
    from digitalcity.ingest import fingerprints, loader

    blocks, city = catalog.layer("cambridge", "census_blocks_2000"), catalog.city("cambridge")
    before = loader.fingerprint(blocks, city, settings)
    assert loader.fingerprint(blocks, city, settings) == before
    monkeypatch.setattr(fingerprints, "LOADER_VERSION", fingerprints.LOADER_VERSION + 1)
    assert loader.fingerprint(blocks, city, settings) != before


def test_how_a_layer_is_shown_is_not_part_of_its_fingerprint(catalog, engine, settings, loaded):
    """A new colour, title, label, legend order or theme (or a city's title or default zoom)
    changes no stored row, so `load` finds the layer unchanged (the map and the tile keys read them from the definition); a
    field's type or another id column reloads it."""
    from digitalcity.catalog.cartography import LabelDef, StyleDef
    from digitalcity.catalog.model import Titles
    from digitalcity.ingest import loader

    blocks, city = catalog.layer("cambridge", "census_blocks_2000"), catalog.city("cambridge")
    before = loader.fingerprint(blocks, city, settings)
    shown_otherwise = blocks.model_copy(
        update={
            "title": Titles(zh="人口普查街区", en="Census blocks, 2000"),
            "description": Titles(zh="说明", en="notes"),
            "style": StyleDef(colour="#123456", opacity=0.3),
            "label": LabelDef(field=blocks.fields[0].name),
            "label_field": blocks.fields[0].name,
            "theme": "population",
            "order": blocks.order + 7,
        }
    )
    assert shown_otherwise != blocks
    assert loader.fingerprint(shown_otherwise, city, settings) == before
    retitled = city.model_copy(
        update={"title": Titles(zh="剑桥", en="Cambridge"), "default_zoom": 15, "demo": False}
    )
    assert loader.fingerprint(blocks, retitled, settings) == before
    assert loader.fingerprint(blocks, city.model_copy(update={"bbox": None}), settings) != before
    load_layer(blocks, city, engine, settings)  # as the suite loaded it, or loaded now
    assert load_layer(shown_otherwise, city, engine, settings).status == "unchanged"
    retyped = blocks.fields[-1].model_copy(update={"type": "string"})
    assert retyped != blocks.fields[-1]
    stored_otherwise = blocks.model_copy(update={"fields": (*blocks.fields[:-1], retyped)})
    assert loader.fingerprint(stored_otherwise, city, settings) != before
    renumbered = blocks.source.model_copy(update={"id_field": None})  # ids by row number
    assert renumbered != blocks.source
    assert loader.fingerprint(blocks.model_copy(update={"source": renumbered}), city, settings) != (
        before
    )


def test_load_leaves_no_object_frozen(catalog, engine, settings, loaded):
    """Loads keep the garbage collector off their objects while running (gc.freeze) and give
    them all back when done, failed or not."""
    import gc

    blocks, city = catalog.layer("cambridge", "census_blocks_2000"), catalog.city("cambridge")
    load_layer(blocks, city, engine, settings, force=True)
    assert gc.get_freeze_count() == 0
    broken = blocks.model_copy(update={"source": blocks.source.model_copy(update={"path": "nope"})})
    with pytest.raises(SourceError):
        load_layer(broken, city, engine, settings)
    assert gc.get_freeze_count() == 0


def test_load_warms_the_connections_it_holds_at_once(settings, engine):
    from digitalcity.db.engine import make_engine
    from digitalcity.ingest import staging

    fresh = make_engine(settings)
    try:
        staging.warm_pool(fresh)
        assert fresh.pool.checkedin() == staging.CONNECTIONS_AT_ONCE
    finally:
        fresh.dispose()


def _circle(x: float, y: float, r: float) -> str:
    return f"CIRCULARSTRING({x - r} {y},{x} {y + r},{x + r} {y},{x} {y - r},{x - r} {y})"


def test_curves_in_a_geopackage_are_approximated_not_refused(
    districts, catalog, engine, settings, tmp_path, loaded
):
    """Arcs, as desktop GIS writes cadastral parcels to a GeoPackage (curve polygons, compound
    curves, multi-surfaces), load approximated by straight segments beside plain polygons: GEOS
    reads no curves, and a batch holding one used to fail the whole load."""
    centres = districts.geometry.representative_point()
    r = 0.002  # degrees
    x0, y0, x1, y1 = (centres.x[0], centres.y[0], centres.x[1], centres.y[1])
    shapes = [
        (districts.name[2], districts.geometry[2].wkt),
        (districts.name[0], f"CURVEPOLYGON({_circle(x0, y0, r)})"),
        (
            districts.name[1],
            f"MULTISURFACE(CURVEPOLYGON(COMPOUNDCURVE(CIRCULARSTRING({x1 - r} {y1},{x1} "
            f"{y1 + r},{x1 + r} {y1}),({x1 + r} {y1},{x1 - r} {y1}))))",
        ),
    ]
    csv = tmp_path / "curves.csv"
    pd.DataFrame(shapes, columns=["name", "WKT"]).to_csv(csv, index=False)
    path = tmp_path / "curves.gpkg"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(path),
            str(csv),
            "-oo",
            "GEOM_POSSIBLE_NAMES=WKT",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
            "-a_srs",
            "EPSG:4490",
            "-nlt",
            "GEOMETRY",
            "-nln",
            "parcels",
        ],
        check=True,
    )
    definition = layer(
        "curved_parcels", "MultiPolygon", {"path": str(path), "layer": "parcels"}, [NAME]
    )
    report = load_layer(definition, catalog.city("xiamen"), engine, settings)
    assert report.rows_loaded == 3 and not report.rejected
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT name, ST_Area(geom), ST_NPoints(geom) "
                "FROM xiamen.curved_parcels ORDER BY fid"
            )
        ).all()
    plain, circle, half = rows
    assert [row[0] for row in rows] == [name for name, _ in shapes]
    # each arc in steps of at most 4 degrees: a 90-gon, whose area is 0.9992 of the circle's
    assert 0.998 < circle[1] / (np.pi * r * r) < 1.0 and circle[2] >= 90
    assert 0.998 < half[1] / (np.pi * r * r / 2) < 1.0
    assert plain[1] == pytest.approx(districts.geometry[2].area, rel=1e-9)
    assert plain[2] == shapely.get_num_coordinates(districts.geometry[2])

    # read one row at a time, so arcs are read again from rows past the first: each
    # approximated geometry is its own row's
    batches = list(SourceReader(definition.source, tmp_path).batches(1))
    assert [b.attributes.series("name")[0] for b in batches] == [name for name, _ in shapes]
    areas = [shapely.area(b.geometry[0]) for b in batches]
    assert areas[0] == pytest.approx(districts.geometry[2].area, rel=1e-9)
    assert 0.998 < areas[1] / (np.pi * r * r) < 1.0
    assert 0.998 < areas[2] / (np.pi * r * r / 2) < 1.0


def test_file_geodatabase_flatgeobuf_and_kml(
    districts, catalog, engine, settings, tmp_path, loaded
):
    """An Esri File Geodatabase (a folder of feature classes, as Chinese planning data is often
    delivered), FlatGeobuf and KML load like any other source; a geodatabase holding several
    feature classes needs ``source.layer``, and without it the load says which there are."""
    gpkg = tmp_path / "two.gpkg"
    districts.to_file(gpkg, layer="districts", driver="GPKG")
    centres = districts.copy()
    centres["geometry"] = districts.geometry.representative_point()
    centres.to_file(gpkg, layer="centres", driver="GPKG")
    gdb = tmp_path / "city.gdb"
    subprocess.run(["ogr2ogr", "-f", "OpenFileGDB", str(gdb), str(gpkg)], check=True)
    assert gdb.is_dir()
    xiamen = catalog.city("xiamen")
    definition = layer(
        "gdb_districts", "MultiPolygon", {"path": str(gdb), "layer": "districts"}, [NAME, POP]
    )
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    assert stored(engine, "gdb_districts").population.sum() == 5163970
    assert load_layer(definition, xiamen, engine, settings).status == "unchanged"
    unnamed = layer("gdb_unnamed", "MultiPolygon", {"path": str(gdb)}, [NAME, POP])
    with pytest.raises(
        SourceError, match=r"2 layers with geometry \((centres, districts|districts, centres)\)"
    ):
        load_layer(unnamed, xiamen, engine, settings)

    fgb = tmp_path / "districts.fgb"
    districts.to_file(fgb, driver="FlatGeobuf")
    definition = layer("fgb_districts", "MultiPolygon", {"path": str(fgb)}, [NAME, POP])
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    assert stored(engine, "fgb_districts").population.sum() == 5163970

    kml = tmp_path / "centres.kml"
    centres[["name", "geometry"]].rename(columns={"name": "Name"}).to_file(kml, driver="KML")
    definition = layer("kml_centres", "Point", {"path": str(kml)}, [{**NAME, "source": "Name"}])
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.kml_centres")).scalars().all()
    assert set(names) == set(districts.name)


def test_kmz_as_google_earth_and_ovital_maps_export_it(
    districts, catalog, engine, settings, tmp_path, loaded
):
    """A KMZ file (zipped KML, what Google Earth and 奥维互动地图 save) loads from its
    suffix; when it holds several folders with features, the load names them rather than
    loading the first, and loads the one the definition names."""
    xiamen = catalog.city("xiamen")
    kmz = tmp_path / "districts.kmz"
    districts[["name", "geometry"]].rename(columns={"name": "Name"}).to_file(kmz, driver="LIBKML")
    definition = layer(
        "kmz_districts", "MultiPolygon", {"path": str(kmz)}, [{**NAME, "source": "Name"}]
    )
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.kmz_districts")).scalars().all()
    assert set(names) == set(districts.name)

    # two folders of placemarks, as a survey saved from 奥维 holds them
    centres = _points(districts)
    folders = {"岛内": centres.iloc[:2], "岛外": centres.iloc[2:]}
    write_kmz(tmp_path / "folders.kmz", folders)
    several = layer(
        "kmz_folders",
        "Point",
        {"path": str(tmp_path / "folders.kmz")},
        [{**NAME, "source": "Name"}],
    )
    with pytest.raises(SourceError, match="岛内.*岛外|岛外.*岛内"):
        load_layer(several, xiamen, engine, settings)
    named = layer(
        "kmz_folders",
        "Point",
        {"path": str(tmp_path / "folders.kmz"), "layer": "岛外"},
        [{**NAME, "source": "Name"}],
    )
    assert load_layer(named, xiamen, engine, settings).rows_loaded == 4
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM xiamen.kmz_folders")).scalars().all()
    assert set(names) == set(folders["岛外"].name)

    write_kmz(tmp_path / "empty.kmz", {})  # a document without a placemark
    empty = layer("kmz_empty", "Point", {"path": str(tmp_path / "empty.kmz")}, [])
    with pytest.raises(SourceError, match="empty.kmz"):
        load_layer(empty, xiamen, engine, settings)


def write_kmz(path, folders: dict[str, gpd.GeoDataFrame]) -> None:  # noqa: ANN001
    """A KMZ file (``doc.kml`` zipped) of point placemarks, one KML folder per item."""
    import zipfile
    from xml.sax.saxutils import escape

    marks = {
        folder: "".join(
            f"<Placemark><name>{escape(str(row.name))}</name><Point><coordinates>"
            f"{row.geometry.x},{row.geometry.y}</coordinates></Point></Placemark>"
            for row in rows.itertuples()
        )
        for folder, rows in folders.items()
    }
    body = "".join(f"<Folder><name>{escape(k)}</name>{v}</Folder>" for k, v in marks.items())
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'
    )
    with zipfile.ZipFile(path, "w") as kmz:
        kmz.writestr("doc.kml", kml)


def test_mapinfo_gml_dxf_and_a_spreadsheet(districts, catalog, engine, settings, tmp_path, loaded):
    """MapInfo TAB, GML and DXF (GDAL writes them; a DXF's closed polylines load as polygons),
    and a sheet of an Excel workbook located by its
    longitude and latitude columns: Chinese sheet and column names, a second sheet beside it
    (so the sheet must be named: without it the load names the sheets)."""
    xiamen = catalog.city("xiamen")
    gpkg = tmp_path / "districts.gpkg"
    districts.to_file(gpkg, layer="districts", driver="GPKG")
    for fmt, name in (("MapInfo File", "districts.tab"), ("GML", "districts.gml")):
        path = tmp_path / name
        subprocess.run(["ogr2ogr", "-f", fmt, str(path), str(gpkg)], check=True)
        layer_id = f"{path.suffix[1:]}_districts"
        definition = layer(layer_id, "MultiPolygon", {"path": str(path)}, [NAME, POP])
        assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
        assert stored(engine, layer_id).population.sum() == 5163970

    dxf = tmp_path / "districts.dxf"  # a CAD drawing: one entity per polygon, no CRS, no fields
    subprocess.run(["ogr2ogr", "-f", "DXF", str(dxf), str(gpkg)], check=True)
    cad = {"name": "cad_layer", "source": "Layer", "title": {"zh": "图层", "en": "CAD layer"}}
    definition = layer(
        "dxf_districts", "MultiPolygon", {"path": str(dxf), "crs": "EPSG:4326"}, [cad]
    )
    parts = int(shapely.get_num_geometries(districts.geometry.to_numpy()).sum())
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == parts

    # parcels as CAD draws them: closed polylines, read as lines, loaded as their polygons
    shells = districts.explode(index_parts=False)
    shells = shells.assign(geometry=shells.geometry.exterior)
    lines_json = tmp_path / "outlines.geojson"
    shells.to_file(lines_json, driver="GeoJSON")
    outlines = tmp_path / "outlines.dxf"
    subprocess.run(["ogr2ogr", "-f", "DXF", str(outlines), str(lines_json)], check=True)
    spec = {"path": str(outlines), "crs": "EPSG:4326"}
    definition = layer("dxf_outlines", "MultiPolygon", spec, [cad])
    report = load_layer(definition, xiamen, engine, settings)
    assert report.rows_loaded == parts and not report.rejected
    with engine.connect() as conn:
        area = conn.execute(sa.text("SELECT sum(ST_Area(geom)) FROM xiamen.dxf_outlines")).scalar()
    filled = shapely.polygons(shells.geometry.to_numpy())
    assert area == pytest.approx(shapely.area(filled).sum(), rel=1e-9)

    points = districts.geometry.representative_point()
    table = districts.drop(columns="geometry").rename(
        columns={"name": "名称", "population": "人口"}
    )
    table = table.assign(经度=points.x, 纬度=points.y)
    csv = tmp_path / "学校.csv"
    table.to_csv(csv, index=False)
    book = tmp_path / "facilities.xlsx"
    subprocess.run(["ogr2ogr", "-f", "XLSX", str(book), str(csv)], check=True)
    subprocess.run(
        ["ogr2ogr", "-f", "XLSX", "-update", str(book), str(csv), "-nln", "医院"], check=True
    )
    fields = [{**NAME, "source": "名称"}, {**POP, "source": "人口"}]
    spec = {"path": str(book), "x": "经度", "y": "纬度", "crs": "EPSG:4326"}
    unnamed = layer("xlsx_unnamed", "Point", spec, fields)
    with pytest.raises(SourceError, match="2 sheets"):
        load_layer(unnamed, xiamen, engine, settings)
    definition = layer("xlsx_schools", "Point", {**spec, "layer": "学校"}, fields)
    assert load_layer(definition, xiamen, engine, settings).rows_loaded == 6
    rows = stored(engine, "xlsx_schools")
    assert set(rows.name) == set(districts.name) and rows.population.sum() == 5163970
    assert sorted(rows.x) == pytest.approx(sorted(points.x), abs=1e-9)


def test_formats_gdal_cannot_read_say_what_to_export(districts, tmp_path, init_city):
    """CASS drawings (DWG), MapGIS files and personal geodatabases are common in Chinese
    surveying and planning and unreadable here: the definition says what to export them as,
    and init-city notes them instead of passing over them."""
    with pytest.raises(ValueError, match="AutoCAD DWG .CASS drawings.: save it as DXF from CAD"):
        layer("plan", "MultiPolygon", {"path": "plan.dwg"}, [NAME])
    with pytest.raises(ValueError, match="MapGIS areas: export them to Shapefile from MapGIS"):
        layer("zones", "MultiPolygon", {"path": "zones.WP"}, [NAME])
    folder = tmp_path / "delivered"
    folder.mkdir()
    (folder / "plan.dwg").write_bytes(b"AC1027")
    (folder / "zones.wp").write_bytes(b"WMAP")
    (folder / "roads.wl").write_bytes(b"WMAP")
    with pytest.raises(AssertionError, match="no vector files to draft layers from"):
        init_city("nothing", folder)
    districts.to_file(folder / "districts.geojson", driver="GeoJSON")
    init_city("delivered", folder)
    city = (init_city.root / "delivered" / "city.toml").read_text(encoding="utf-8")
    assert "# skipped plan.dwg: cannot be read: AutoCAD DWG (CASS drawings): save it as DXF" in city
    assert "# skipped zones.wp: cannot be read: MapGIS areas" in city
    assert "# skipped roads.wl: cannot be read: MapGIS lines" in city
