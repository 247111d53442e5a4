"""A load leaves its tables all-visible: the layer table through COPY FREEZE, the EPSG:3857
tile copy through a VACUUM once the load has committed. The first reads after a load then
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
