"""The fast paths of item pages: statements compiled once per request shape, rows streamed
from the driver, and pooled connections the server closed replaced without a ping."""

from __future__ import annotations

import time
import warnings

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from digitalcity.api.app import create_app
from digitalcity.query import parse_text
from digitalcity.query.cql2_key import filter_key
from digitalcity.query.items import ItemsQuery

ITEMS = "/collections/cambridge__parcels/items"
BOXES = [(-71.12, 42.37, -71.11, 42.375), (-71.10, 42.36, -71.09, 42.365)]


@pytest.fixture(scope="module")
def own_client(loaded, settings):
    with TestClient(create_app(settings.model_copy(update={"items_cache_mb": 0}))) as c:
        yield c


def _query(catalog, **kw) -> ItemsQuery:
    layer, city = catalog.layer("cambridge", "parcels"), catalog.city("cambridge")
    return ItemsQuery(layer=layer, city=city, role="anonymous", **kw)


def test_same_shape_same_text_own_values(catalog, engine) -> None:
    first = _query(catalog, bbox=BOXES[0], limit=5, offset=2).page_sql(
        engine.dialect, extra_row=True
    )
    second = _query(catalog, bbox=BOXES[1], limit=7, offset=3).page_sql(engine.dialect)
    assert first[0] == second[0]
    assert first[1]["bbox_minx"] == BOXES[0][0] and second[1]["bbox_minx"] == BOXES[1][0]
    assert (first[1]["page_limit"], second[1]["page_limit"]) == (6, 7)
    assert (first[1]["page_offset"], second[1]["page_offset"]) == (2, 3)
    # a first page lists null properties (clients take the layer's fields from it)
    opening = _query(catalog, bbox=BOXES[0], limit=5).page_sql(engine.dialect, extra_row=True)
    assert opening[0] != first[0]
    assert "-71.12" not in first[0] and "-71.1" not in second[0]  # values are bound, not text
    filtered = _query(catalog, filter=parse_text("stories > 2")).page_sql(engine.dialect)
    assert filtered[0] != first[0]


def test_a_filter_is_compiled_once_per_shape_with_its_own_literals(catalog, engine) -> None:
    def sql(text: str, box: tuple[float, ...]) -> tuple[str, dict]:
        query = _query(catalog, bbox=box, limit=5, filter=parse_text(text))
        return query.page_sql(engine.dialect)

    first, panned = sql("year_built < 1900", BOXES[0]), sql("year_built < 1900", BOXES[1])
    assert panned[0] is first[0]  # the cached text: compiled once
    assert panned[1]["bbox_minx"] == BOXES[1][0]
    other = sql("year_built < 1950", BOXES[0])
    assert 1950 in other[1].values() and 1900 not in other[1].values()
    assert 1900 in first[1].values()


def test_filter_keys_tell_literal_types_and_keep_no_huge_filter() -> None:
    keys = {filter_key(parse_text(f"stories = {v}")) for v in ("1", "1.0", "true", "'1'")}
    assert len(keys) == 4 and None not in keys
    ring = ", ".join(f"{-71.1 + i * 1e-5} 42.37" for i in range(400))
    assert filter_key(parse_text(f"S_INTERSECTS(geometry, LINESTRING({ring}))")) is None


def test_filtered_pages_of_one_shape_return_their_own_rows(own_client, engine) -> None:
    """Two filters differing only in a literal, each over two boxes: every page holds the
    rows PostgreSQL finds for its own filter and box (none reuses another's literals)."""
    for year in (1900, 1950):
        for box in BOXES:
            params = {
                "bbox": ",".join(map(str, box)),
                "limit": 2000,
                "filter": f"year_built < {year}",
            }
            page = own_client.get(ITEMS, params=params).json()
            with engine.connect() as conn:
                expected = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM cambridge.parcels WHERE year_built < :y "
                        "AND ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))"
                    ),
                    {"y": year, **dict(zip("abcd", box, strict=True))},
                ).scalar_one()
            assert page["numberMatched"] == expected == page["numberReturned"] > 10


def test_pages_of_one_shape_return_their_own_rows(own_client, engine) -> None:
    for box in BOXES:
        r = own_client.get(ITEMS, params={"bbox": ",".join(map(str, box)), "limit": 2000})
        assert r.status_code == 200
        page = r.json()
        with engine.connect() as conn:
            expected = conn.execute(
                sa.text(
                    "SELECT count(*) FROM cambridge.parcels "
                    "WHERE ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))"
                ),
                dict(zip("abcd", box, strict=True)),
            ).scalar_one()
        assert page["numberMatched"] == expected == page["numberReturned"] > 100
        assert len({f["id"] for f in page["features"]}) == expected


def test_gzip_page_is_one_valid_member(own_client) -> None:
    r = own_client.get(
        ITEMS,
        params={"bbox": ",".join(map(str, BOXES[0])), "limit": 1000},
        headers={"Accept-Encoding": "gzip"},
    )
    assert r.headers["content-encoding"] == "gzip"
    page = r.json()  # the client inflated the gzip stream: it is complete and valid JSON
    assert page["type"] == "FeatureCollection"
    assert len(page["features"]) == page["numberReturned"] > 100
    plain = own_client.get(
        ITEMS,
        params={"bbox": ",".join(map(str, BOXES[0])), "limit": 1000},
        headers={"Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers
    assert plain.json()["features"] == page["features"]


def test_empty_first_page_counts_zero_without_a_second_query(own_client) -> None:
    r = own_client.get(ITEMS, params={"bbox": "0,0,0.001,0.001"})
    assert r.status_code == 200
    assert r.json()["numberMatched"] == 0 and r.json()["features"] == []


def test_a_pooled_connection_closed_by_the_server_is_replaced(own_client, engine) -> None:
    assert own_client.get(ITEMS, params={"limit": 1}).status_code == 200
    app_engine = own_client.app.state.engine
    pooled = app_engine.raw_connection()
    pid = pooled.driver_connection.info.backend_pid
    pooled.close()  # back to the pool, idle
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    time.sleep(0.2)  # the server's goodbye reaches the socket
    r = own_client.get(ITEMS, params={"limit": 1})
    assert r.status_code == 200, r.text
    again = app_engine.raw_connection()
    try:
        assert again.driver_connection.info.backend_pid != pid
        assert not again.driver_connection.closed
    finally:
        again.close()


def test_a_value_the_database_cannot_cast_is_400(own_client) -> None:
    r = own_client.get(ITEMS, params={"year_built": "not-a-year"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "cannot be evaluated" in r.json()["detail"]


def test_pages_are_the_same_without_chunked_rows(own_client, monkeypatch) -> None:
    """With a libpq older than 17 rows are fetched at once and handed out in chunks."""
    from digitalcity.db import driver

    params = {"bbox": ",".join(map(str, BOXES[1])), "limit": 700}
    chunked = own_client.get(ITEMS, params=params).json()
    monkeypatch.setattr(driver, "CHUNKED_ROWS", False)
    fetched = own_client.get(ITEMS, params=params).json()
    assert fetched["features"] == chunked["features"]
    assert fetched["numberMatched"] == chunked["numberMatched"]
