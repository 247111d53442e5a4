"""The map on the API's HTML pages (a page of features, one feature), in headless Chromium
against the live API: the page's features, in lon/lat whatever ``crs`` the page was asked in,
drawn over the city's public map and framed to them, with every request on our server.
Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from test_web_planner import Opened, launched_browser

READY = (
    "document.body.dataset.ready === '1' && window.dcPreview.loaded()"
    " && window.dcPreview.areTilesLoaded()"
)
PREVIEW = re.compile(r'<script type="application/json" id="dc-preview">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _preview(html: str) -> dict:
    found = PREVIEW.search(html)
    assert found, "no map on the page"
    return json.loads(found[1])


def test_a_page_of_features_maps_them_in_lon_lat(live_server, loaded):
    url = f"{live_server}/collections/cambridge__street_centerlines/items"
    params = {"f": "html", "limit": "7", "crs": "http://www.opengis.net/def/crs/EPSG/0/26986"}
    config = _preview(httpx.get(url, params=params).text)
    features = config["features"]["features"]
    assert len(features) == 7
    listed = httpx.get(url, params={"limit": "7"}).json()["features"]
    for mapped, item in zip(features, listed, strict=True):  # CRS84, whatever the page's crs
        assert mapped["geometry"]["type"] == item["geometry"]["type"]
        lon, lat = mapped["geometry"]["coordinates"][0][0]
        assert (lon, lat) == pytest.approx(tuple(item["geometry"]["coordinates"][0][0]), abs=1e-7)
        assert mapped["properties"] == {}  # geometry only: the table shows the fields
    assert config["style"].endswith("/styles/cambridge/public?lang=en")


def test_a_page_without_features_has_no_map(live_server, loaded):
    html = httpx.get(
        f"{live_server}/collections/cambridge__parcels/items",
        params={"f": "html", "bbox": "0,0,0.001,0.001"},
    ).text
    assert "dc-preview" not in html


@pytest.mark.parametrize(
    ("path", "count"),
    [
        ("/collections/cambridge__parcels/items?f=html&limit=12&lang=zh", 12),
        ("/collections/cambridge__hydrants/items/5?f=html", 1),
    ],
)
def test_the_map_draws_the_page_over_the_city(browser, live_server, loaded, path, count):
    opened = Opened(browser, f"{live_server}{path}", 1200, 800, ready_when=READY)
    drawn = opened.page.evaluate(
        "new Set(window.dcPreview.querySourceFeatures('dc-page').map((f) => f.id ?? "
        "JSON.stringify(f.geometry.coordinates).slice(0, 40))).size"
    )
    assert drawn >= 1 and drawn <= count * 4  # a feature may be cut by tile edges
    style = opened.page.evaluate("window.dcPreview.getStyle().sources")
    assert "cambridge" in style and "dc-page" in style
    remote = [r.url for r in opened.requests if r.url.startswith("http")]
    assert remote and all(u.startswith(live_server) for u in remote), remote
    assert not opened.errors
    opened.close()
