"""The 中文 pages hold no untranslated text: a walk over every visible text node, tooltip,
placeholder and label of the planner and public maps, with the card, search hits, layer
switcher and legend open, finds no Latin word outside the data values (addresses, codes,
source names: marked ``class="data"``) and a short list of names that are not translated.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_web_planner import MAPLE, Opened, launched_browser
from test_web_query import condition, run

from digitalcity.catalog.codes import code_tables

# Words that stay as they are in Chinese: product and format names, the language switch.
KEPT = {"API", "EN", "digitalcity", "GeoJSON", "CSV", "PDF", "PNG", "JPEG", "WebP", "GIF", "MapLibre", "OpenStreetMap", "fid",
        "GeoPackage", "Shapefile", "FlatGeobuf", "CAD", "DXF", "KML", "EPSG", "Atom", "TXT"}  # fmt: skip

WALK = """(keptWords) => {
  const kept = new Set(keptWords);
  const found = [];
  const skip = (el) => el.closest('.data, [translate="no"], .maplibregl-ctrl-attrib, script, style');
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const check = (text, where) => {
    for (const word of text.match(/[A-Za-z][A-Za-z'-]{2,}/g) || []) {
      if (!kept.has(word)) found.push(`${where}: ${word} in ${JSON.stringify(text.trim().slice(0, 80))}`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (el && !skip(el) && visible(el)) check(walker.currentNode.textContent, el.tagName.toLowerCase());
  }
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], [alt]')) {
    if (skip(el) || !visible(el)) continue;
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
      if (el.hasAttribute(a)) check(el.getAttribute(a), `${el.tagName.toLowerCase()}@${a}`);
    }
  }
  check(document.title, 'title');
  return found;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def codes(settings) -> set[str]:
    """The letters of every code of every code table: a zone code named inside a Chinese name
    ("位于MXD区内") is data too."""
    tables = code_tables(settings.layers_dir)
    return {w for t in tables.values() for c in t for w in re.findall(r"[A-Za-z]+", c.code)}


def _untranslated(opened: Opened, codes: set[str]) -> list[str]:
    return [
        w
        for w in opened.page.evaluate(WALK, sorted(KEPT))
        if w.split(": ")[1].split(" in ")[0] not in codes
    ]


def test_planner_in_chinese_has_no_untranslated_text(browser, live_server, planner_key, codes):
    url = f"{live_server}/map?lang=zh#c=cambridge&z=17&ll={MAPLE[0]},{MAPLE[1]}&lang=zh"
    opened = Opened(browser, url)
    page = opened.page
    assert page.inner_text("h1") == "规划工作图"
    found = _untranslated(opened, codes)  # the page with its layer switcher and legends
    opened.click_lonlat(*MAPLE)
    opened.card()
    page.evaluate("document.querySelectorAll('#card details').forEach((d) => d.open = true)")
    found += _untranslated(opened, codes)
    page.fill("#q", "maple")
    page.press("#q", "Enter")
    page.wait_for_selector("#hits:not([hidden]) li", timeout=15_000)
    found += _untranslated(opened, codes)
    # the query by attributes, with its conditions and results
    page.click("#query")
    page.wait_for_selector("#card .query-form")
    condition(page, 0, "landuse_l1", "eq", "07")
    condition(page, 1, "stories", "between", "3")
    page.fill(".query-condition[data-index='1'] [name=value2]", "5")
    run(page)
    found += _untranslated(opened, codes)
    page.click("#boundary")  # the site boundary check's form
    page.wait_for_selector("#card .boundary-form")
    found += _untranslated(opened, codes)
    page.click("#quality")  # the data quality check, run on the hydrants (a duplicate listed)
    page.select_option("#card select[name=layer]", "hydrants")
    page.evaluate("document.querySelector('#card .quality-settings').open = true")
    page.click("#card .quality-form button[type=submit]")
    page.wait_for_selector("#card .quality-summary", timeout=60_000)
    found += _untranslated(opened, codes)
    page.click("#catchments")  # walking catchments: the fire stations', then the life circle
    page.select_option("#card select[name=layer]", "fire_stations")
    page.click("#card .catchments-form button[type=submit]")
    page.wait_for_selector("#card .catchments-table", timeout=60_000)
    found += _untranslated(opened, codes)
    page.check("#card input[name=mode][value=circle]")
    page.click("#card .catchments-form button[type=submit]")
    page.wait_for_selector("#card .catchments-table", timeout=60_000)
    found += _untranslated(opened, codes)
    # signed in, the internal layers and fields appear: they are translated too
    page.evaluate("key => sessionStorage.setItem('digitalcity.apiKey', key)", planner_key)
    page.goto("about:blank")
    page.goto(url)  # the first view again (the query moved the map to its matches)
    opened.ready()
    opened.click_lonlat(*MAPLE)
    opened.card()
    found += _untranslated(opened, codes)
    assert not found, "\n".join(sorted(set(found)))
    assert not opened.errors
    opened.close()


def test_public_map_in_chinese_has_no_untranslated_text(browser, live_server, codes):
    url = f"{live_server}/public?lang=zh#c=cambridge&z=17&ll={MAPLE[0]},{MAPLE[1]}&lang=zh"
    opened = Opened(browser, url)
    page = opened.page
    assert page.inner_text("h1") == "公众地图"
    found = _untranslated(opened, codes)
    # recent changes: the list, then the newest change set's features (before any other card opens: a
    # search's card, still on its way, would replace them)
    page.click("#changes-toggle")
    page.wait_for_selector("#card .change-entry", timeout=15_000)
    found += _untranslated(opened, codes)
    page.locator("#card .change-entry").first.click()
    page.wait_for_selector("#card .changes-features li", timeout=15_000)
    found += _untranslated(opened, codes)
    page.click("#card-close")
    page.evaluate("([lon, lat]) => { dcMap.jumpTo({center: [lon, lat], zoom: 17}); }", list(MAPLE))
    opened.ready()
    opened.click_lonlat(*MAPLE)
    opened.card()
    found += _untranslated(opened, codes)
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    opened.card()
    found += _untranslated(opened, codes)
    assert not found, "\n".join(sorted(set(found)))
    assert not opened.errors
    opened.close()


def test_editing_tools_in_chinese_have_no_untranslated_text(browser, live_server, engine, codes):
    """A land-bureau user's tools on a parcel's card in 中文: the edit form with split and merge,
    the neighbours to merge with, the attachments and the history; the query's change to all
    its matches."""
    from digitalcity.db.keys import create_key

    url = f"{live_server}/map?lang=zh#c=cambridge&z=17&ll={MAPLE[0]},{MAPLE[1]}&lang=zh"
    opened = Opened(browser, url, key=create_key(engine, "land_bureau", "zh-tools").key)
    page = opened.page
    opened.click_lonlat(*MAPLE)
    opened.card()
    page.click("[data-attachments]")
    page.wait_for_selector(".attach-form")
    assert page.inner_text("[data-attachments]") == "附件"
    found = _untranslated(opened, codes)
    page.click("[data-edit]")
    page.wait_for_selector("#edit-merge")
    assert page.inner_text("#edit-split") == "沿线分割"
    page.click("#edit-merge")
    page.wait_for_selector(".merge-list input")
    found += _untranslated(opened, codes)
    page.click("[data-history]")
    page.wait_for_function(  # the edit form's heading stays until the history has loaded
        "document.querySelector('.edit-panel h3')?.textContent.includes('的历史记录')"
    )
    assert "的历史记录" in page.inner_text(".edit-panel h3")
    found += _untranslated(opened, codes)
    page.click("#query")
    page.wait_for_selector("#card .query-form")
    condition(page, 0, "landuse_l1", "eq", "07")
    condition(
        page, 1, "stories", "ge", "4"
    )  # 320 matches (11,047 are more than one change may set)
    run(page)
    page.click("[data-query-act=bulk-open]")
    page.wait_for_selector("#bulk-field")
    found += _untranslated(opened, codes)
    assert not found, "\n".join(sorted(set(found)))
    assert not opened.errors
    opened.close()
