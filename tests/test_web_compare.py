"""Swipe comparison on the planner map (卷帘对比), in headless Chromium against the live API:
the same view as of another day right of a divider, read from the layers' history; the two
maps move together; the divider follows the pointer and the arrow keys; in zh and en.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from test_web_planner import Opened, launched_browser

VIEW = "#c=cambridge&z=16&ll=-71.1039,42.37295"
BEFORE = "2020-01-01"  # before any layer of the test database was loaded
COMPARED = (
    "() => window.dcCompare && window.dcCompare.loaded() && window.dcCompare.areTilesLoaded()"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def as_of_of(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("as-of", [None])[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_planner_compares_the_map_with_a_past_day(browser, live_server, lang):
    opened = Opened(browser, f"{live_server}/map?lang={lang}{VIEW}")
    page = opened.page
    assert page.evaluate("dcMap.queryRenderedFeatures().length") > 100
    opened.requests.clear()
    page.fill("#compare-day", BEFORE)
    page.wait_for_function(COMPARED, timeout=30_000)
    tiles = [r.url for r in opened.requests if "/tiles/" in urlsplit(r.url).path]
    assert tiles and all(as_of_of(u).startswith(f"{BEFORE}T") for u in tiles), tiles[:3]
    # the past day had no layers yet: the compared map draws nothing, the map itself does
    assert page.evaluate("dcCompare.queryRenderedFeatures().length") == 0
    assert page.evaluate("dcMap.queryRenderedFeatures().length") > 100
    names = page.evaluate(
        "[dcMap.getCanvas().getAttribute('aria-label'), dcCompare.getCanvas().getAttribute('aria-label')]"
    )
    assert names[0] != names[1] and BEFORE in names[1]  # two landmarks, two names (axe-core)
    # the date controls start at the first load of the city's layers, and say so
    since = page.evaluate("document.querySelector('#compare-day').min")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", since) and since > BEFORE
    assert page.evaluate("document.querySelector('#as-of').min") == since
    assert since in page.inner_text("#history-since")
    labels = page.locator(".swipe-label")
    assert labels.nth(0).inner_text() == {"en": "Now", "zh": "当前"}[lang]
    assert labels.nth(1).inner_text() == BEFORE
    # the divider halves the map, and the compared map shows right of it only
    box = page.locator("#map").bounding_box()
    swipe = page.locator("#swipe")
    assert abs(swipe.bounding_box()["x"] + 2 - (box["x"] + box["width"] / 2)) < 3
    assert page.evaluate("document.querySelector('#compare-map').style.clipPath") == (
        f"inset(0px 0px 0px {box['width'] / 2:g}px)"
    )
    # dragged to a quarter of the width, then moved on with the arrow keys
    handle = page.locator(".swipe-handle").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 4, handle["y"] + 10, steps=5)
    page.mouse.up()
    assert swipe.get_attribute("aria-valuenow") == "25"
    swipe.focus()
    page.keyboard.press("ArrowRight")
    assert swipe.get_attribute("aria-valuenow") == "30"
    # the compared map follows the map
    page.evaluate("dcMap.jumpTo({center: [-71.11, 42.375], zoom: 15.5}); null")
    same = page.evaluate(
        "() => { const a = dcMap.getCenter(), b = dcCompare.getCenter();"
        " return Math.abs(a.lng - b.lng) < 1e-9 && Math.abs(a.lat - b.lat) < 1e-9"
        " && dcMap.getZoom() === dcCompare.getZoom(); }"
    )
    assert same
    # the compared map shows the layers the map shows: a layer switched off goes off in both
    visibility = "([m, id]) => window[m].getLayoutProperty(id, 'visibility')"
    assert page.evaluate(visibility, ["dcCompare", "parcels-fill"]) == "visible"
    page.uncheck("[data-layer-row=parcels] input[data-layer]")
    for m in ("dcMap", "dcCompare"):
        assert page.evaluate(visibility, [m, "parcels-fill"]) == "none"
    # a click still reaches the map under the compared one
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#compare-map')).pointerEvents")
        == "none"
    )
    page.fill("#compare-day", "")
    page.wait_for_function("!document.querySelector('#compare-map') && !window.dcCompare")
    assert not opened.errors
    opened.close()


def test_a_citys_history_begins_at_its_first_load(client, engine, loaded):
    with engine.connect() as conn:
        first = conn.execute(
            sa.text(
                "SELECT min(loaded_at) FROM digitalcity.layer_versions WHERE city = 'cambridge'"
                " AND layer = ANY(:layers)"
            ),
            {"layers": list(client.get("/cities/cambridge").json()["layers"])},
        ).scalar()
    since = client.get("/cities/cambridge").json()["history_since"]
    assert dt.datetime.fromisoformat(since) == first
    assert client.get("/cities/nowhere").status_code == 404


def test_a_link_keeps_the_day_and_the_comparison(browser, live_server):
    """The planner writes its day (``at``) and the compared day (``cmp``) into its link, and
    a link with them opens the map as of that day, compared with the other."""
    today = dt.date.today().isoformat()
    opened = Opened(browser, f"{live_server}/map?lang=en{VIEW}")
    opened.page.fill("#compare-day", BEFORE)
    opened.page.wait_for_function(COMPARED, timeout=30_000)
    assert opened.hash()["cmp"] == BEFORE
    link = opened.page.evaluate("location.href")
    opened.close()
    shared = Opened(browser, link.replace("#", f"#at={today}&", 1))
    page = shared.page
    page.wait_for_function(COMPARED, timeout=30_000)
    assert page.input_value("#compare-day") == BEFORE
    assert page.input_value("#as-of") == today
    assert page.evaluate("document.body.classList.contains('as-of')")
    tiles = [r.url for r in shared.requests if "/tiles/cambridge/" in r.url]
    assert {as_of_of(u)[:10] for u in tiles} >= {today, BEFORE}  # both maps' days
    assert shared.hash()["at"] == today
    assert not shared.errors
    shared.close()
