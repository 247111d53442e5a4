"""Change between two versions of a layer: a test-only copy of the zoning districts is loaded
twice through the project's loader (the second time from an edited source), then compared
with geopandas on the two source files. The copy is dropped afterwards."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
import test_analysis_sources as src
from shapely import affinity

from digitalcity.analysis import InvalidParameter, area_change_by_class, layer_changes
from digitalcity.catalog import FieldDef, Titles
from digitalcity.city import City
from digitalcity.db import versions
from digitalcity.errors import NotFound
from digitalcity.history.loads import record_load
from digitalcity.ingest.loader import load_layer

LAYER = "zz_analysis_change_test"
SINGLE = "zz_analysis_change_single"  # loaded once: no earlier version to compare with
NEW_SQUARE = shapely.box(-71.1050, 42.3790, -71.1040, 42.3797)  # lon/lat, inside Cambridge


def _edit(features: list[dict]) -> list[dict]:
    """Rezone feature 5 to OS, grow feature 10 by 2 %, drop 261 and add a new OS square."""
    out = []
    for f in features:
        fid = f["properties"]["ID"]
        if fid == 261:
            continue
        f = json.loads(json.dumps(f))
        if fid == 5:
            f["properties"]["ZONE_TYPE"] = "OS" if f["properties"]["ZONE_TYPE"] != "OS" else "C-1"
        if fid == 10:
            shape = shapely.geometry.shape(f["geometry"])
            f["geometry"] = affinity.scale(shape, 1.02, 1.02, origin="centroid").__geo_interface__
        out.append(f)
    out.append(
        {
            "type": "Feature",
            "properties": {"ID": 1000, "ZONE_TYPE": "OS"},
            "geometry": NEW_SQUARE.__geo_interface__,
        }
    )
    return out


@pytest.fixture(scope="module")
def versioned(loaded, catalog, engine, settings, tmp_path_factory):
    base = catalog.layer("cambridge", "zoning_districts")
    data = json.loads((src.CAMBRIDGE / "CDD_ZoningDistricts.geojson").read_text())
    for i, f in enumerate(data["features"], start=1):
        f["properties"]["ID"] = i
    folder = tmp_path_factory.mktemp("change")
    paths = []
    for name, features in (("v1", data["features"]), ("v2", _edit(data["features"]))):
        path = folder / f"{name}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        paths.append(path)
    definitions = [
        base.model_copy(
            update={
                "id": LAYER,
                "source": base.source.model_copy(update={"path": str(p), "id_field": "ID"}),
            }
        )
        for p in paths
    ]
    # the second version's definition gains a field (ZCODE): only the fields both versions
    # have are compared
    zcode = FieldDef(
        name="zcode", type="integer", source="ZCODE", title=Titles(zh="区码", en="Zone number")
    )
    definitions[1] = definitions[1].model_copy(update={"fields": (*base.fields, zcode)})
    single = definitions[0].model_copy(update={"id": SINGLE})
    city_def = catalog.city("cambridge")
    _drop_test_layers(engine)  # left over from an interrupted run
    for definition in (*definitions, single):
        load_layer(definition, city_def, engine, settings, force=True)
    city = City(
        catalog.with_layer(definitions[1]).with_layer(single), city_def, engine, "land_bureau"
    )
    yield city, paths
    _drop_test_layers(engine)


def _drop_test_layers(engine) -> None:
    with engine.begin() as conn:
        for layer in (LAYER, SINGLE):
            params = {"layer": layer}
            tables = conn.execute(
                sa.text(
                    "SELECT table_name FROM digitalcity.layer_versions "
                    "WHERE city = 'cambridge' AND layer = :layer AND NOT dropped"
                ),
                params,
            ).scalars()
            for table in list(tables):
                sa.Table(table, sa.MetaData(), schema="cambridge").drop(conn, checkfirst=True)
            conn.execute(
                sa.text(
                    "DELETE FROM digitalcity.layer_versions "
                    "WHERE city = 'cambridge' AND layer = :layer"
                ),
                params,
            )


def test_added_removed_and_changed_features(versioned):
    city, _ = versioned
    result = layer_changes(city, LAYER)
    frame = result.frame.set_index("fid")
    assert result.summary == {"added": 1, "removed": 1, "changed": 2}
    assert frame.loc[1000, "change"] == "added"
    assert frame.loc[261, "change"] == "removed"
    assert frame.loc[5, "change"] == "changed" and "zone_code" in frame.loc[5, "changed_fields"]
    assert not frame.loc[5, "geometry_changed"]
    assert frame.loc[10, "geometry_changed"] and list(frame.loc[10, "changed_fields"]) == []
    assert frame.loc[10, "area_after_m2"] / frame.loc[10, "area_before_m2"] == pytest.approx(
        1.02**2, rel=1e-3
    )
    assert result.provenance["compared"]["from_version"] == 1
    assert result.provenance["compared"]["to_version"] == 2
    assert "zone_code" in result.provenance["compared"]["fields"]
    assert "zcode" not in result.provenance["compared"]["fields"]
    assert result.crs == "EPSG:4326"
    assert json.loads(result.to_json())["data"]["type"] == "FeatureCollection"


def test_area_change_by_class_matches_geopandas(versioned):
    city, (old_path, new_path) = versioned
    result = area_change_by_class(city, LAYER)
    ours = result.frame.set_index("class")
    before, after = (gpd.read_file(p).to_crs(src.LOCAL) for p in (old_path, new_path))
    theirs = (
        after.geometry.area.groupby(after["ZONE_TYPE"])
        .sum()
        .sub(before.geometry.area.groupby(before["ZONE_TYPE"]).sum(), fill_value=0.0)
    )
    for zone, change in theirs.items():
        assert ours.loc[zone, "area_change_m2"] == pytest.approx(change, rel=1e-6, abs=0.5), zone
    assert ours["count_change"].sum() == 0  # one removed, one added
    assert result.summary["area_after_m2"] - result.summary["area_before_m2"] == pytest.approx(
        theirs.sum(), rel=1e-6
    )
    assert abs(ours.loc["OS", "area_change_m2"]) > 0


def test_version_errors(versioned, catalog, engine):
    city, _ = versioned
    with pytest.raises(InvalidParameter, match="same version"):
        layer_changes(city, LAYER, from_version=2)
    with pytest.raises(NotFound, match="not kept"):
        layer_changes(city, LAYER, from_version=7)
    with pytest.raises(InvalidParameter, match="no earlier version"):
        layer_changes(city, SINGLE)
    with pytest.raises(InvalidParameter, match="by="):
        area_change_by_class(src.city(catalog, engine), "hydrants")


RELOADED = "zz_history_reload_test"


def test_a_reload_records_exactly_what_changed(versioned, catalog, engine, settings):
    """Two loads of one definition (the columns unchanged, so rows are compared field by
    field): the history closes the versions of the rezoned (5), grown (10) and dropped (261)
    features and nothing else; row metadata moves to the second load for 5, 10 and the new
    1000 only, and 261's is gone."""
    _, (old_path, new_path) = versioned
    base = catalog.layer("cambridge", "zoning_districts")
    city_def = catalog.city("cambridge")
    changesets = []
    try:
        for path in (old_path, new_path):
            source = base.source.model_copy(update={"path": str(path), "id_field": "ID"})
            layer = base.model_copy(update={"id": RELOADED, "source": source})
            load_layer(layer, city_def, engine, settings, force=True)
            with engine.connect() as conn:
                changesets.append(
                    conn.execute(
                        sa.text(f"SELECT max(changeset) FROM cambridge.{RELOADED}__rowmeta")  # noqa: S608
                    ).scalar_one()
                )
        with engine.connect() as conn:
            closed = conn.execute(
                sa.text(
                    f"SELECT fid, op, changeset FROM cambridge.{RELOADED}__history ORDER BY fid"  # noqa: S608
                )
            ).all()
            moved = (
                conn.execute(
                    sa.text(
                        f"SELECT fid FROM cambridge.{RELOADED}__rowmeta "  # noqa: S608
                        "WHERE changeset = :second ORDER BY fid"
                    ),
                    {"second": changesets[1]},
                )
                .scalars()
                .all()
            )
            metadata = conn.execute(
                sa.text(f"SELECT count(*), bool_or(fid = 261) FROM cambridge.{RELOADED}__rowmeta")  # noqa: S608
            ).one()
            rows = conn.execute(sa.text(f"SELECT count(*) FROM cambridge.{RELOADED}")).scalar()  # noqa: S608
    finally:
        _drop_reloaded(engine, RELOADED)
    assert changesets[1] > changesets[0]
    assert [tuple(r) for r in closed] == [
        (5, "update", changesets[1]),
        (10, "update", changesets[1]),
        (261, "delete", changesets[1]),
    ]
    assert moved == [5, 10, 1000]
    assert tuple(metadata) == (rows, False)


def _drop_reloaded(engine, layer_id: str) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        for table in (
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'cambridge' "
                    "AND tablename LIKE :prefix"
                ),
                {"prefix": f"{layer_id}%"},
            )
            .scalars()
            .all()
        ):
            conn.exec_driver_sql(f'DROP TABLE cambridge."{table}"')
        conn.execute(
            sa.text("DELETE FROM digitalcity.layer_versions WHERE layer = :layer"),
            {"layer": layer_id},
        )


def _zoning_copy(catalog, layer_id: str, path) -> object:  # noqa: ANN001
    """The zoning districts' definition as the test layer ``layer_id``, reading ``path``
    (its features numbered in ``ID``)."""
    base = catalog.layer("cambridge", "zoning_districts")
    source = base.source.model_copy(update={"path": str(path), "id_field": "ID"})
    return base.model_copy(update={"id": layer_id, "source": source})


LOCKED_OUT = "zz_history_lock_test"


def test_readers_go_on_while_a_reload_is_recorded(
    versioned, catalog, engine, settings, monkeypatch
):  # noqa: ANN001
    """While a reload compares its rows with the current ones for the history, the current
    table is read as before (a page of the API does not wait for the comparison), and it
    cannot be edited: a row lock on it waits until the new table has replaced it. Observed
    from another connection, in the middle of the second load's comparison."""
    _, (old_path, new_path) = versioned
    city_def = catalog.city("cambridge")
    seen: dict[str, object] = {}
    table = f"cambridge.{LOCKED_OUT}"

    def observed(*args):  # noqa: ANN002, ANN202
        changeset = record_load(*args)
        with engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '3s'")
            seen["rows"] = other.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
            other.exec_driver_sql("SET lock_timeout = '200ms'")
            try:
                other.exec_driver_sql(f"SELECT fid FROM {table} LIMIT 1 FOR UPDATE")  # noqa: S608
                seen["edit"] = "not blocked"
            except sa.exc.OperationalError as exc:
                seen["edit"] = type(exc.orig).__name__
            other.rollback()
        return changeset

    try:
        for n, path in enumerate((old_path, new_path)):
            if n == 1:
                monkeypatch.setattr(versions, "record_load", observed)
            load_layer(
                _zoning_copy(catalog, LOCKED_OUT, path), city_def, engine, settings, force=True
            )
        with engine.connect() as conn:
            now = conn.exec_driver_sql(
                f"SELECT count(*), bool_or(fid = 261), bool_or(fid = 1000) FROM {table}"  # noqa: S608
            ).one()
    finally:
        _drop_reloaded(engine, LOCKED_OUT)
    first = len(json.loads(old_path.read_text())["features"])
    assert seen == {"rows": first, "edit": "LockNotAvailable"}
    assert tuple(now) == (first, False, True)  # 261 dropped, 1000 added


STALLED = "zz_history_long_reader_test"


def _lock_requested(engine, table: str) -> bool:  # noqa: ANN001
    """Whether a lock on ``table`` is being waited for (not granted yet)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE relation = to_regclass(:table) AND NOT granted"
                ),
                {"table": table},
            ).scalar_one()
        )


def test_a_long_reader_delays_a_reload_not_the_other_readers(versioned, catalog, engine, settings):  # noqa: ANN001
    """A query reading the layer for long (an export) holds its table: the reload's swap
    waits for it, asking for its lock in short tries, so the other readers of the layer go
    on meanwhile (a request that waited queued every later reader behind it). Once the long
    query ends, the reload completes."""
    import threading
    import time

    _, (old_path, new_path) = versioned
    city_def = catalog.city("cambridge")
    table = f"cambridge.{STALLED}"

    outcome: dict[str, object] = {}

    def reload() -> None:
        try:
            outcome["report"] = load_layer(
                _zoning_copy(catalog, STALLED, new_path), city_def, engine, settings, force=True
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the test's thread
            outcome["error"] = exc

    try:
        load_layer(_zoning_copy(catalog, STALLED, old_path), city_def, engine, settings, force=True)
        first = len(json.loads(old_path.read_text())["features"])
        with engine.connect() as long:
            assert long.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == first  # noqa: S608
            thread = threading.Thread(target=reload)
            thread.start()
            deadline = time.monotonic() + 60
            while not _lock_requested(engine, table) and time.monotonic() < deadline:
                time.sleep(0.01)
            with engine.connect() as other:
                other.exec_driver_sql("SET lock_timeout = '1s'")
                for _ in range(10):  # two seconds of reads while the reload waits
                    counted = other.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
                    assert counted == first
                    other.rollback()
                    time.sleep(0.2)
            assert thread.is_alive() and not outcome  # the swap still waits for the long query
            long.rollback()
        thread.join(60)
        with engine.connect() as conn:
            now = conn.exec_driver_sql(
                f"SELECT count(*), bool_or(fid = 1000) FROM {table}"  # noqa: S608
            ).one()
    finally:
        _drop_reloaded(engine, STALLED)
    assert "error" not in outcome, outcome
    assert tuple(now) == (first, True)  # 261 dropped, 1000 added


def test_a_reload_gives_up_behind_a_query_that_does_not_end(
    versioned, catalog, engine, settings, monkeypatch
):  # noqa: ANN001
    """A swap that cannot get its lock within ``SWAP_WAIT_S`` fails the load with a message
    that says why, and the previous version stays current and readable."""
    from digitalcity.errors import LoadError

    _, (old_path, new_path) = versioned
    city_def = catalog.city("cambridge")
    table = f"cambridge.{STALLED}"

    monkeypatch.setattr(versions, "SWAP_WAIT_S", 0.5)
    try:
        first = load_layer(
            _zoning_copy(catalog, STALLED, old_path), city_def, engine, settings, force=True
        )
        with engine.connect() as long:
            long.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
            with pytest.raises(
                LoadError, match="read by a query for more than .*previous version kept"
            ):
                load_layer(
                    _zoning_copy(catalog, STALLED, new_path), city_def, engine, settings, force=True
                )
            long.rollback()
        with engine.connect() as conn:
            current = conn.execute(
                sa.text(
                    "SELECT version FROM digitalcity.layer_versions "
                    "WHERE layer = :layer AND is_current"
                ),
                {"layer": STALLED},
            ).scalar_one()
            rows = conn.exec_driver_sql(f"SELECT count(*), bool_or(fid = 261) FROM {table}").one()  # noqa: S608
    finally:
        _drop_reloaded(engine, STALLED)
    assert current == first.version
    assert tuple(rows) == (len(json.loads(old_path.read_text())["features"]), True)


RETIRED = "zz_history_retired_reader_test"


def _exists(engine, table: str) -> bool:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()


def _dropped_versions(engine, layer_id: str) -> set[int]:  # noqa: ANN001
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT version FROM digitalcity.layer_versions "
                    "WHERE city = 'cambridge' AND layer = :layer AND dropped"
                ),
                {"layer": layer_id},
            ).scalars()
        )


def test_a_reader_of_an_expired_version_does_not_hold_up_the_swap(
    versioned, catalog, engine, settings
):  # noqa: ANN001
    """The versions past those kept, and the tile copies of earlier versions, are dropped
    after the swap has committed, each drop waiting at most ``RETIRE_LOCK_TIMEOUT_MS`` for
    a query still reading it. Dropped in the swap's transaction, they waited for such a
    query without end, holding the new table's locks, and the load with them. A table
    still read is left as it is, not marked dropped, and the layer's next load drops it."""
    import threading

    from digitalcity.tiles.prepare import copy_table

    _, (old_path, _) = versioned
    city_def = catalog.city("cambridge")
    definition = _zoning_copy(catalog, RETIRED, old_path)
    outcome: dict[str, object] = {}

    def reload() -> None:
        try:
            outcome["report"] = load_layer(definition, city_def, engine, settings, force=True)
        except BaseException as exc:  # noqa: BLE001 - reported to the test's thread
            outcome["error"] = exc

    _forget(engine, RETIRED)  # left by an interrupted run
    try:
        first = load_layer(definition, city_def, engine, settings, force=True)
        second = load_layer(definition, city_def, engine, settings, force=True)
        expired = f"cambridge.{RETIRED}__v{first.version}"
        old_copy = copy_table(definition, second.version)
        assert _exists(engine, expired) and _exists(engine, old_copy)
        with engine.connect() as reader:  # reads both until its transaction ends
            reader.exec_driver_sql(f"SELECT count(*) FROM {expired}")  # noqa: S608
            reader.exec_driver_sql(f"SELECT count(*) FROM {old_copy}")  # noqa: S608
            loading = threading.Thread(target=reload)
            loading.start()
            loading.join(20)  # the drops give up after RETIRE_LOCK_TIMEOUT_MS (1 s)
            finished = not loading.is_alive()
            reader.rollback()
        loading.join(60)
        assert finished, "the load waited for a reader of an expired version"
        assert "error" not in outcome, outcome
        third = outcome["report"]
        assert third.version == second.version + 1  # type: ignore[attr-defined]
        assert _exists(engine, expired) and _exists(engine, old_copy)
        assert first.version not in _dropped_versions(engine, RETIRED)

        fourth = load_layer(definition, city_def, engine, settings, force=True)
        assert not _exists(engine, expired) and not _exists(engine, old_copy)
        assert _dropped_versions(engine, RETIRED) == {first.version, second.version}
        with engine.connect() as conn:
            assert _tile_copies(conn, RETIRED) == {f"cambridge__{RETIRED}__v{fourth.version}"}
    finally:
        _forget(engine, RETIRED)


def _forget(engine, layer_id: str) -> None:  # noqa: ANN001
    """Drop the test layer's tables, versions and tile copies."""
    from digitalcity.tiles.prepare import SCHEMA

    _drop_reloaded(engine, layer_id)
    with engine.begin() as conn:
        for name in _tile_copies(conn, layer_id):
            conn.exec_driver_sql(f'DROP TABLE {SCHEMA}."{name}"')


def _tile_copies(conn, layer_id: str) -> set[str]:  # noqa: ANN001
    from digitalcity.tiles.prepare import SCHEMA

    return set(
        conn.execute(
            sa.text(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = :schema AND tablename LIKE :prefix"
            ),
            {"schema": SCHEMA, "prefix": f"cambridge__{layer_id}__%"},
        ).scalars()
    )
