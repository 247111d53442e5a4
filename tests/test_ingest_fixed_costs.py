"""What a load pays once per process, not once per load. The pipeline's stages run on threads
kept for the process's later loads (``threads.stage_thread``): pyproj builds a transformation
anew in each thread that first uses it, and a thread per load paid that at every load. The
data is opened without GDAL's .prj lookup, which ``layer_info`` has made already. Xiamen
Island's zones (661 polygons, a shapefile in a Transverse Mercator of the bureau's own):
0.62 s a reload, now 0.2 s."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from digitalcity.errors import SourceError
from digitalcity.ingest import load_layer, loader
from digitalcity.ingest.job import LayerLoad
from digitalcity.ingest.pipeline import Pipeline
from digitalcity.ingest.readers import SourceReader
from digitalcity.ingest.threads import stage_thread
from tests.test_ingest_formats import layer as xiamen_layer


def test_loads_of_a_city_share_the_stage_threads(monkeypatch, catalog, engine, settings, loaded):
    threads: set[int] = set()
    check = LayerLoad.check

    def recorded(self, batch):  # noqa: ANN001, ANN202
        threads.add(threading.get_ident())
        return check(self, batch)

    monkeypatch.setattr(LayerLoad, "check", recorded)
    zones, city = catalog.layer("xiamen", "island_zones"), catalog.city("xiamen")
    before = threading.active_count()
    for _ in range(3):
        assert load_layer(zones, city, engine, settings, force=True).rows_loaded == 661
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert threading.active_count() <= before + 2  # no thread left behind per load


def test_a_failed_load_leaves_the_threads_working(catalog, engine, settings, tmp_path, loaded):
    path = tmp_path / "short.csv"
    path.write_text("id,x,y\n1,118.1,24.5\n2,118.1\n3,118.1,24.5,9\n")  # a row too long
    source = {"path": str(path), "x": "x", "y": "y", "crs": "EPSG:4326"}
    city = catalog.city("xiamen")
    with pytest.raises(SourceError, match="short.csv"):
        load_layer(xiamen_layer("broken_points", "Point", source, []), city, engine, settings)
    path.write_text("id,x,y\n1,118.1,24.5\n2,118.1,24.6\n")
    again = load_layer(xiamen_layer("broken_points", "Point", source, []), city, engine, settings)
    assert again.rows_loaded == 2


def _run_on_stage_thread(queue) -> None:  # noqa: ANN001
    queue.put(stage_thread("check").submit(threading.get_ident).result(timeout=20))


def test_a_forked_process_starts_its_own_threads() -> None:
    parent = stage_thread("check").submit(threading.get_ident).result()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run_on_stage_thread, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0  # a pool copied from the parent has no thread: it would hang
    assert isinstance(queue.get(timeout=5), int) and parent


def test_the_data_is_opened_without_the_crs_lookup_layer_info_makes(districts, tmp_path):
    """The loader takes a source's CRS from ``layer_info`` (GDAL's .prj lookup finds
    EPSG:4326) and opens the data with the lookup off: a bureau's own projection took it 0.14 s
    to give up on, at every opening. The option is GDAL's, process-wide: it is put back."""
    import pyogrio

    from digitalcity.catalog.model import SourceDef
    from digitalcity.catalog.ogr_layers import crs_left_unmatched
    from digitalcity.ingest.readers import SourceReader

    path = tmp_path / "districts.shp"
    districts.to_file(path)
    reader = SourceReader(SourceDef.model_validate({"path": str(path)}), tmp_path)
    try:
        assert reader.file_crs == "EPSG:4326"
        assert sum(len(batch) for batch in reader.batches(4000)) == len(districts)
    finally:
        reader.close()
    with crs_left_unmatched():
        assert pyogrio.read_info(path)["crs"].startswith("GEOGCS[")  # the .prj as written
    assert pyogrio.get_gdal_config_option("USE_OSR_FIND_MATCHES") is None
    assert pyogrio.read_info(path)["crs"] == "EPSG:4326"


def test_an_unchanged_load_does_not_wait_for_its_source(
    monkeypatch, catalog, engine, settings, loaded
):
    """The source is opened beside the fingerprint; a load whose inputs are unchanged answers
    without waiting for the opening (0.14 s for Xiamen Island's zones), and what the opening
    made is removed once it is done."""
    opened = threading.Event()
    closed: list[object] = []
    init, close = LayerLoad.__init__, SourceReader.close

    def slow_init(self, *args):  # noqa: ANN001, ANN202 - a source slow to open
        assert opened.wait(30)
        init(self, *args)

    def counted_close(self):  # noqa: ANN001, ANN202
        closed.append(self)
        close(self)

    monkeypatch.setattr(LayerLoad, "__init__", slow_init)
    monkeypatch.setattr(SourceReader, "close", counted_close)
    zones, city = catalog.layer("xiamen", "island_zones"), catalog.city("xiamen")
    opened.set()
    load_layer(zones, city, engine, settings)  # as the suite loaded it, or loaded now
    deadline = time.perf_counter() + 30
    while not closed and time.perf_counter() < deadline:  # unchanged: closed once opened
        time.sleep(0.01)
    opened.clear()
    closed.clear()
    started = time.perf_counter()
    report = load_layer(zones, city, engine, settings)
    assert report.status == "unchanged" and report.rows_loaded == 661
    assert time.perf_counter() - started < 10 and not closed  # the opening still waits
    opened.set()
    deadline = time.perf_counter() + 30
    while not closed and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert len(closed) == 1


def test_a_missing_source_is_named_whether_forced_or_not(catalog, engine, settings, tmp_path):
    source = {"path": str(tmp_path / "gone.csv"), "x": "x", "y": "y", "crs": "EPSG:4326"}
    for force in (False, True):
        with pytest.raises(SourceError, match="gone.csv"):
            load_layer(
                xiamen_layer("gone_points", "Point", source, []),
                catalog.city("xiamen"),
                engine,
                settings,
                force=force,
            )


def test_the_pipeline_lets_each_batch_go_once_copied(catalog, settings, loaded):
    """The stage threads outlive a load, so the load tracks its tasks; it must not hold the
    batches they made (a first version held every one: 423 MiB at the peak of a 246,900-road
    load instead of 75)."""
    import gc
    import weakref

    class Held:  # one batch as the pipeline hands it on, followed by a weak reference
        def __init__(self, made: object) -> None:
            self.made = made

    parcels = catalog.layer("cambridge", "parcels")
    job = LayerLoad(parcels, catalog.city("cambridge"), settings)
    finish = job.finish
    job.finish = lambda item: Held(finish(item))  # type: ignore[method-assign,assignment]
    alive: list[weakref.ref] = []
    try:
        for held in Pipeline(job, 2000):
            alive.append(weakref.ref(held))
            del held
            gc.collect()
            assert sum(ref() is not None for ref in alive) <= 2  # in hand, and the next one
        assert len(alive) >= 6
    finally:
        job.reader.close()


def test_only_sources_that_can_hold_several_layers_are_listed(monkeypatch, districts, tmp_path):
    """GDAL parses a GeoJSON file whole at each opening; listing its one layer before reading
    it cost Cambridge's 6,117 street lights 25-30 ms of a 0.26 s load."""
    from digitalcity.catalog.model import SourceDef
    from digitalcity.ingest import readers

    listed: list[object] = []
    spatial_layers = readers.spatial_layers

    def counted(path):  # noqa: ANN001, ANN202
        listed.append(path)
        return spatial_layers(path)

    monkeypatch.setattr(readers, "spatial_layers", counted)
    for name in ("districts.geojson", "districts.shp", "districts.fgb", "districts.gpkg"):
        districts.to_file(tmp_path / name)
        reader = readers.SourceReader(SourceDef.model_validate({"path": name}), tmp_path)
        try:
            assert sum(len(batch) for batch in reader.batches(4000)) == len(districts)
        finally:
            reader.close()
    assert listed == [tmp_path / "districts.gpkg"]  # a GeoPackage may hold tables beside it


def test_a_load_stopped_early_leaves_the_threads_reading_as_before(
    districts, catalog, engine, settings, tmp_path, loaded
):
    """pyogrio sets a shapefile's encoding for the reading thread alone (GDAL's
    SHAPE_ENCODING) and puts it back on the thread that closes the stream. A load stopped
    midway closed its stream from another thread, which left the kept check thread reading
    every later shapefile as GB18030; a UTF-8 shapefile's Chinese names then read wrong."""
    import geopandas as gpd
    import pandas as pd

    from digitalcity.errors import LoadError
    from tests.test_ingest_formats import NAME, POP

    many = gpd.GeoDataFrame(pd.concat([districts] * 1000, ignore_index=True), crs=districts.crs)
    many["code"] = [str(i) for i in range(len(many))]
    many.loc[3000, "code"] = "x3000"  # in the second batch: the load stops there
    (tmp_path / "gbk").mkdir()
    many.to_file(tmp_path / "gbk" / "many.shp", encoding="GBK")
    (tmp_path / "gbk" / "many.cpg").unlink()
    city = catalog.city("xiamen")
    stopped = xiamen_layer(
        "stopped",
        "MultiPolygon",
        {"path": str(tmp_path / "gbk" / "many.shp"), "id_field": "code"},
        [NAME],
    )
    with pytest.raises(LoadError, match="whole numbers"):
        load_layer(stopped, city, engine, settings)
    (tmp_path / "utf8").mkdir()
    districts.rename(columns={"name": "区名", "population": "人口"}).to_file(
        tmp_path / "utf8" / "names.shp", encoding="UTF-8"
    )
    fields = [{**NAME, "source": "区名"}, {**POP, "source": "人口"}]
    named = xiamen_layer(
        "utf8_names", "MultiPolygon", {"path": str(tmp_path / "utf8" / "names.shp")}, fields
    )
    assert load_layer(named, city, engine, settings).rows_loaded == len(districts)


def _counting_opens(monkeypatch) -> dict[str, int]:  # noqa: ANN001
    """Counts of GDAL's openings through pyogrio (``read_info``, ``open_arrow``) and of the
    streams closed, from here on."""
    import contextlib

    import pyogrio
    import pyogrio.raw

    counts = {"read_info": 0, "open_arrow": 0, "closed": 0}
    read_info, open_arrow = pyogrio.read_info, pyogrio.raw.open_arrow
    list_layers = pyogrio.list_layers

    def counted_info(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        counts["read_info"] += 1
        return read_info(*args, **kwargs)

    def counted_list(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        counts["list_layers"] = counts.get("list_layers", 0) + 1
        return list_layers(*args, **kwargs)

    @contextlib.contextmanager
    def counted_open(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        counts["open_arrow"] += 1
        try:
            with open_arrow(*args, **kwargs) as opened:
                yield opened
        finally:
            counts["closed"] += 1

    monkeypatch.setattr(pyogrio, "read_info", counted_info)
    monkeypatch.setattr(pyogrio, "list_layers", counted_list)
    monkeypatch.setattr(pyogrio.raw, "open_arrow", counted_open)
    return counts


def test_a_geojson_file_is_parsed_once(monkeypatch, districts, tmp_path):
    """GDAL parses a GeoJSON file whole when it opens it: inspected by ``read_info``, then
    opened to be read, a 32 MB file of 48,600 buildings was parsed twice (0.40 s each time of
    its 1.3 s load). The stream is opened once, at inspection, and gathered into the batches
    asked for; a GeoPackage is still inspected, then opened."""
    import geopandas as gpd
    import pandas as pd

    from digitalcity.catalog.model import SourceDef
    from digitalcity.ingest.readers import SourceReader

    # the districts' outlines simplified (about 0.01 degrees): the test counts opens and
    # batches, which the vertices do not change (their 2,301 points made it 10 s; now 0.7 s)
    outlines = districts.assign(geometry=districts.geometry.simplify(0.01))
    many = gpd.GeoDataFrame(pd.concat([outlines] * 750, ignore_index=True), crs=districts.crs)
    many["seq"] = range(len(many))  # 4,500 rows: the stream's batches are of 2,000
    many.to_file(tmp_path / "many.geojson")
    many.to_file(tmp_path / "many.gpkg")
    counts = _counting_opens(monkeypatch)
    for rows, sizes in ((4000, [4000, 500]), (700, [700] * 6 + [300]), (2000, [2000] * 2 + [500])):
        reader = SourceReader(SourceDef.model_validate({"path": "many.geojson"}), tmp_path)
        try:
            assert reader.file_crs == "EPSG:4326" and "seq" in reader.columns
            batches = list(reader.batches(rows))
        finally:
            reader.close()
        assert [len(b) for b in batches] == sizes
        seq = pd.concat([b.attributes.series("seq") for b in batches], ignore_index=True)
        assert seq.astype(int).tolist() == list(range(len(many)))
        assert [b.offset for b in batches] == [rows * n for n in range(len(sizes))]
    assert counts == {"read_info": 0, "open_arrow": 3, "closed": 3}
    reader = SourceReader(SourceDef.model_validate({"path": "many.gpkg"}), tmp_path)
    try:
        assert sum(len(b) for b in reader.batches(4000)) == len(many)
    finally:
        reader.close()
    assert counts == {"read_info": 1, "open_arrow": 4, "closed": 4, "list_layers": 1}


def test_a_kml_file_of_one_layer_is_opened_once_and_not_listed(monkeypatch, districts, tmp_path):
    """KML too is parsed whole at each opening (48,600 buildings in 31 MB: 0.5-0.6 s each
    time), and may hold several layers. Opened without naming a layer, pyogrio reads the
    first and warns when there are others: a file of one layer is opened once and read,
    as ogr2ogr reads it (it was listed, then opened: 2.06-2.28 -> 1.43-1.65 s a load)."""
    import geopandas as gpd
    import pandas as pd

    from digitalcity.catalog.model import SourceDef
    from digitalcity.ingest.readers import SourceReader

    many = gpd.GeoDataFrame(pd.concat([districts] * 500, ignore_index=True), crs=districts.crs)
    many["seq"] = range(len(many))
    many.to_file(tmp_path / "many.kml", driver="KML")
    counts = _counting_opens(monkeypatch)
    reader = SourceReader(SourceDef.model_validate({"path": "many.kml"}), tmp_path)
    try:
        assert reader.file_crs == "EPSG:4326" and "seq" in reader.columns
        batches = list(reader.batches(2500))
    finally:
        reader.close()
    assert [len(b) for b in batches] == [2500, 500]
    seq = pd.concat([b.attributes.series("seq") for b in batches], ignore_index=True)
    assert seq.astype(int).tolist() == list(range(len(many)))
    assert counts == {"read_info": 0, "open_arrow": 1, "closed": 1}


def _read_batches(path: str, root, rows: int) -> list:  # noqa: ANN001
    """Every batch of ``rows`` rows of the source file ``path`` under ``root``, its reader
    closed after."""
    from digitalcity.catalog.model import SourceDef
    from digitalcity.ingest.readers import SourceReader

    reader = SourceReader(SourceDef.model_validate({"path": path}), root)
    try:
        return list(reader.batches(rows))
    finally:
        reader.close()


_TWO_FOLDERS = (
    '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
    "<Document><Folder><name>notes</name><Placemark><name>n1</name></Placemark>"
    "<Placemark><name>n2</name></Placemark></Folder>"
    "<Folder><name>points</name><Placemark><name>p1</name>"
    "<Point><coordinates>118.1,24.5</coordinates></Point></Placemark></Folder>"
    "</Document></kml>"
)


def test_a_kml_file_of_several_layers_is_listed_after_it_is_opened(monkeypatch, tmp_path):
    """When pyogrio warns that the KML file it opened holds other layers, the stream is
    closed and the file listed: several layers with geometry (GDAL gives every KML folder
    one) are refused, naming them, rather than the first one loaded."""
    from digitalcity.errors import SourceError

    (tmp_path / "two.kml").write_text(_TWO_FOLDERS)
    counts = _counting_opens(monkeypatch)
    with pytest.raises(SourceError, match=r"2 layers with geometry \(notes, points\)"):
        _read_batches("two.kml", tmp_path, 100)
    assert counts == {"read_info": 0, "open_arrow": 1, "closed": 1, "list_layers": 1}


def test_a_broken_kmz_file_is_a_source_error(tmp_path):
    """A KMZ file whose zip directory is cut short, or that is not a zip file at all, is
    refused as GDAL refuses it, in one line."""
    from digitalcity.catalog.model import SourceDef
    from digitalcity.errors import SourceError
    from digitalcity.ingest.readers import SourceReader

    (tmp_path / "cut.kmz").write_bytes(b"PK\x05\x06 a zip directory cut short")
    (tmp_path / "text.kmz").write_text("not a zip file")
    for name in ("cut.kmz", "text.kmz"):
        with pytest.raises(SourceError, match=f"cannot read {name}"):
            SourceReader(SourceDef.model_validate({"path": name}), tmp_path)


def test_a_kml_layer_other_than_the_first_is_opened_after_the_listing(monkeypatch, tmp_path):
    """When the listing picks a layer other than the one opened first (the one layer with
    geometry: as a driver may list KML folders), that stream is closed and the layer picked
    is opened and read."""
    import contextlib

    import pyogrio.raw

    from digitalcity.ingest import readers

    (tmp_path / "two.kml").write_text(_TWO_FOLDERS)
    # GDAL lists both KML folders with an unknown geometry type: this listing leaves the
    # first without one
    monkeypatch.setattr(readers, "spatial_layers", lambda path: (["notes", "points"], ["points"]))
    events: list[str] = []
    open_arrow = pyogrio.raw.open_arrow

    @contextlib.contextmanager
    def opened(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        events.append(f"open {kwargs.get('layer')}")
        try:
            with open_arrow(*args, **kwargs) as stream:
                yield stream
        finally:
            events.append(f"closed {kwargs.get('layer')}")

    monkeypatch.setattr(pyogrio.raw, "open_arrow", opened)
    batches = _read_batches("two.kml", tmp_path, 100)
    assert [name for b in batches for name in b.attributes.series("Name")] == ["p1"]
    assert events == ["open None", "closed None", "open points", "closed points"]


def test_a_geojson_stream_opened_and_not_read_is_closed(
    monkeypatch, catalog, engine, settings, loaded
):
    """A load that finds its inputs unchanged does not read the stream its inspection opened:
    the stream is closed all the same (with what opening the source made)."""
    hydrants, city = catalog.layer("cambridge", "hydrants"), catalog.city("cambridge")
    assert load_layer(hydrants, city, engine, settings, force=True).rows_loaded == 1960
    counts = _counting_opens(monkeypatch)
    assert load_layer(hydrants, city, engine, settings).status == "unchanged"
    deadline = time.monotonic() + 10
    while counts["closed"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert counts == {"read_info": 0, "open_arrow": 1, "closed": 1}
    assert load_layer(hydrants, city, engine, settings, force=True).rows_loaded == 1960
    assert counts == {"read_info": 0, "open_arrow": 2, "closed": 2}


def test_the_first_batch_is_checked_while_the_load_gets_ready(
    monkeypatch, catalog, engine, settings, loaded
):
    """The pipeline starts once the source is open: its first batch is read and checked
    while the load asks how to write its tile copy, takes its lock and creates its tables
    (a load of 24,000 SYNTHETIC land-use polygons in a new process spent 60-80 ms there
    before its first batch was read). The tile copy's table is created on the copy's own
    thread, and the question asked on a thread beside the opening."""
    from digitalcity.tiles.prepare import LoadCopy

    checked = threading.Event()
    seen: dict[str, object] = {}
    check, create_table = LayerLoad.check, loader.schema.create_layer_table
    create_copy, projects = LoadCopy.create, loader.projects_as_lonlat

    def noted_check(self, batch):  # noqa: ANN001, ANN202
        checked.set()
        return check(self, batch)

    def waiting_create_table(conn, table):  # noqa: ANN001, ANN202
        seen["checked before the table"] = checked.wait(10)
        return create_table(conn, table)

    def noted_create_copy(self, conn):  # noqa: ANN001, ANN202
        seen["copy created on"] = threading.current_thread().name
        return create_copy(self, conn)

    def noted_projects(*args):  # noqa: ANN001, ANN202
        seen["asked on"] = threading.current_thread().name
        return projects(*args)

    monkeypatch.setattr(LayerLoad, "check", noted_check)
    monkeypatch.setattr(loader.schema, "create_layer_table", waiting_create_table)
    monkeypatch.setattr(LoadCopy, "create", noted_create_copy)
    monkeypatch.setattr(loader, "projects_as_lonlat", noted_projects)
    zones, city = catalog.layer("xiamen", "island_zones"), catalog.city("xiamen")
    assert load_layer(zones, city, engine, settings, force=True).rows_loaded == 661
    assert seen["checked before the table"] is True
    assert str(seen["copy created on"]).startswith("ingest-tile-copy")
    assert seen["asked on"] != threading.main_thread().name


def test_a_tile_copy_that_cannot_be_created_fails_the_load_and_keeps_the_version(
    monkeypatch, catalog, engine, settings, loaded
):
    """Its creation, on the copy's thread, fails the load at its first batch: the staging
    table and the copy are gone, and the current version stays."""
    import sqlalchemy as sa

    from digitalcity.tiles.prepare import LoadCopy

    def refused(self, conn):  # noqa: ANN001, ANN202
        raise RuntimeError("no room for the tile copy")

    zones, city = catalog.layer("xiamen", "island_zones"), catalog.city("xiamen")
    before = load_layer(zones, city, engine, settings)  # as the suite loaded it, or loaded now
    monkeypatch.setattr(LoadCopy, "create", refused)
    with pytest.raises(RuntimeError, match="no room for the tile copy"):
        load_layer(zones, city, engine, settings, force=True)
    with engine.connect() as conn:
        tables = (
            conn.execute(
                sa.text(
                    "SELECT schemaname || '.' || tablename FROM pg_tables "
                    "WHERE tablename LIKE :staging OR tablename LIKE :copy"
                ),
                {"staging": "%island_zones%staging%", "copy": "%island_zones__s%"},
            )
            .scalars()
            .all()
        )
        current = loader.current_version(conn, zones)
    assert tables == []
    assert current is not None and current.version == before.version


def test_a_pipeline_closed_before_it_is_read_closes_its_source(catalog, settings, loaded):
    """The pipeline reads from construction on; closed unread (a load that failed before its
    first COPY), it ends its tasks and closes the source on the thread that read it."""
    closed_on: list[str] = []
    job = LayerLoad(
        catalog.layer("xiamen", "island_zones"), catalog.city("xiamen"), settings
    )
    batches = job.reader.batches

    def noted_batches(rows):  # noqa: ANN001, ANN202
        try:
            yield from batches(rows)
        finally:
            closed_on.append(threading.current_thread().name)

    checked = threading.Event()
    check = job.check

    def noted_check(batch):  # noqa: ANN001, ANN202
        checked.set()
        return check(batch)

    job.reader.batches = noted_batches  # type: ignore[method-assign]
    job.check = noted_check  # type: ignore[method-assign]
    try:
        pipeline = Pipeline(job, 200)
        assert checked.wait(10)  # under way
        pipeline.close()
        assert len(closed_on) == 1 and closed_on[0].startswith("ingest-check")
        assert list(pipeline) == []
        pipeline.close()  # twice: once
        assert len(closed_on) == 1
    finally:
        job.reader.close()
