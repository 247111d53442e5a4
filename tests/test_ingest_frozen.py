"""A load writes its rows frozen (COPY FREEZE): every page all-visible at once, so the first
reads after a load write nothing back and index-only scans work without waiting for VACUUM."""

from __future__ import annotations

import sqlalchemy as sa

from digitalcity.ingest import load_layer


def test_a_fresh_load_is_all_visible_at_once(loaded, catalog, engine, settings) -> None:  # noqa: ANN001
    blocks = catalog.layer("cambridge", "census_blocks_2000")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        report = load_layer(blocks, catalog.city("cambridge"), engine, settings, force=True)
        assert report.status == "loaded"
        pages, visible = conn.execute(
            sa.text(
                "SELECT relpages, relallvisible FROM pg_class "
                "WHERE oid = CAST('cambridge.census_blocks_2000' AS regclass)"
            )
        ).one()
    assert pages > 10
    assert visible == pages  # the swap's ANALYZE read the visibility map: nothing left to set
