"""The layer lists say when a switched-on layer is not drawn at the map's zoom, in headless
Chromium against the live API: its row is muted and a button, in the page's language, zooms
the map to where the layer's definition draws it. Also: the public map opens the city a
shared link names. Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_web_planner import READY, Opened, launched_browser

ROW = "[data-layer-row=population_grid]"
HINT = f"{ROW} button.zoom-hint"
MUTED = f"() => document.querySelector('{ROW}').classList.contains('out-of-zoom')"
GRID_DRAWN = "() => window.map.queryRenderedFeatures(undefined, {layers: ['population_grid-fill']}).length"


CONTRAST = """(selector) => {
    const rgb = getComputedStyle(document.querySelector(selector)).color.match(/\\d+/g)
        .slice(0, 3).map(Number);
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const l = 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
    return 1.05 / (l + 0.05);
}"""


def contrast(page, selector: str) -> float:  # noqa: ANN001
    """WCAG contrast ratio of the text of ``selector`` on the white side panel."""
    return page.evaluate(CONTRAST, selector)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.mark.parametrize(
    ("page", "lang", "zoom_in", "zooms"),
    [
        ("map", "zh", "放大后可见", "在第 12–22 级显示"),
        ("public", "en", "Zoom in to see", "Shown at zoom levels 12–22"),
    ],
)
def test_a_layer_out_of_its_zooms_says_so_and_zooms_there(  # noqa: PLR0913
    browser, live_server, catalog, loaded, page, lang, zoom_in, zooms
):
    grid = catalog.layer("wuhan", "population_grid")
    assert (grid.min_zoom, grid.max_zoom) == (12, 22)
    opened = Opened(browser, f"{live_server}/{page}?city=wuhan&lang={lang}")
    assert opened.page.evaluate("window.map.getZoom()") < grid.min_zoom
    assert opened.page.evaluate(MUTED)
    hint = opened.page.locator(HINT)
    assert hint.is_visible() and hint.inner_text() == zoom_in
    assert contrast(opened.page, f"{ROW} > label span") >= 4.5  # WCAG AA, muted as it is
    assert hint.get_attribute("title") == zooms
    assert opened.page.evaluate(GRID_DRAWN) == 0
    # the boundary is drawn at this zoom: its row is neither muted nor hinted
    assert not opened.page.locator("[data-layer-row=city_boundary] button.zoom-hint").is_visible()
    hint.click()
    opened.page.wait_for_function(f"window.map.getZoom() >= {grid.min_zoom} && {READY}")
    assert opened.page.is_checked(f"{ROW} input")  # the button is in the label: box untouched
    assert not opened.page.evaluate(MUTED)
    assert not hint.is_visible()
    assert opened.page.evaluate(GRID_DRAWN) > 0
    assert not opened.errors
    opened.close()


def test_a_switched_off_layer_is_muted_without_a_button(browser, live_server, loaded):
    opened = Opened(browser, f"{live_server}/map?city=wuhan&lang=en")
    opened.page.uncheck(f"{ROW} input[data-layer]")
    assert opened.page.evaluate(MUTED)
    assert not opened.page.locator(HINT).is_visible()
    opened.page.check(f"{ROW} input[data-layer]")
    assert opened.page.locator(HINT).is_visible()
    opened.close()


def test_past_its_last_zoom_the_button_zooms_out(browser, live_server, loaded):
    """No demo layer stops before the map's last zoom, so the style's range is cut here."""
    opened = Opened(browser, f"{live_server}/map?city=wuhan&lang=en#z=14&ll=114.3,30.59")
    opened.page.evaluate(
        """() => { for (const layer of window.map.getStyle().layers)
              if (layer.metadata?.['digitalcity:layer'] === 'population_grid')
                window.map.setLayerZoomRange(layer.id, 12, 13);
            window.map.zoomTo(13.5); }"""
    )
    opened.page.wait_for_function(f"({MUTED})()")
    hint = opened.page.locator(HINT)
    assert hint.inner_text() == "Zoom out to see"
    assert hint.get_attribute("title") == "Shown at zoom levels 12–12"
    hint.click()
    opened.page.wait_for_function("window.map.getZoom() < 13 && !window.map.isMoving()")
    assert opened.page.evaluate("window.map.getZoom()") >= 12
    assert not opened.page.evaluate(MUTED)
    opened.close()


def test_the_public_map_opens_the_city_a_shared_link_names(browser, live_server, loaded):
    opened = Opened(browser, f"{live_server}/public?lang=en#c=xiamen")
    sources = opened.page.evaluate("Object.keys(window.map.getStyle().sources)")
    assert "xiamen" in sources and "cambridge" not in sources
    assert opened.hash()["c"] == "xiamen"
    opened.close()
    # a city the page does not serve falls back to the page's own
    opened = Opened(browser, f"{live_server}/public?city=shanghai&lang=en#c=atlantis")
    assert "shanghai" in opened.page.evaluate("Object.keys(window.map.getStyle().sources)")
    opened.close()
