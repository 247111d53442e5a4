"""The planner app (/map) in headless Chromium against the live API: tiles drawn, identify,
search, share links, zh/en, sign-in, measuring, area statistics, export, city switch.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import numpy as np
import pytest
from PIL import Image
from pyproj import Geod

from digitalcity.catalog.access import visible_layer
from digitalcity.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
MAPLE = (-71.1039, 42.37295)  # 38 MAPLE AVE, zoning district C-1
BACKGROUND = (0xF7, 0xF6, 0xF2)
READY = (
    "document.body.dataset.ready === '1' && window.dcMap.loaded() && window.dcMap.areTilesLoaded()"
)


def launched_browser() -> Iterator:
    """Headless Debian Chromium driven by Playwright; a missing Chromium errors, never skips.
    (Playwright gives every launch a fresh temporary profile.)"""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


# Signs the tab in with a key before the page's own scripts run, once per tab (sessionStorage
# lives as long as the tab): a sign-out in the tab stays signed out across reloads.
SIGNED_IN = """(key) => {
  try {
    if (sessionStorage.getItem("test.signed-in")) return;
    sessionStorage.setItem("digitalcity.apiKey", key);
    sessionStorage.setItem("test.signed-in", "1");
  } catch (err) { /* about:blank has no storage */ }
}"""


# A laptop's screen, the desktop layout (above the 900 px breakpoint). Chromium draws WebGL on
# the CPU here (SwiftShader), every frame at the page's size: at 1024 x 640 a map's zooms took
# 10.5-10.8 s against 12.4-14.9 s at 1280 x 800 (eighteen zooms, the Cambridge planner map).
DESKTOP = (1024, 640)
# A wide screen, for the tests whose map must show more of the city than a laptop's (or
# keep what they click clear of the card beside it).
WIDE = (1280, 800)


class Opened:
    """A page in a context of its own; with ``key``, signed in with it from the first load
    (as the sign-in form leaves it: the key in the tab's sessionStorage)."""

    def __init__(
        self,
        browser,
        url: str,
        width: int = DESKTOP[0],
        height: int = DESKTOP[1],
        ready_when: str = READY,
        key: str | None = None,
    ) -> None:
        self.ready_when = ready_when  # a JS expression true once the page has drawn
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           locale="en-US", accept_downloads=True)  # fmt: skip
        if key:
            self.context.add_init_script(f"({SIGNED_IN})({json.dumps(key)})")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r))
        self.page.goto(url)
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_function(self.ready_when, timeout=30_000)

    def click_lonlat(self, lon: float, lat: float) -> None:
        x, y = self.page.evaluate(
            "([lon, lat]) => { const p = dcMap.project([lon, lat]);"
            " const r = dcMap.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
            [lon, lat],
        )
        self.page.mouse.click(x, y)

    def card(self) -> str:
        # not while it is read again (a day chosen): aria-busy
        self.page.wait_for_selector(
            "#card:not([hidden]):not([aria-busy]) .card-title", timeout=15_000
        )
        return self.page.inner_text("#card")

    def hash(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.page.evaluate("location.hash")[1:]).items()}

    def close(self) -> None:
        self.context.close()


class HeldRequests:
    """Holds ``page``'s next request whose URL holds ``part`` when asked (``hold_next``), to
    answer it later (``release_last``): a slow answer on demand."""

    def __init__(self, page, part: str) -> None:  # noqa: ANN001
        self.page = page
        self.held: list = []
        self._hold = False
        page.route(lambda url: part in url, self._route)

    def _route(self, route) -> None:  # noqa: ANN001
        if self._hold:
            self._hold = False
            self.held.append(route)
        else:
            route.continue_()

    def hold_next(self) -> None:
        self._hold = True

    def wait_held(self, count: int, timeout_s: float = 15.0) -> None:
        """Until ``count`` requests are held; fails after ``timeout_s`` (the page never asked)."""
        deadline = time.monotonic() + timeout_s
        while len(self.held) < count:
            assert time.monotonic() < deadline, f"{len(self.held)} of {count} requests held"
            self.page.wait_for_timeout(20)

    def release_last(self) -> None:
        """Lets the last held request through and waits for its answer to be read."""
        route = self.held[-1]
        with self.page.expect_request_finished(lambda r: r.url == route.request.url):
            route.continue_()
        self.page.wait_for_timeout(500)  # time enough for the page to draw what it was sent


def drawn_share(page) -> float:
    """Share of the map canvas's pixels that differ from the style's background colour."""
    image = Image.open(io.BytesIO(page.locator("#map canvas").screenshot())).convert("RGB")
    pixels = np.asarray(image).astype(int)
    return float((np.abs(pixels - BACKGROUND).sum(axis=2) > 24).mean())


@pytest.fixture
def maple(browser, live_server) -> Iterator[Opened]:
    opened = Opened(
        browser, f"{live_server}/map#c=cambridge&z=17&ll={MAPLE[0]},{MAPLE[1]}&lang=en", *WIDE
    )
    yield opened
    opened.close()


def test_planner_loads_without_errors_and_draws_the_city(browser, live_server):
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge&z=15&ll=-71.1045,42.3725")
    page = opened.page
    assert page.evaluate("dcMap.getStyle().metadata['digitalcity:style']") == "planner"
    assert drawn_share(page) > 0.6
    assert page.locator("[data-layer-row=parcels]").count() == 1
    assert page.locator("section.group h3").all_inner_texts()[0].upper() == "LAND USE"
    assert not opened.errors
    SHOTS.mkdir(parents=True, exist_ok=True)
    opened.click_lonlat(*MAPLE)
    opened.card()
    page.screenshot(path=SHOTS / "planner.png")
    opened.close()


def test_click_identifies_the_parcel_and_highlights_it(maple):
    maple.click_lonlat(*MAPLE)
    text = maple.card()
    assert "38 MAPLE AVE" in text and "C-1" in text
    for label in (
        "Land use",
        "Zoning district",
        "FAR",
        "Nearest facilities",
        "Residents within 400 m",
    ):
        assert label in text
    assert re.search(r"Maximum height\s+45 ft", text)
    assert "unknown" in text  # the C-1 FAR limit was removed: shown as unknown, not 0
    assert "sel" in maple.hash()
    highlighted = maple.page.evaluate(
        "([lon, lat]) => dcMap.queryRenderedFeatures(dcMap.project([lon, lat]),"
        " {layers: ['dc-selection-fill']}).length", list(MAPLE))  # fmt: skip
    assert highlighted == 1
    assert not maple.errors


def test_only_the_last_parcel_clicked_is_shown(maple, client):
    """Clicks faster than their cards: the card is the last parcel clicked's, never a slower
    answer to an earlier click; a card closed while its answer is on its way stays closed."""
    other = (MAPLE[0] - 0.0004, MAPLE[1] - 0.0002)  # 26 MAPLE AVE, across the street
    url = f"/cities/cambridge/identify?lon={other[0]}&lat={other[1]}&lang=en"
    label = client.get(url).json()["label"]
    assert label and label != "38 MAPLE AVE"
    page = maple.page
    identify = HeldRequests(page, "/identify?")
    identify.hold_next()
    maple.click_lonlat(*MAPLE)
    identify.wait_held(1)
    maple.click_lonlat(*other)
    assert label in maple.card()
    identify.release_last()
    assert page.inner_text("#card .card-title") == label
    # closed while its answer is on its way
    identify.hold_next()
    maple.click_lonlat(*MAPLE)
    identify.wait_held(2)
    page.click("#card-close")
    identify.release_last()
    assert page.is_hidden("#card")
    assert not maple.errors


def test_search_flies_to_the_address_and_selects_it(browser, live_server, client):
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge")
    opened.page.fill("#q", "38 maple")
    opened.page.press("#q", "Enter")
    opened.card()
    assert opened.page.inner_text("#card .card-title") == "38 MAPLE AVE"
    hit = client.get("/cities/cambridge/search", params={"q": "38 maple"}).json()["hits"][0]
    assert opened.hash()["sel"] == str(hit["fid"])
    opened.page.wait_for_function("!dcMap.isMoving()")
    assert opened.page.evaluate("dcMap.getZoom()") > 16
    assert not opened.errors
    opened.close()


def test_only_the_last_search_is_answered(browser, live_server, client):
    """Searches faster than their answers: the hits and the card are the last search's, never
    a slower answer to an earlier one; a search whose card was closed meanwhile only lists."""
    other = client.get("/cities/cambridge/search", params={"q": "26 maple"}).json()["hits"][0]
    assert other["label"] != "38 MAPLE AVE"
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge")
    page = opened.page
    searches = HeldRequests(page, "/search?")
    searches.hold_next()
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    searches.wait_held(1)
    page.fill("#q", "26 maple")
    page.press("#q", "Enter")
    assert other["label"] in opened.card()
    searches.release_last()  # the first search's answer, late
    assert page.inner_text("#card .card-title") == other["label"]
    assert page.inner_text("#hits li:first-child .data") == other["label"]
    # the card closed while a search is on its way: its hits are listed, no card opens
    searches.hold_next()
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    searches.wait_held(2)
    page.click("#card-close")
    searches.release_last()
    assert page.is_hidden("#card")
    assert page.inner_text("#hits li:first-child .data") == "38 MAPLE AVE"
    assert not opened.errors
    opened.close()


def test_share_url_restores_view_layers_and_selection(browser, maple):
    maple.click_lonlat(*MAPLE)
    maple.card()
    maple.page.uncheck("input[data-layer=zoning_districts]")
    maple.page.click("#share")
    url = maple.page.input_value("#share-url")
    state = maple.hash()
    assert "zoning_districts" not in state["layers"].split(",")
    again = Opened(browser, url)
    assert "38 MAPLE AVE" in again.card()
    centre = again.page.evaluate("dcMap.getCenter().toArray()")
    assert centre == pytest.approx([float(v) for v in state["ll"].split(",")], abs=1e-5)
    assert again.page.evaluate("dcMap.getZoom()") == pytest.approx(float(state["z"]), abs=0.01)
    assert not again.page.is_checked("input[data-layer=zoning_districts]")
    assert (
        again.page.evaluate("dcMap.getLayoutProperty('zoning_districts-fill', 'visibility')")
        == "none"
    )
    assert again.hash()["sel"] == state["sel"]
    assert not again.errors
    again.close()


def test_language_switch_changes_every_label_and_the_style(maple):
    page = maple.page
    english = page.inner_text("header") + page.inner_text("#side")
    page.click("#lang")
    page.wait_for_function("dcMap.getStyle()?.metadata['digitalcity:lang'] === 'zh'")
    maple.ready()
    page.wait_for_function("document.querySelector('section.group h3').textContent === '土地利用'")
    assert page.inner_text("h1") == "规划工作图"
    assert page.get_attribute("#q", "placeholder") == "地址、地块编号、名称、坐标…"
    chinese = page.inner_text("header") + page.inner_text("#side")
    assert "量距离" in chinese and "分享链接" in chinese and "地块（土地利用现状）" in chinese
    assert not set(re.findall(r"[A-Za-z]{4,}", chinese)) & {"Layers", "Tools", "Search", "Share"}
    assert english != chinese and maple.hash()["lang"] == "zh"
    maple.click_lonlat(*MAPLE)
    assert "土地用途" in maple.card() and "控规分区" in maple.card()
    assert not maple.errors


def test_sign_in_shows_internal_layers_with_the_key_on_tile_requests(maple, catalog, planner_key):
    internal = [x.id for x in catalog.city_layers("cambridge") if not visible_layer("anonymous", x)]
    page = maple.page
    assert all(page.locator(f"[data-layer-row={i}]").count() == 0 for i in internal)
    page.click("#signin")
    page.fill("#key", "not-a-key")
    page.click("#key-ok")
    page.wait_for_selector("#key-error:not([hidden])")
    page.fill("#key", planner_key)
    page.click("#key-ok")
    page.wait_for_selector(f"[data-layer-row={internal[0]}]", timeout=15_000)
    maple.ready()
    layers = {x.get("source-layer") for x in page.evaluate("dcMap.getStyle().layers")}
    assert set(internal) <= layers
    keyed = [
        r for r in maple.requests if "/tiles/cambridge/" in r.url and r.headers.get("x-api-key")
    ]
    assert keyed and all(r.headers["x-api-key"] == planner_key for r in keyed)
    assert page.evaluate("sessionStorage.getItem('digitalcity.apiKey')") == planner_key
    assert page.inner_text("#signin") == "Sign out"


def test_measure_distance_and_area_geodesically(maple):
    page, geod = maple.page, Geod(ellps="WGS84")
    a, b, c = (-71.1050, 42.3720), (-71.1030, 42.3720), (-71.1030, 42.3735)
    page.click("[data-tool=distance]")
    for point in (a, b, c):
        maple.click_lonlat(*point)
    page.click("#finish")
    shown = float(re.sub(r"[^\d.]", "", page.inner_text("#measure-out").split("m")[0]))
    expected = geod.line_length([a[0], b[0], c[0]], [a[1], b[1], c[1]])
    assert shown == pytest.approx(expected, rel=0.005)
    page.click("[data-tool=area]")
    for point in (a, b, c):
        maple.click_lonlat(*point)
    page.click("#finish")
    area = float(re.sub(r"[^\d.]", "", page.inner_text("#measure-out").split("m²")[0]))
    expected_area = abs(geod.polygon_area_perimeter([a[0], b[0], c[0]], [a[1], b[1], c[1]])[0])
    assert area == pytest.approx(expected_area, rel=0.005)
    page.click("#clear")
    assert page.inner_text("#measure-out") == ""


def test_drawn_polygon_gets_statistics(maple, client):
    corners = [(-71.1055, 42.3722), (-71.1025, 42.3722), (-71.1025, 42.3738), (-71.1055, 42.3738)]
    maple.page.click("[data-tool=stats]")
    for point in corners:
        maple.click_lonlat(*point)
    maple.page.click("#finish")
    text = maple.card()
    assert "Area statistics" in text and "Residential land" in text and "Residents" in text
    polygon = maple.page.evaluate(
        "dcMap.getSource('dc-draw').serialize().data.features.at(-1).geometry"
    )
    stats = client.post("/cities/cambridge/stats", json=polygon).json()
    shown = re.search(r"Residents\s+([\d,]+)", text).group(1).replace(",", "")
    assert int(shown) == round(stats["residents"]["residents"])


def test_export_downloads_the_selected_parcel(maple):
    maple.click_lonlat(*MAPLE)
    maple.card()
    fid = int(maple.hash()["sel"])
    with maple.page.expect_download() as download:
        maple.page.click("[data-export=geojson]")
    feature = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert feature["id"] == fid and feature["properties"]["address"] == "38 MAPLE AVE"
    with maple.page.expect_download() as download:
        maple.page.click("[data-export=csv]")
    rows = open(download.value.path(), encoding="utf-8").read().strip().splitlines()
    assert len(rows) == 2 and "38 MAPLE AVE" in rows[1]
    # 界址点坐标: the parcel's boundary points in the city's local CRS (Massachusetts, metres)
    with maple.page.expect_download() as download:
        maple.page.click("[data-export=txt]")
    assert download.value.suggested_filename.endswith(f"-{fid}.txt")
    text = open(download.value.path(), encoding="utf-8").read()
    assert "EPSG:26986" in text and f",{fid},38 MAPLE AVE,面,,,,@" in text


def test_city_switcher_opens_another_city(maple):
    page = maple.page
    page.select_option("#city", "xiamen")
    page.wait_for_function("dcMap.getStyle()?.metadata['digitalcity:city'] === 'xiamen'")
    maple.ready()
    assert maple.hash()["c"] == "xiamen"
    assert page.evaluate("dcMap.getCenter().toArray()") == pytest.approx([118.12, 24.58], abs=0.01)
    assert drawn_share(page) > 0.3
    assert not maple.errors


def test_the_pointers_coordinates_and_a_place_found_by_them(browser, live_server):
    """坐标显示, 此处坐标 and 坐标定位: the pointer's coordinates in lon/lat and in the city's
    local CRS (Massachusetts Mainland, metres), to the centimetre of pyproj's, and the same
    offered to copy by a right click there; the same CRS's
    coordinates of 38 Maple Ave typed into the search fly there, pin the place and open the
    parcel's card; closing the card takes the pin away."""
    from pyproj import Transformer

    to_local = Transformer.from_crs(4326, 26986, always_xy=True)
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge")
    page = opened.page
    box = page.evaluate("(() => { const r = dcMap.getCanvas().getBoundingClientRect();"
                        " return [r.left, r.top, r.width, r.height]; })()")  # fmt: skip
    x, y = round(box[0] + box[2] * 0.4), round(box[1] + box[3] * 0.6)  # whole pixels, as events
    page.mouse.move(x, y)
    shown = page.inner_text("#pointer-xy")
    lng, lat = page.evaluate(
        "([x, y]) => { const p = dcMap.unproject([x, y]); return [p.lng, p.lat]; }",
        [x - box[0], y - box[1]],
    )
    read = re.fullmatch(r"Lon/lat (\S+), (\S+) · X (\S+), Y (\S+)", shown)
    assert read, shown
    east, north = to_local.transform(lng, lat)
    assert abs(float(read[1]) - lng) < 1e-6 and abs(float(read[2]) - lat) < 1e-6
    assert abs(float(read[3]) - east) < 0.02 and abs(float(read[4]) - north) < 0.02, shown
    assert "EPSG:26986" in page.get_attribute("#pointer-xy", "title")

    # 此处坐标: a right click there offers the same coordinates to copy
    opened.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.mouse.click(x, y, button="right")
    here = page.wait_for_selector(".coords-here")
    assert here.inner_text().startswith("Coordinates here")
    local = page.inner_text(".coords-here div:nth-of-type(2) .data")
    assert local == shown.split(" · ")[1]
    page.click(".coords-here [data-copy='1']")
    assert page.evaluate("navigator.clipboard.readText()") == local
    assert page.inner_text(".coords-here [data-copy='1']") == "Copied"
    page.mouse.move(box[0] - 100, box[1] + 100)  # off the map, over the layers
    page.wait_for_selector("#pointer-xy", state="hidden")

    east, north = to_local.transform(*MAPLE)
    page.fill("#q", f"X={east:.2f} Y={north:.2f}")
    page.press("#q", "Enter")
    opened.card()
    assert page.inner_text("#card .card-title") == "38 MAPLE AVE"
    assert page.inner_text("#hits li").startswith(f"X {east:.2f}, Y {north:.2f}")
    pin = page.locator(".maplibregl-marker[aria-label='Place searched']")
    assert pin.count() == 1
    center = page.evaluate("(() => { const c = dcMap.getCenter(); return [c.lng, c.lat]; })()")
    assert Geod(ellps="WGS84").inv(*center, *MAPLE)[2] < 1.0
    assert page.evaluate("dcMap.getZoom()") >= 17
    page.click("#card-close")
    assert pin.count() == 0
    assert not opened.errors
    opened.close()
