"""Walks by key get their next page rendered ahead (``digitalcity.api.prefetch``): every page
after the second comes from there, equal to the page rendered on request; a page rendered
for one role never reaches another; bbox pages that are not being walked render nothing
ahead; and a layer changed meanwhile is read again, not answered from a page rendered before
the change."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from digitalcity.api.item_pages import next_pages
from digitalcity.config import Settings

PARCELS = "/collections/cambridge__parcels/items"
INTERNAL = "land_value"  # an internal field of the parcels: planners see it, anonymous do not


def _next(page: dict) -> str | None:
    hrefs = [link["href"] for link in page["links"] if link["rel"] == "next"]
    return hrefs[0] if hrefs else None


def _local(href: str) -> str:
    parts = urlsplit(href)
    return f"{parts.path}?{parts.query}"


def _without_time(page: dict) -> dict:
    return {k: v for k, v in page.items() if k != "timeStamp"}


@pytest.fixture(scope="module")
def plain(settings: Settings, loaded):  # noqa: ANN001, ANN201
    """The same API with nothing rendered ahead and no page cache: every page on request."""
    from digitalcity.api import create_app

    alone = settings.model_copy(update={"items_prefetch_pages": 0, "items_cache_mb": 0})
    with TestClient(create_app(alone)) as test_client:
        yield test_client


def _walk(
    client: TestClient, url: str, pages: int, headers: dict | None = None
) -> list[tuple[str, dict]]:
    """Follow next links for ``pages`` pages, letting each render ahead finish first:
    (URL asked for, page) of each."""
    out = []
    store = next_pages(client.app)
    for _ in range(pages):
        page = client.get(url, headers=headers or {})
        assert page.status_code == 200, page.text
        out.append((url, page.json()))
        assert store.settle(30)
        url = _local(_next(out[-1][1]))
    return out


def test_a_walk_by_key_is_answered_from_pages_rendered_ahead(client, plain) -> None:  # noqa: ANN001
    store = next_pages(client.app)
    before = store.taken
    walked = _walk(client, f"{PARCELS}?limit=300&after=0", 6)
    assert store.taken - before == 5  # pages 2 to 6 (the first already walks: after=0)
    for url, page in walked:
        assert _without_time(page) == _without_time(plain.get(url).json())
    ids = [f["id"] for _, page in walked for f in page["features"]]
    assert ids == sorted(ids) and len(set(ids)) == 1800


def test_a_page_rendered_for_one_role_never_reaches_another(client, planner_key) -> None:  # noqa: ANN001
    store = next_pages(client.app)
    keyed = {"X-API-Key": planner_key}
    walked = _walk(client, f"{PARCELS}?limit=50&after=100", 2, keyed)
    assert INTERNAL in walked[0][1]["features"][0]["properties"]
    waiting = store.waiting()
    assert waiting >= 1  # the planner's third page, rendered ahead
    third = _local(_next(walked[-1][1]))
    taken = store.taken
    anonymous = client.get(third).json()
    assert all(INTERNAL not in f["properties"] for f in anonymous["features"])
    assert store.taken == taken  # not the planner's page
    planner = client.get(third, headers=keyed).json()
    assert store.taken == taken + 1
    assert INTERNAL in planner["features"][0]["properties"]
    assert [f["id"] for f in planner["features"]] == [f["id"] for f in anonymous["features"]]


def test_pages_that_are_not_walked_render_nothing_ahead(client) -> None:  # noqa: ANN001
    store = next_pages(client.app)
    assert store.settle(30)
    waiting = store.waiting()
    for params in ({"bbox": "-71.13,42.36,-71.09,42.39", "limit": 20}, {"limit": 20}):
        page = client.get(PARCELS, params=params).json()
        assert _next(page) is not None  # a full page with more to come, not yet walked
        assert store.settle(30)
        assert store.waiting() == waiting


def test_a_walk_asks_for_what_its_next_links_say(client) -> None:  # noqa: ANN001
    page = client.get(PARCELS, params={"limit": 5, "after": 10}).json()
    query = parse_qs(urlsplit(_next(page)).query)
    assert query["after"] == [str(page["features"][-1]["id"])] and query["limit"] == ["5"]
