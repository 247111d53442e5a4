"""A load leaves its tables all-visible: the layer table through COPY FREEZE, the EPSG:3857
tile copy through a VACUUM before the load commits. The first reads after a load then
write nothing back, and index-only scans work without waiting for autovacuum."""

from __future__ import annotations

import sqlalchemy as sa

from digitalcity.ingest import load_layer
from digitalcity.tiles.prepare import copy_table


def _pages(conn: sa.Connection, table: str) -> tuple[int, int]:
    pages, visible = conn.execute(
        sa.text("SELECT relpages, relallvisible FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": table},
    ).one()
    return int(pages), int(visible)


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
    """The tile copy, filled from the staging table beside its index builds (``LoadCopy``):
    after a load of several batches (6,117 street lights in batches of 2,000), it holds each
    of the layer's rows exactly once, with the layer's geometry in EPSG:3857."""
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
                    "count(*) FILTER (WHERE NOT ST_Equals(c.geom, ST_Transform(t.geom, 3857))), "
                    "(SELECT count(*) FROM cambridge.zz_copy_fill_test t2 WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {copy_table(lights, report.version)} c2 "
                    "WHERE c2.fid = t2.fid)) "
                    f"FROM {copy_table(lights, report.version)} c "
                    "JOIN cambridge.zz_copy_fill_test t ON t.fid = c.fid"
                )
            ).one()
    finally:
        with engine.begin() as conn:
            tables = conn.execute(
                sa.text(
                    "SELECT schemaname, tablename FROM pg_tables WHERE tablename LIKE :prefix"
                ),
                {"prefix": "%zz_copy_fill_test%"},
            ).all()
            for schema, table in tables:
                conn.exec_driver_sql(f'DROP TABLE "{schema}"."{table}"')
            conn.execute(
                sa.text("DELETE FROM digitalcity.layer_versions WHERE layer = 'zz_copy_fill_test'")
            )
    assert report.rows_loaded > 6_000 and report.rows_read > 3 * 2_000
    assert copied == distinct == report.rows_loaded
    assert mismatched == 0 and missing == 0
