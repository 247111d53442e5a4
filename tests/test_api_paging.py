"""Paging as desktop clients walk it: `next` links by key (after the last id), equal to the
offset pages; null properties listed on first pages and single features only; limit above
the maximum clamped; HEAD on GET routes; hostile input is a 4xx."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

PARCELS = "/collections/cambridge__parcels/items"
PARCEL_COUNT = 13_116


def _ids(page: dict) -> list[int]:
    return [f["id"] for f in page["features"]]


def _next(page: dict) -> str | None:
    hrefs = [link["href"] for link in page["links"] if link["rel"] == "next"]
    return hrefs[0] if hrefs else None


def test_deep_keyset_page_equals_the_offset_page(client):
    by_offset = client.get(PARCELS, params={"offset": 5000, "limit": 50}).json()
    before = client.get(PARCELS, params={"offset": 4999, "limit": 1}).json()
    after = _ids(before)[0]
    by_key = client.get(PARCELS, params={"after": after, "limit": 50}).json()
    assert _ids(by_key) == _ids(by_offset) and len(_ids(by_key)) == 50
    assert by_key["features"] == by_offset["features"]
    assert by_key["numberReturned"] == 50


def test_null_properties_are_listed_on_first_pages_and_features_only(client):
    """A first page lists every property, null or not (GDAL and QGIS take a layer's fields
    from it); pages after it, by key or offset, leave the null ones out, the rest equal."""
    sparse = "/collections/cambridge__street_centerlines/items"
    first = client.get(sparse, params={"limit": 200}).json()["features"]
    fields = list(first[0]["properties"])
    assert all(list(f["properties"]) == fields for f in first)
    assert any(v is None for f in first for v in f["properties"].values())
    for params in ({"after": first[99]["id"], "limit": 100}, {"offset": 100, "limit": 100}):
        later = client.get(sparse, params=params).json()["features"]
        assert [f["id"] for f in later] == [f["id"] for f in first[100:]]
        for full, lean in zip(first[100:], later, strict=True):
            kept = {k: v for k, v in full["properties"].items() if v is not None}
            assert lean["properties"] == kept and list(lean["properties"]) == list(kept)
            assert lean["geometry"] == full["geometry"]
    one = next(f for f in first[100:] if None in f["properties"].values())
    alone = client.get(f"{sparse}/{one['id']}").json()
    assert alone["properties"] == one["properties"]  # a single feature lists its nulls


def test_next_links_walk_the_whole_layer_by_key(client):
    url, ids, pages = f"{PARCELS}?limit=1000", [], 0
    first = None
    while url:
        page = client.get(url).json()
        first = first or page
        ids += _ids(page)
        pages += 1
        url = _next(page)
        if url:
            query = parse_qs(urlsplit(url).query)
            assert "after" in query and "offset" not in query
            assert int(query["after"][0]) == ids[-1]
    assert first["numberMatched"] == PARCEL_COUNT
    assert len(ids) == len(set(ids)) == PARCEL_COUNT and ids == sorted(ids)
    assert pages == 14


@pytest.mark.parametrize(
    ("params", "counted"),
    [
        ({"limit": 10_000}, "all on the page"),
        ({"limit": 7}, "full page: a count"),
        ({"offset": 40, "limit": 1_000}, "the last page: offset + returned"),
        ({"offset": 50_000, "limit": 10}, "past the end: a count"),
        ({"limit": 7, "filter": "land_area_sqft > 5000"}, "full filtered page"),
    ],
)
def test_number_matched_is_exact_however_it_is_found(client, params, counted):
    """numberMatched comes from the page when the page holds the last match, else from a
    count statement: the same number either way."""
    bbox = "-71.110,42.370,-71.100,42.376"
    where = {"bbox": bbox, **({"filter": params["filter"]} if "filter" in params else {})}
    everything = client.get(PARCELS, params={**where, "limit": 10_000}).json()
    total = everything["numberReturned"]
    assert 50 < total < 10_000 and everything["numberMatched"] == total
    page = client.get(PARCELS, params={"bbox": bbox, **params}).json()
    assert page["numberMatched"] == total, counted
    assert page["numberReturned"] == max(0, min(params["limit"], total - params.get("offset", 0)))


def test_sortby_pages_by_offset(client):
    page = client.get(PARCELS, params={"sortby": "-id", "limit": 3}).json()
    query = parse_qs(urlsplit(_next(page)).query)
    assert query["offset"] == ["3"] and "after" not in query
    following = client.get(_next(page)).json()
    assert _ids(following) == sorted(_ids(following), reverse=True)
    assert _ids(following)[0] < _ids(page)[-1]


def test_keyset_with_a_filter_keeps_the_filter(client):
    params = {"filter": "stories >= 3", "limit": 20}
    first = client.get(PARCELS, params=params).json()
    second = client.get(_next(first)).json()
    offset = client.get(PARCELS, params={**params, "offset": 20}).json()
    assert _ids(second) == _ids(offset) and len(_ids(second)) == 20


@pytest.mark.parametrize(
    "params",
    [
        {"after": "12", "sortby": "stories"},
        {"after": "12", "offset": "5"},
        {"after": "x"},
        {"after": "9" * 40},
        {"limit": "0"},
        {"limit": "-3"},
        {"limit": "ten"},
    ],
)
def test_bad_paging_is_a_400(client, params):
    response = client.get(PARCELS, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def small_max_client(settings, loaded):  # noqa: ANN001, ANN201
    from digitalcity.api import create_app

    app = create_app(settings.model_copy(update={"items_max_limit": 40}))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


def test_limit_above_the_maximum_is_clamped(small_max_client):
    page = small_max_client.get(PARCELS, params={"limit": 100_000}).json()
    assert page["numberReturned"] == len(page["features"]) == 40
    assert parse_qs(urlsplit(_next(page)).query)["limit"] == ["40"]
    api = small_max_client.get("/api").json()
    assert api["components"]["parameters"]["limit"]["schema"]["maximum"] == 40


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/collections",
        "/collections/cambridge__parcels",
        f"{PARCELS}?limit=5",
        "/collections/cambridge__parcels/items/1",
        "/api",
        "/conformance",
        "/tiles/cambridge/tilejson.json",
        "/collections/cambridge__parcels/tiles/WebMercatorQuad/15/9913/12119",
        "/cities",
    ],
)
def test_head_answers_like_get_without_a_body(client, path):
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200, path
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_an_unknown_collection_is_404(client):
    response = client.head("/collections/nowhere__nothing")
    assert response.status_code == 404 and response.content == b""


BIG = str(2**63)
RING_OPEN = {
    "type": "Polygon",
    "coordinates": [[[-71.106, 42.371], [-71.101, 42.371], [-71.101, 42.375]]],
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/cities/cambridge/search", {"params": {"q": "main\x00st"}}),
        ("get", f"/cities/cambridge/parcels/{BIG}", {}),
        ("get", f"/cities/cambridge/parcels/-{BIG}", {}),
        ("get", f"/collections/cambridge__parcels/items/{BIG}", {}),
        ("get", PARCELS, {"params": {"after": BIG}}),
        ("get", PARCELS, {"params": {"filter": "land_use_code = 'R\x00'"}}),
        ("post", "/cities/cambridge/stats", {"json": RING_OPEN}),
        ("post", "/cities/cambridge/analysis/landuse_statistics", {"json": {"fids": [int(BIG)]}}),
    ],
)
def test_hostile_input_is_a_4xx_problem(client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
