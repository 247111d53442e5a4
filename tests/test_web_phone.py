"""The public map and the planner on a phone (390×844, touch) in headless Chromium: touch
targets of at least 44 px, the map keeps at least half the screen with a card open, nothing
shows through the card, the map stays drawn while the legend (the planner's layers and tools)
is open, and the planner's sheet while measuring and a query's answer.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from test_web_planner import BACKGROUND, MAPLE, SHOTS, drawn_share, launched_browser

PHONE = {"width": 390, "height": 844}
URL = "/public?lang=zh#c=cambridge&z=17&ll={},{}".format(*MAPLE)
TARGETS = "button, select, input, a[href], [role=button], .maplibregl-ctrl button"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _on_a_phone(browser, url: str) -> Iterator:  # noqa: ANN001
    """A touch phone's page at ``url`` once its map has drawn: (page, the page's errors)."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(
        "document.body.dataset.ready === '1' && window.dcMap.loaded() && window.dcMap.areTilesLoaded()",
        timeout=30_000,
    )
    yield page, errors
    context.close()


@pytest.fixture
def phone(browser, live_server):  # noqa: ANN001, ANN201
    yield from _on_a_phone(browser, f"{live_server}{URL}")


def _small_targets(page) -> list[str]:  # noqa: ANN001
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
            // a check box or radio button is touched through the label that holds it
            const target = ['checkbox', 'radio'].includes(el.type) && el.closest('label')
              ? el.closest('label') : el;
            const r = target.getBoundingClientRect();
            const style = getComputedStyle(el);
            if (!r.width || !r.height || style.visibility === 'hidden') return false;
            return r.width < 44 || r.height < 44;
        }).map((el) => `${el.tagName}#${el.id}.${el.className} ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`)""",
        TARGETS,
    )


def _blank_above(page, top: float) -> float:  # noqa: ANN001
    """Share of the visible map above ``top`` (CSS px) painted only in the background colour:
    a canvas the browser failed to draw (the style's land and roads cover all of it here)."""
    shot = Image.open(io.BytesIO(page.screenshot(scale="css"))).convert("RGB")
    pixels = np.asarray(shot).astype(int)
    map_top = int(page.locator("#map").bounding_box()["y"])
    region = pixels[map_top + 4 : int(top) - 4, 4:-60]  # off the map controls
    return float((np.abs(region - BACKGROUND).sum(axis=2) < 12).mean())


def _open_card(page) -> None:  # noqa: ANN001
    x, y = page.evaluate(
        "([lon, lat]) => { const p = dcMap.project([lon, lat]);"
        " const r = dcMap.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        list(MAPLE),
    )
    page.touchscreen.tap(x, y)
    page.wait_for_selector("#card:not([hidden]) .card-title", timeout=15_000)


def test_touch_targets_are_at_least_44_px(phone) -> None:  # noqa: ANN001
    page, errors = phone
    assert _small_targets(page) == []
    _open_card(page)
    assert _small_targets(page) == []
    page.click("#card-close")
    page.click("#changes-toggle")  # recent changes: the list, then one change set's features
    page.wait_for_selector("#card .change-entry", timeout=15_000)
    assert _small_targets(page) == []
    page.locator("#card .change-entry").first.click()
    page.wait_for_selector("#card .changes-features li", timeout=15_000)
    assert _small_targets(page) == []
    page.click("#card-close")
    page.click("#legend-toggle")
    assert _small_targets(page) == []
    assert not errors


def test_a_card_leaves_half_the_screen_to_the_map_and_hides_what_is_under_it(phone) -> None:  # noqa: ANN001
    page, errors = phone
    _open_card(page)
    card = page.locator("#card").bounding_box()
    map_box = page.locator("#map").bounding_box()
    visible_map = min(map_box["y"] + map_box["height"], card["y"]) - max(map_box["y"], 0)
    assert visible_map >= PHONE["height"] / 2, (card, map_box)
    assert card["y"] + card["height"] <= PHONE["height"] + 1
    background = page.evaluate("getComputedStyle(document.querySelector('#card')).backgroundColor")
    assert background == "rgb(255, 255, 255)"  # opaque: nothing shows through
    page.wait_for_function("dcMap.loaded() && dcMap.areTilesLoaded()", timeout=30_000)
    page.wait_for_timeout(300)
    assert _blank_above(page, card["y"]) < 0.1  # the map above the card is drawn
    assert _sheet_covers_the_map_controls(page, "#card")
    page.screenshot(path=SHOTS / "public-phone-card-zh.png")
    assert not errors


def test_the_map_stays_drawn_with_the_legend_open(phone) -> None:  # noqa: ANN001
    page, errors = phone
    page.click("#legend-toggle")
    page.wait_for_timeout(400)
    side = page.locator("#side").bounding_box()
    map_box = page.locator("#map").bounding_box()
    assert side["y"] >= PHONE["height"] / 2 - 1  # a bottom sheet over the lower half at most
    assert map_box["height"] >= PHONE["height"] / 2
    assert drawn_share(page) > 0.5  # the canvas still shows the city
    assert _blank_above(page, side["y"]) < 0.1  # and the part above the legend is drawn
    assert _sheet_covers_the_map_controls(page, "#side")
    page.screenshot(path=SHOTS / "public-phone-legend-zh.png")
    assert not errors


def _sheet_covers_the_map_controls(page, sheet: str) -> bool:  # noqa: ANN001
    """Whether the bottom sheet lies over the map's scale bar and attribution (which are
    drawn over the map, and once showed through the sheets)."""
    return page.evaluate(
        """(sheet) => [...document.querySelectorAll(
              '.maplibregl-ctrl-scale, .maplibregl-ctrl-attrib')].every((el) => {
            const r = el.getBoundingClientRect();
            const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return !top || Boolean(top.closest(sheet)); })""",
        sheet,
    )


@pytest.fixture
def planner_phone(browser, live_server):  # noqa: ANN001, ANN201
    yield from _on_a_phone(
        browser, f"{live_server}/map?lang=zh#c=cambridge&z=17&ll={MAPLE[0]},{MAPLE[1]}"
    )


def test_the_planner_on_a_phone_keeps_its_map_and_opens_its_tools_as_a_sheet(planner_phone) -> None:  # noqa: ANN001
    page, errors = planner_phone
    # the map has the screen below the header: no sheet over it, all of it drawn (the layers
    # and tools were an opaque sheet always open, and the canvas above it was blanked)
    assert not page.is_visible("#side")
    map_box = page.locator("#map").bounding_box()
    assert map_box["height"] >= PHONE["height"] * 0.6
    # two rows of header (city and buttons, then the search): the title is for screen readers
    assert page.locator("header").bounding_box()["height"] <= 110
    assert page.evaluate("document.querySelector('h1').textContent") == "规划工作图"
    assert _blank_above(page, PHONE["height"]) < 0.1
    assert _small_targets(page) == []
    page.click("#legend-toggle")
    page.wait_for_timeout(400)
    side = page.locator("#side").bounding_box()
    assert page.is_visible("#layer-list") and side["y"] >= PHONE["height"] / 2 - 1
    page.wait_for_function("dcMap.loaded() && dcMap.areTilesLoaded()", timeout=30_000)
    assert _blank_above(page, side["y"]) < 0.1
    page.evaluate("document.querySelectorAll('#side details').forEach((d) => d.open = true)")
    assert _small_targets(page) == []
    # measuring: the sheet keeps only the hint, the figure, Finish and Clear, low over the map
    page.click("[data-tool=distance]")
    assert not page.is_visible("#layer-list") and page.is_visible("#finish")
    box = page.locator("#map").bounding_box()
    for dx, dy in ((80, 120), (260, 180)):
        page.touchscreen.tap(box["x"] + dx, box["y"] + dy)
        page.wait_for_timeout(250)
    page.click("#finish")
    assert page.is_visible("#measure-out") and "距离" in page.inner_text("#measure-out")
    compact = page.locator("#side").bounding_box()
    assert compact["y"] >= PHONE["height"] * 0.65, compact
    assert _small_targets(page) == []
    page.click("#clear")
    assert not page.is_visible("#side")
    # a card opened from the sheet replaces it: one bottom sheet at a time
    page.click("#legend-toggle")
    page.click("#changes")
    page.wait_for_selector("#card .change-entry", timeout=15_000)
    assert not page.is_visible("#side")
    page.screenshot(path=SHOTS / "planner-phone-changes-zh.png")
    assert not errors


def test_a_query_on_a_phone_shows_its_answer_in_the_sheet(planner_phone) -> None:  # noqa: ANN001
    page, errors = planner_phone
    page.click("#legend-toggle")
    page.click("#query")
    page.wait_for_selector("#card .query-form")
    page.click("#card .query-form button[type=submit]")  # every parcel of the city
    page.wait_for_selector("#card .query-count", timeout=30_000)
    page.wait_for_function(
        """() => { const card = document.getElementById('card').getBoundingClientRect();
            const count = document.querySelector('#card .query-count').getBoundingClientRect();
            return count.top >= card.top && count.bottom <= card.bottom; }""",
        timeout=5_000,
    )  # the form is above it, scrolled out of the low sheet
    assert not errors
