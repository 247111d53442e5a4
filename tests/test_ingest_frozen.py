"""A load leaves its tables all-visible: the layer table and the EPSG:3857 tile copy through
COPY FREEZE (and, for a copy a row trigger wrote, a VACUUM before the load commits). The
first reads after a load then write nothing back, and index-only scans work without waiting
for autovacuum."""

from __future__ import annotations

import sqlalchemy as sa

from digitalcity.ingest import load_layer
from digitalcity.tiles.content import simplified_zooms
from digitalcity.tiles.prepare import copy_table, prepare_layer


def _pages(conn: sa.Connection, table: str) -> tuple[int, int]:
    pages, visible = conn.execute(
        sa.text("SELECT relpages, relallvisible FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": table},
    ).one()
    return int(pages), int(visible)


def _drop_test_layer(engine: sa.Engine, prefix: str) -> None:
    """Drop every table named after a test layer (its table, copies, history) and its versions."""
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text("SELECT schemaname, tablename FROM pg_tables WHERE tablename LIKE :like"),
            {"like": f"%{prefix}%"},
        ).all()
        for schema, table in tables:
            conn.exec_driver_sql(f'DROP TABLE "{schema}"."{table}"')
        conn.execute(
            sa.text("DELETE FROM digitalcity.layer_versions WHERE layer LIKE :like"),
            {"like": f"{prefix}%"},
        )


def test_a_fresh_load_is_all_visible_at_once(loaded, catalog, engine, settings) -> None:  # noqa: ANN001
    blocks = catalog.layer("cambridge", "census_blocks_2000")
    report = load_layer(blocks, catalog.city("cambridge"), engine, settings, force=True)
    assert report.status == "loaded"
    with engine.connect() as conn:
        pages, visible = _pages(conn, "cambridge.census_blocks_2000")
        copy_pages, copy_visible = _pages(conn, copy_table(blocks, report.version))
    assert pages > 10 and visible == pages  # the swap's ANALYZE read the visibility map
    assert copy_pages > 10 and copy_visible == copy_pages  # VACUUM's count


def test_the_tile_copy_holds_every_row_once(loaded, catalog, engine, settings) -> None:  # noqa: ANN001
    """The tile copy, written batch by batch beside the staging table (``LoadCopy``): after a
    load of several batches (6,117 street lights in batches of 2,000), it holds each
    of the layer's rows exactly once, with the layer's geometry in EPSG:3857: the loader's
    projection (``webmercator``) within a micrometre of ``ST_Transform``'s."""
    lights = catalog.layer("cambridge", "street_lights").model_copy(
        update={"id": "zz_copy_fill_test"}
    )
    city = catalog.city("cambridge")
    try:
        report = load_layer(lights, city, engine, settings, force=True)
        with engine.connect() as conn:
            copied, distinct, mismatched, missing = conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT c.fid), "  # noqa: S608 - test tables
                    "count(*) FILTER (WHERE ST_NPoints(c.geom) <> ST_NPoints(t.geom) OR "
                    "ST_HausdorffDistance(c.geom, ST_Transform(t.geom, 3857)) > 1e-6), "
                    "(SELECT count(*) FROM cambridge.zz_copy_fill_test t2 WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {copy_table(lights, report.version)} c2 "
                    "WHERE c2.fid = t2.fid)) "
                    f"FROM {copy_table(lights, report.version)} c "
                    "JOIN cambridge.zz_copy_fill_test t ON t.fid = c.fid"
                )
            ).one()
    finally:
        _drop_test_layer(engine, "zz_copy_fill_test")
    assert report.rows_loaded > 6_000 and report.rows_read > 3 * 2_000
    assert copied == distinct == report.rows_loaded
    assert mismatched == 0 and missing == 0


def test_the_load_copy_equals_a_copy_filled_from_the_table(
    loaded,
    catalog,
    engine,
    settings,  # noqa: ANN001
) -> None:
    """The copy a load writes batch by batch holds what a copy filled from the loaded table
    (``prepare_layer``, ``copy_fill.sql``) holds: every field byte for byte, in the table's
    type (the date field included); the EPSG:3857 geometry, projected by the loader
    (``webmercator``), and each zoom's simplified geometry (the parcels have two), made by
    the copy's row trigger from it, with the same points within a micrometre."""
    parcels = catalog.layer("cambridge", "parcels").model_copy(update={"id": "zz_copy_equal_test"})
    city = catalog.city("cambridge")
    geometries = ["geom", *(f"g{z}" for z in simplified_zooms(parcels))]
    assert len(geometries) >= 3
    fields = " - ".join(["to_jsonb({})", *(f"'{g}'" for g in geometries)])
    # the same number of points, each within a micrometre of its counterpart (the same path:
    # ring and index). ST_HausdorffDistance said the same in 19 s (it compares every point with
    # every other), this in 0.6 s.
    apart = " OR ".join(
        f"ST_NPoints(k.{g}) IS DISTINCT FROM ST_NPoints(f.{g}) OR EXISTS (SELECT 1 FROM "  # noqa: S608 - test tables
        f"ST_DumpPoints(k.{g}) a JOIN ST_DumpPoints(f.{g}) b USING (path) "
        "WHERE ST_Distance(a.geom, b.geom) > 1e-6)"
        for g in geometries
    )
    try:
        report = load_layer(parcels, city, engine, settings, force=True)
        copy = copy_table(parcels, report.version)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE cambridge.zz_copy_equal_kept AS TABLE {copy}")
            conn.exec_driver_sql(f"DROP TABLE {copy}")
        assert prepare_layer(engine, parcels, city, report.version)  # filled from the table
        with engine.connect() as conn:
            rows, differing, moved, dated = conn.execute(
                sa.text(
                    f"SELECT count(*), count(*) FILTER (WHERE {fields.format('k')} "  # noqa: S608 - test tables
                    f"IS DISTINCT FROM {fields.format('f')}), count(*) FILTER (WHERE {apart}), "
                    "count(k.sale_date) "
                    f"FROM cambridge.zz_copy_equal_kept k FULL JOIN {copy} f USING (fid)"
                )
            ).one()
    finally:
        _drop_test_layer(engine, "zz_copy_equal")
    assert rows == report.rows_loaded > 10_000
    assert moved == 0
    assert differing == 0 and dated > 1_000


def test_an_untriggered_copy_needs_no_vacuum(loaded, catalog, engine, settings) -> None:  # noqa: ANN001
    """Points projected by the loader go into their copy by COPY FREEZE alone (no trigger):
    every page is all-visible once the load's ANALYZE has counted them, and no VACUUM ran
    on the copy (it only scanned the GiST index)."""
    lights = catalog.layer("cambridge", "street_lights").model_copy(
        update={"id": "zz_frozen_points"}
    )
    assert not simplified_zooms(lights)
    try:
        report = load_layer(lights, catalog.city("cambridge"), engine, settings, force=True)
        copy = copy_table(lights, report.version)
        with engine.connect() as conn:
            pages, visible = _pages(conn, copy)
            vacuumed = conn.execute(
                sa.text(
                    "SELECT vacuum_count, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relid = CAST(:t AS regclass)"
                ),
                {"t": copy},
            ).one()
    finally:
        _drop_test_layer(engine, "zz_frozen_points")
    assert pages > 10 and visible == pages
    assert tuple(vacuumed) == (0, True)
