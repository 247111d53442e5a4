"""The maps when their data cannot be read, in headless Chromium: tiles or the style that fail
to arrive or come back with a 5xx are said over the map with a way to read them again; a
browser gone offline is said, and the map read again once it is back. A tile refused with a
4xx is not a failure to report.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_web_planner import MAPLE, READY, Opened, drawn_share, launched_browser

PUBLIC = "/public?lang={lang}#c=cambridge&z=16&ll={},{}".format(*MAPLE, lang="{lang}")
PLANNER = "/map?city=cambridge&lang={lang}#z=16&ll={},{}".format(*MAPLE, lang="{lang}")
STARTED = "document.body.dataset.ready === '1'"
NOTICE = "#map .map-notice"
TILES = "**/tiles/**"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _tile_requests(opened: Opened) -> int:
    return sum("/tiles/" in r.url for r in opened.requests)


def test_tiles_that_fail_are_said_and_read_again(browser, live_server: str) -> None:  # noqa: ANN001
    opened = Opened(browser, "about:blank", 390, 844, ready_when="true")
    page = opened.page
    page.route(TILES, lambda route: route.abort("failed"))
    page.goto(live_server + PUBLIC.format(lang="en"))
    page.wait_for_selector(NOTICE)
    assert page.inner_text(NOTICE) == "The map's data could not be loaded. Try again"
    page.unroute(TILES)
    before = _tile_requests(opened)
    page.click(f"{NOTICE} button.map-retry")
    page.wait_for_function(READY, timeout=30_000)
    assert page.locator(NOTICE).count() == 0
    assert _tile_requests(opened) > before
    assert drawn_share(page) > 0.5  # the parcels are drawn after all
    opened.close()


def test_tiles_failed_before_the_legend_arrived_stay_said(browser, live_server: str) -> None:  # noqa: ANN001
    """The page clears its own notice (a city with nothing to show) once the legend arrives;
    tiles that failed before that must stay said. Caught in CI, where the legend came late:
    the notice went and the blank map was left unsaid."""
    opened = Opened(browser, "about:blank", 390, 844, ready_when="true")
    page = opened.page
    held = []
    page.route("**/styles/cambridge/legend*", lambda route: held.append(route))  # answered later
    page.route(TILES, lambda route: route.abort("failed"))
    page.goto(live_server + PUBLIC.format(lang="en"))
    page.wait_for_selector(NOTICE)
    assert held, "the legend was not asked for"
    for route in held:
        route.continue_()
    page.wait_for_function("document.querySelectorAll('#layer-list li').length > 0")
    assert page.inner_text(NOTICE) == "The map's data could not be loaded. Try again"
    opened.close()


@pytest.mark.parametrize(("status", "said"), [(503, True), (500, True), (404, False)])
def test_a_server_error_is_said_and_a_refusal_is_not(
    browser, live_server: str, status: int, said: bool
) -> None:  # noqa: ANN001
    opened = Opened(browser, "about:blank", ready_when="true")
    page = opened.page
    page.route(TILES, lambda route: route.fulfill(status=status, body="no"))
    page.goto(live_server + PUBLIC.format(lang="zh"))
    page.wait_for_function(STARTED, timeout=30_000)
    page.wait_for_function("window.dcMap.loaded() && window.dcMap.areTilesLoaded()")
    assert _tile_requests(opened) > 0
    if said:
        page.wait_for_selector(NOTICE)
        assert page.inner_text(NOTICE) == "地图数据暂时无法载入。 重新载入"
    else:
        assert page.locator(NOTICE).count() == 0
    opened.close()


def test_the_planner_whose_style_failed_opens_once_read_again(browser, live_server: str) -> None:  # noqa: ANN001
    opened = Opened(browser, "about:blank", ready_when="true")
    page = opened.page
    style = "**/styles/cambridge/planner*"
    page.route(style, lambda route: route.abort("connectionrefused"))
    page.goto(live_server + PLANNER.format(lang="zh"))
    page.wait_for_selector(NOTICE)
    assert page.inner_text(NOTICE) == "地图数据暂时无法载入。 重新载入"
    assert page.locator("#layer-list li[data-layer-row]").count() == 0
    page.unroute(style)
    page.click(f"{NOTICE} button.map-retry")
    page.wait_for_function(READY, timeout=30_000)
    assert page.locator("#layer-list li[data-layer-row=parcels]").count() == 1
    assert page.locator(NOTICE).count() == 0
    assert drawn_share(page) > 0.5
    opened.close()


def test_offline_is_said_and_the_map_read_again_when_back(browser, live_server: str) -> None:  # noqa: ANN001
    opened = Opened(browser, live_server + PUBLIC.format(lang="en"), 390, 844)
    page = opened.page
    opened.context.set_offline(True)
    page.wait_for_selector(NOTICE)
    assert page.inner_text(NOTICE) == (
        "You are offline: the map cannot load new data for now. Try again"
    )
    # moved meanwhile: the tiles of the new view cannot arrive
    page.evaluate("dcMap.jumpTo({zoom: 17.5}); null")
    page.wait_for_function("window.dcMap.areTilesLoaded()", timeout=30_000)
    before = _tile_requests(opened)
    opened.context.set_offline(False)
    page.wait_for_function(f"!document.querySelector('{NOTICE}')", timeout=15_000)
    page.wait_for_function(READY, timeout=30_000)
    assert _tile_requests(opened) > before
    assert not opened.errors or all("ERR_INTERNET_DISCONNECTED" in e for e in opened.errors)
    opened.close()


def test_an_external_basemap_that_fails_is_not_the_citys_data(browser, settings, loaded) -> None:  # noqa: ANN001
    from conftest import free_port
    from test_web_public import serve

    from digitalcity.api import create_app

    nowhere = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"  # nothing listens there
    app = create_app(settings.model_copy(update={"basemap_url": nowhere}))
    server, base = serve(app)
    try:
        opened = Opened(browser, base + PUBLIC.format(lang="en"))
        page = opened.page
        assert [r for r in opened.requests if r.url.endswith(".png") and ":" in r.url]
        assert [e for e in opened.errors if "ERR_CONNECTION_REFUSED" in e]  # it did fail
        page.wait_for_timeout(300)  # any error event of the failed tiles has been handled
        assert page.locator(NOTICE).count() == 0
        assert drawn_share(page) > 0.5
        opened.close()
    finally:
        server.should_exit = True
