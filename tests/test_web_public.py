"""The public map (/public) and its static PMTiles site in headless Chromium: public layers
only, phone-sized screens, zh/en, search, planning details, an optional external basemap.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import uvicorn
from conftest import free_port
from test_web_planner import (
    MAPLE,
    READY,
    SHOTS,
    HeldRequests,
    Opened,
    drawn_share,
    launched_browser,
)

from digitalcity.api.routes.tiles import tile_service
from digitalcity.catalog.access import visible_layer
from digitalcity.crs.chinese import wgs84_to_gcj02
from digitalcity.tiles.export import export_pmtiles
from digitalcity.web.static_site import build_static_site

PUBLIC_URL = "/public?lang=en#c=cambridge&z=17&ll={},{}".format(*MAPLE)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def internal(catalog) -> set[str]:
    hidden = {x.id for x in catalog if not visible_layer("anonymous", x)}
    assert {"utility_poles", "drainage"} <= hidden
    return hidden


def serve(app, port: int | None = None) -> tuple[uvicorn.Server, str]:  # noqa: ANN001
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def assert_public_only(opened: Opened, internal: set[str]) -> None:
    urls = [r.url for r in opened.requests]
    assert urls and not [u for u in urls if "utility_poles" in u or "drainage" in u]
    assert not [r for r in opened.requests if r.headers.get("x-api-key")]
    style_layers = opened.page.evaluate("dcMap.getStyle().layers")
    assert not {x.get("source-layer") for x in style_layers} & internal
    assert not [i for i in internal if opened.page.locator(f"[data-layer-row={i}]").count()]
    text = opened.page.inner_text("body")
    assert "Utility poles" not in text and "Drainage" not in text


def test_public_map_shows_only_public_layers_even_with_a_key(browser, live_server, internal,
                                                              planner_key):  # fmt: skip
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}", key=planner_key)
    assert opened.page.evaluate("dcMap.getStyle().metadata['digitalcity:style']") == "public"
    assert drawn_share(opened.page) > 0.6
    assert_public_only(opened, internal)
    assert not opened.errors
    opened.close()


def test_public_card_shows_use_zone_and_controls(browser, live_server, internal, catalog):
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    opened.click_lonlat(*MAPLE)
    text = opened.card()
    assert "38 MAPLE AVE" in text and "C-1" in text and "Residential land" in text
    # Cambridge's own use class first, the national class after it (city.toml)
    assert text.index("Condominium") < text.index("Standard class (national)")
    assert "Maximum height" in text and "45 ft" in text
    # plain words: what the district is for, a removed limit is "no limit", sources flagged
    assert "What the plan allows here" in text and "Since February 2025" in text
    no_limit = opened.page.locator("#card .no-limit")
    assert no_limit.count() == 1 and no_limit.inner_text() == "no limit"
    assert "secondary sources" in text
    assert "LADU" not in text and "B&T" not in text  # the planner's jargon note stays there
    parcels = catalog.layer("cambridge", "parcels")
    for hidden in (f for f in parcels.all_fields if f.access != "public"):
        assert hidden.title.en not in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    opened.page.screenshot(path=SHOTS / "public.png")
    assert_public_only(opened, internal)
    assert not opened.errors
    opened.close()


def test_a_citizen_sees_the_last_parcel_tapped(browser, live_server):
    """Taps faster than their cards (a slow phone network): the last parcel tapped is shown,
    never a slower answer to an earlier tap."""
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    identify = HeldRequests(opened.page, "/identify?")
    identify.hold_next()
    opened.click_lonlat(*MAPLE)
    identify.wait_held(1)
    opened.click_lonlat(MAPLE[0] - 0.0004, MAPLE[1] - 0.0002)
    assert "26 MAPLE AVE" in opened.card()
    identify.release_last()
    assert opened.page.inner_text("#card .card-title") == "26 MAPLE AVE"
    assert not opened.errors
    opened.close()


def test_public_map_on_a_phone(browser, live_server, internal):
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}", width=390, height=844)
    page = opened.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.is_visible("#q") and page.is_visible("#legend-toggle")
    assert not page.is_visible("#side")
    box = page.locator("#map").bounding_box()
    assert box["width"] == 390 and box["height"] > 600
    opened.click_lonlat(*MAPLE)
    opened.card()
    card = page.locator("#card").bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= 390 and card["y"] > 300
    # the close button beside the title, not on a row of its own above it
    title = page.locator("#card .card-title").bounding_box()
    close = page.locator("#card-close").bounding_box()
    assert title["y"] - card["y"] < 30 and close["height"] >= 44
    assert close["x"] >= title["x"] + title["width"] - 1
    page.screenshot(path=SHOTS / "public-phone-card.png")
    page.click("#card-close")
    page.click("#legend-toggle")
    assert page.is_visible("#side") and page.locator("[data-layer-row=parcels]").count() == 1
    page.screenshot(path=SHOTS / "public-phone-legend.png")
    assert_public_only(opened, internal)
    assert not opened.errors
    opened.close()


HEADER_CONTROLS = (  # the vertical middle of each control shown in the header
    "els => els.filter((e) => e.offsetParent).map((e) => {"
    " const box = e.getBoundingClientRect(); return Math.round(box.top + box.height / 2); })"
)


def test_phones_and_upright_tablets_in_english(browser, live_server):
    """In English (the longer labels): on a 360 px phone the public map's and the planner's
    header is two rows, the title (or city) with every button, then the search, the public
    map's title whole (the language button once wrapped onto a third row); a 768 px tablet
    held upright has the phone's layout, its layers a sheet (a panel beside the map and a card
    over it left 98 px of the map), with the search beside the buttons in one row."""
    for page_name, width in (("public", 360), ("map", 360), ("map", 768)):
        url = f"{live_server}/{page_name}?lang=en#c=cambridge&z=13&ll=-71.11,42.375"
        opened = Opened(browser, url, width=width, height=740)
        page = opened.page
        tops = page.eval_on_selector_all("header.bar > button, header.bar > select", HEADER_CONTROLS)
        assert len(tops) >= 3 and max(tops) - min(tops) <= 2, (page_name, width, tops)
        search = page.locator("#search").bounding_box()
        bar = page.locator("header.bar").bounding_box()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # the layers are a sheet opened from the header, not a panel beside the map
        assert page.is_visible("#legend-toggle") and not page.is_visible("#side")
        if width > 600:  # room for the search beside the buttons: one row
            middle = search["y"] + search["height"] / 2
            assert abs(middle - min(tops)) <= 2 and bar["height"] < 70, (search, bar, tops)
            opened.close()
            continue
        assert search["y"] > max(tops) + 20
        assert bar["height"] < 110
        if page_name == "public":  # the planner's title is for screen readers on a phone
            title = page.locator("header.bar h1").bounding_box()
            assert title["y"] + title["height"] < search["y"]
            assert page.evaluate(
                "(() => { const h = document.querySelector('header.bar h1');"
                " return h.scrollWidth <= h.clientWidth; })()"
            ), "the title is cut"
        assert not opened.errors
        opened.close()


def test_a_phone_on_its_side_shows_the_card_beside_the_map(browser, live_server):
    """844 x 390 (a phone on its side): the card is a panel at the left, the map's whole height,
    not a bottom sheet of 40 % (a title and three lines); the map's buttons stay clear of it."""
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}", width=844, height=390)
    page = opened.page
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    opened.card()
    page.click("body", position={"x": 700, "y": 20})  # the hits list closed
    card = page.locator("#card").bounding_box()
    area = page.locator("#map").bounding_box()
    assert card["x"] <= 1 and 0.4 * 844 <= card["width"] <= 0.6 * 844, card
    assert card["height"] >= 0.9 * area["height"], (card, area)
    zoom = page.locator(".maplibregl-ctrl-zoom-in").bounding_box()
    assert zoom["x"] > card["x"] + card["width"]
    # the parcel found is fitted beside the card, not under it
    page.wait_for_function("!dcMap.isMoving()", timeout=10_000)
    x = page.evaluate(f"dcMap.project({list(MAPLE)}).x")
    assert card["x"] + card["width"] < area["x"] + x < area["x"] + area["width"], x
    assert not opened.errors
    opened.close()


def tile_selections(requests: list) -> list[str]:
    """The ``collections`` of each city tile the page requested ("" for the whole tileset)."""
    out = []
    for r in requests:
        parts = urlsplit(r.url)
        if parts.path.startswith("/tiles/cambridge/") and parts.path.count("/") == 5:
            out.append(parse_qs(parts.query).get("collections", [""])[0])
    return out


def test_the_public_map_fetches_the_theme_it_shows(browser, live_server):
    """The public map reads the base layers and the theme shown, never a hidden theme's
    tiles; choosing another theme fetches that theme's."""
    opened = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&z=14&ll=-71.11,42.375")
    page = opened.page
    first = tile_selections(opened.requests)
    assert first and "" not in first
    assert {s for s in first if "__parcels" in s} == {"cambridge__parcels"}
    base = {s for s in first if s != "cambridge__parcels"}
    assert len(base) == 1 and "cambridge__street_centerlines" in base.pop().split(",")
    hidden = {"cambridge__zoning_districts", "cambridge__census_blocks_2020",
              "cambridge__census_tracts_2020"}  # fmt: skip
    assert not [s for s in first if hidden & set(s.split(","))]
    opened.requests.clear()
    page.check("input[data-theme-layer=census_blocks_2020]")
    opened.ready()
    assert set(tile_selections(opened.requests)) == {"cambridge__census_blocks_2020"}
    drawn = page.evaluate(
        "dcMap.queryRenderedFeatures({layers: ['census_blocks_2020-fill']}).length"
    )
    assert drawn > 20
    assert page.evaluate("dcMap.getLayoutProperty('parcels-fill', 'visibility')") == "none"
    assert not opened.errors
    opened.close()


def test_a_citizen_compares_land_use_with_the_zoning_plan(browser, live_server):
    """Swipe comparison of two themes: the map with the zoning plan right of the divider,
    its tiles the zoning part of the tileset; the labels name both themes and follow the
    theme the map shows."""
    opened = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&z=14&ll=-71.11,42.375")
    page = opened.page
    opened.requests.clear()
    page.select_option("#compare-theme", "zoning_districts")
    page.wait_for_function(
        "window.dcCompare && dcCompare.loaded() && dcCompare.areTilesLoaded()", timeout=30_000
    )
    shown = "([m, id]) => window[m].getLayoutProperty(id, 'visibility')"
    assert page.evaluate(shown, ["dcCompare", "zoning_districts-fill"]) == "visible"
    assert page.evaluate(shown, ["dcCompare", "parcels-fill"]) == "none"
    assert page.evaluate(shown, ["dcMap", "parcels-fill"]) == "visible"
    assert page.evaluate(shown, ["dcMap", "zoning_districts-fill"]) == "none"
    assert (
        page.evaluate("dcCompare.queryRenderedFeatures({layers: ['zoning_districts-fill']}).length")
        > 0
    )
    parts = set(tile_selections(opened.requests))
    assert "cambridge__zoning_districts" in parts and "cambridge__parcels" not in parts
    labels = page.locator(".swipe-label")
    assert labels.nth(0).inner_text() == "Parcels (current land use)"
    assert labels.nth(1).inner_text() == "Zoning districts"
    page.check("input[data-theme-layer=census_blocks_2020]")
    page.wait_for_function(
        "document.querySelector('.swipe-label').textContent === 'Census blocks 2020'"
    )
    assert page.evaluate(shown, ["dcCompare", "zoning_districts-fill"]) == "visible"
    link = page.evaluate("location.href")
    assert "cmp=zoning_districts" in link
    page.select_option("#compare-theme", "")
    page.wait_for_function("!document.querySelector('#compare-map') && !window.dcCompare")
    assert "cmp=" not in page.evaluate("location.hash")
    assert not opened.errors
    opened.close()
    # the link opens the comparison it was written with
    shared = Opened(browser, link)
    shared.page.wait_for_function("window.dcCompare && dcCompare.loaded()", timeout=30_000)
    assert shared.page.input_value("#compare-theme") == "zoning_districts"
    assert shared.page.evaluate(shown, ["dcCompare", "zoning_districts-fill"]) == "visible"
    shared.close()


def test_finding_my_location_opens_the_card_of_where_i_stand(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        geolocation={"longitude": MAPLE[0], "latitude": MAPLE[1]}, permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/public?lang=zh#c=cambridge")
    page.wait_for_function(READY, timeout=30_000)
    page.click(".maplibregl-ctrl-geolocate")
    page.wait_for_selector("#card:not([hidden]) .card-title", timeout=15_000)
    assert page.inner_text("#card .card-title") == "38 MAPLE AVE"
    assert page.evaluate("dcMap.getZoom()") >= 16
    assert "sel=" in page.evaluate("location.hash")
    assert not errors
    context.close()


def test_a_citizen_shares_a_place_and_the_link_opens_its_card(browser, live_server):
    """The card of an address has a button that copies a link to it (a phone offers its
    share sheet instead); the link opens the map on that parcel's card, in its language.
    Closing the card takes the parcel out of the link."""
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    page = opened.page
    opened.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    opened.click_lonlat(*MAPLE)
    opened.card()
    assert "sel=" in page.evaluate("location.hash")
    page.click("#share-place")
    page.wait_for_function("document.querySelector('#share-place').textContent === 'Link copied'")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{live_server}/public") and "sel=" in link and "c=cambridge" in link
    page.click("#card-close")
    assert "sel=" not in page.evaluate("location.hash")
    opened.close()

    shared = Opened(browser, link.replace("lang=en", "lang=zh"))
    text = shared.card()
    assert "38 MAPLE AVE" in text and "分享此地" in text and "C-1" in text
    assert (
        shared.page.evaluate("dcMap.queryRenderedFeatures({layers: ['dc-selection-fill']}).length")
        > 0
    )
    assert not shared.errors
    shared.close()
    # a link naming the parcel without a view around it opens the map on the parcel
    sel = parse_qs(urlsplit(link).fragment)["sel"][0]
    bare = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&sel={sel}")
    assert "38 MAPLE AVE" in bare.card()
    assert bare.page.evaluate("([x, y]) => dcMap.getBounds().contains([x, y])", list(MAPLE))
    assert bare.page.evaluate("dcMap.getZoom()") >= 17
    bare.close()
    # a link to a parcel that is not there: the map alone, no card
    gone = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&sel=99999999")
    assert gone.page.locator("#card").is_hidden()
    gone.close()


def test_public_search_and_language(browser, live_server):
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    page = opened.page
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    opened.card()
    assert page.inner_text("#card .card-title") == "38 MAPLE AVE"
    page.click("#lang")
    page.wait_for_function("dcMap.getStyle()?.metadata['digitalcity:lang'] === 'zh'")
    opened.ready()
    assert page.inner_text("h1") == "公众地图"
    assert page.get_attribute("#q", "placeholder") == "搜索地址…"
    page.wait_for_function("document.querySelector('#layer-list h3').textContent === '土地利用'")
    assert "地块（土地利用现状）" in page.inner_text("#layer-list")
    page.fill("#q", "38 maple")
    page.press("#q", "Enter")
    page.wait_for_function(
        "document.querySelector('#card .plain')?.textContent.startsWith('自2025年2月起')"
    )
    assert page.inner_text("#card .no-limit") == "无上限"
    assert not opened.errors
    opened.close()


def test_a_citizen_finds_a_place_by_the_coordinates_a_map_app_gave(browser, live_server):
    """坐标定位 on the public map: latitude and longitude as a phone's map app copies them
    (latitude first) fly to the place, pin it and open the card of the parcel there."""
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    page = opened.page
    page.fill("#q", f"{MAPLE[1]}, {MAPLE[0]}")
    page.press("#q", "Enter")
    opened.card()
    assert page.inner_text("#card .card-title") == "38 MAPLE AVE"
    assert page.locator(".maplibregl-marker[aria-label='Place searched']").count() == 1
    page.fill("#q", "38 maple")  # a search by words takes the pin away
    page.press("#q", "Enter")
    page.wait_for_function("!document.querySelector('.maplibregl-marker')")
    assert not opened.errors
    opened.close()


def test_a_citizen_sees_a_hydrants_survey_photo(browser, live_server, engine):  # noqa: ANN001
    """附件 on the public map: a hydrant's photo (its layer keeps files for everyone) is listed
    on the hydrant's card with its thumbnail, and offers nothing to change; no key is sent."""
    import io

    import httpx
    from PIL import Image

    from digitalcity.db.keys import create_key

    with engine.connect() as conn:
        fid, hydrant = conn.execute(
            sa.text(
                "SELECT max(fid), hydrant_id FROM cambridge.hydrants WHERE length(hydrant_id) >= 5 "
                "GROUP BY hydrant_id HAVING count(*) = 1 ORDER BY max(fid) DESC LIMIT 1"
            )
        ).one()
    image = io.BytesIO()
    Image.new("RGB", (90, 60), (220, 40, 40)).save(image, format="PNG")
    added = httpx.post(
        f"{live_server}/collections/cambridge__hydrants/items/{fid}/attachments",
        params={"name": "survey 现场照片.png"},
        content=image.getvalue(),
        headers={
            "Content-Type": "image/png",
            "X-API-Key": create_key(engine, "land_bureau", "p").key,
        },
    )
    assert added.status_code == 201, added.text
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    page = opened.page
    try:
        page.fill("#q", hydrant)
        page.press("#q", "Enter")
        opened.card()
        assert page.inner_text("#card [data-attachments]") == "Photos and files"  # plain words
        page.click("#card [data-attachments]")
        page.wait_for_selector("#card .attach-item", timeout=30_000)
        assert page.inner_text("#card .attach-panel h3") == "Photos and files (1)"
        assert "survey 现场照片.png" in page.inner_text("#card .attach-list")
        page.wait_for_function("document.querySelector('#card .attach-thumb')?.naturalWidth === 90")
        assert page.locator("#card .attach-form, #card [data-remove]").count() == 0
        assert not [r for r in opened.requests if r.headers.get("x-api-key")]
        assert not opened.errors
    finally:
        opened.close()
        httpx.delete(
            added.json()["href"], headers={"X-API-Key": create_key(engine, "admin", "p").key}
        )


def test_gcj02_conversion_in_the_browser_matches_python(browser, live_server):
    opened = Opened(browser, f"{live_server}{PUBLIC_URL}")
    for lon, lat in ((118.12, 24.58), (116.40, 39.91), (-71.1, 42.37)):
        got = opened.page.evaluate(
            "async ([lon, lat]) => (await import('/static/web/js/basemap.js')).wgs84ToGcj02(lon, lat)",
            [lon, lat],
        )
        assert got == pytest.approx(list(wgs84_to_gcj02(lon, lat)), abs=1e-9)
    opened.close()


@pytest.mark.parametrize("crs", ["WGS84", "GCJ-02"])
def test_external_basemap_is_drawn_under_the_city_layers(browser, settings, loaded, crs):
    from digitalcity.api import create_app

    port = free_port()  # the basemap comes from the same origin: no CORS needed in the test
    tile = f"http://127.0.0.1:{port}/static/web/vendor/leaflet/images/layers.png?z={{z}}&x={{x}}&y={{y}}"
    app = create_app(settings.model_copy(update={"basemap_url": tile, "basemap_crs": crs}))
    server, base = serve(app, port)
    try:
        opened = Opened(browser, f"{base}{PUBLIC_URL}")
        ids = [x["id"] for x in opened.page.evaluate("dcMap.getStyle().layers")]
        assert ids[:2] == ["background", "dc-basemap"]
        assert [r for r in opened.requests if "layers.png?z=" in r.url]
        assert not opened.errors
        opened.close()
    finally:
        server.should_exit = True


@pytest.fixture(scope="module")
def static_site(app, engine, settings, tmp_path_factory, live_server) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("site")
    archive = folder / "cambridge.pmtiles"
    export_pmtiles(tile_service(app), engine, "cambridge", range(13, 16), archive)
    build_static_site(archive, "cambridge", settings=settings, lang="en")
    server, base = serve_folder(folder)
    yield base
    server.should_exit = True


def serve_folder(folder: Path) -> tuple[uvicorn.Server, str]:
    """A static site's folder served as any web server would (``serve``)."""
    from starlette.applications import Starlette
    from starlette.staticfiles import StaticFiles

    site = Starlette()
    site.mount("/", StaticFiles(directory=folder, html=True))
    return serve(site)


def test_static_pmtiles_site_runs_without_the_api(browser, static_site, live_server, internal):
    url = f"{static_site}/#z=16.5&ll={MAPLE[0]},{MAPLE[1]}"
    opened = Opened(browser, url)
    assert drawn_share(opened.page) > 0.6
    assert not opened.page.is_visible("#changes-toggle")  # no history without the API
    opened.click_lonlat(*MAPLE)
    text = opened.card()
    assert "38 MAPLE AVE" in text and "C-1" in text and "Maximum height" in text
    assert "Since February 2025" in text  # the plain description travels with the site
    assert opened.page.inner_text("#card .no-limit") == "no limit"
    opened.page.screenshot(path=SHOTS / "static-site.png")
    remote = [r.url for r in opened.requests if r.url.startswith("http")]
    assert remote and all(u.startswith(static_site) for u in remote), remote
    assert [r for r in opened.requests if r.url.endswith("cambridge.pmtiles")]
    assert_public_only(opened, internal)
    assert not opened.errors
    opened.close()


def test_a_static_site_shares_a_place_too(browser, static_site):
    """A static site has no API: the shared link's parcel is found in the tiles of the view
    it names, and its card read from them (zone included) as a click reads it."""
    opened = Opened(browser, f"{static_site}/#z=16.5&ll={MAPLE[0]},{MAPLE[1]}")
    opened.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=static_site)
    opened.click_lonlat(*MAPLE)
    opened.card()
    opened.page.click("#share-place")
    opened.page.wait_for_function(
        "document.querySelector('#share-place').textContent === 'Link copied'"
    )
    link = opened.page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(static_site) and "sel=" in link
    opened.close()
    # moved off the parcel, as a sharer may be: the card still reads the parcel's own zone
    moved = link.replace(f"ll={MAPLE[0]:.6f}", f"ll={MAPLE[0] + 0.0006:.6f}")
    assert moved != link
    shared = Opened(browser, moved)
    text = shared.card()
    assert "38 MAPLE AVE" in text and "C-1" in text
    assert not shared.errors
    shared.close()


@pytest.mark.parametrize(
    ("page", "state"),
    [
        ("public", "c=cambridge&ll=1e308,1e308"),
        ("map", "c=cambridge&ll=0,1000&z=1e308&sel=-1"),
        ("public", "c=cambridge&ll=-500,20&z=-5&sel=1e20"),
        ("map", "c=cambridge&at=2026-13-45&cmp=%3Cscript%3E"),
        ("public", "c=cambridge&cmp=no_such_theme"),
    ],
)
def test_a_link_out_of_range_opens_the_city(browser, live_server, page, state):
    """A hand-edited or cut link: a centre off the Earth left the map unable to start (it
    never got ready); a negative or huge feature id asked the API for it (a 400). Values out
    of range are dropped and the city opens where it would without them."""
    opened = Opened(browser, f"{live_server}/{page}?lang=en#{state}")
    lon, lat = (float(v) for v in opened.hash()["ll"].split(","))
    assert -71.2 < lon < -71.0 and 42.3 < lat < 42.45
    assert 0 <= float(opened.hash()["z"]) <= 24 and "sel" not in opened.hash()
    assert not {"at", "cmp"} & set(opened.hash())  # a day that is none, a theme not there
    assert opened.page.locator("#compare-map").count() == 0
    assert not opened.errors
    opened.close()


@pytest.fixture(scope="module")
def quiet_street(engine, loaded) -> tuple[float, float, str]:
    """Lon/lat of the middle of a long street segment with no parcel or major road nearby,
    and the segment's street name."""
    query = sa.text(
        "SELECT ST_X(p), ST_Y(p), street FROM (SELECT street,"
        " ST_LineInterpolatePoint(ST_LineMerge(geom), 0.5) AS p FROM cambridge.street_centerlines"
        " WHERE ST_NumGeometries(geom) = 1 ORDER BY ST_Length(geom::geography) DESC LIMIT 300) s"
        " WHERE NOT EXISTS (SELECT 1 FROM cambridge.parcels x WHERE ST_DWithin(x.geom, s.p, 2e-4))"
        " AND NOT EXISTS (SELECT 1 FROM cambridge.major_roads m WHERE ST_DWithin(m.geom, s.p, 3e-4))"
        " ORDER BY street LIMIT 1"
    )
    with engine.connect() as conn:
        lon, lat, street = conn.execute(query).one()
    return lon, lat, street


def test_a_feature_below_its_detail_zoom_shows_every_field(browser, live_server, catalog,
                                                          quiet_street):  # fmt: skip
    """Below a layer's ``detail_zoom`` the API's tiles carry only what is drawn; the card reads
    the feature's public fields from the API."""
    streets = catalog.layer("cambridge", "street_centerlines")
    lon, lat, street = quiet_street
    z = streets.detail_zoom - 1
    opened = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&z={z}&ll={lon},{lat}")
    tile_fields = opened.page.evaluate(
        f"""dcMap.queryRenderedFeatures(dcMap.project([{lon}, {lat}]))
            .filter((f) => f.sourceLayer === 'street_centerlines')
            .map((f) => Object.keys(f.properties).length)"""
    )
    assert tile_fields == [0]  # nothing drawn from the segment's fields at this zoom
    opened.click_lonlat(lon, lat)
    text = opened.card()
    title = next(f.title.en for f in streets.fields if f.name == "street")
    assert f"{title}\t{street}" in text
    assert sum(f.title.en in text for f in streets.fields) >= len(streets.fields) - 2
    assert not opened.errors
    opened.close()


def test_the_static_site_searches_its_tiles_below_the_detail_zoom(browser, static_site):
    """A static site has no API: its tiles keep the label and search fields at every zoom."""
    opened = Opened(browser, f"{static_site}/#z=14&ll={MAPLE[0]},{MAPLE[1]}")
    opened.page.fill("#q", "38 maple")
    opened.page.press("#q", "Enter")
    opened.page.wait_for_selector("#hits button, #card:not([hidden]) .card-title")
    assert "38 MAPLE AVE" in opened.page.inner_text("body")
    opened.page.fill("#q", "")  # hides the last search's hits
    opened.page.fill("#q", "ave maple")  # words in any order, as the API's search finds them
    opened.page.press("#q", "Enter")
    opened.page.wait_for_selector("#hits:not([hidden]) li")
    found = opened.page.inner_text("#hits")
    assert "MAPLE AVE" in found, found  # not "no results"
    assert not opened.errors
    opened.close()


@pytest.fixture(scope="module")
def xiamen_site(app, engine, settings, tmp_path_factory, live_server) -> Iterator[tuple[str, dict]]:
    """Xiamen's static site (z9-z11), and its archive's metadata."""
    from digitalcity.web.static_site import read_archive

    folder = tmp_path_factory.mktemp("xiamen-site")
    archive = folder / "xiamen.pmtiles"
    export_pmtiles(tile_service(app), engine, "xiamen", range(9, 12), archive)
    build_static_site(archive, "xiamen", settings=settings, lang="zh")
    server, base = serve_folder(folder)
    yield base, read_archive(archive)[1]
    server.should_exit = True


def test_a_static_site_finds_chinese_names_by_pinyin(browser, xiamen_site):
    """The archive carries the pinyin keys of its public search values (a static site has no
    API to ask), and the site's search uses them as the API's does."""
    base, metadata = xiamen_site
    keys = metadata["digitalcity:pinyin"]
    assert keys["思明区"].split("|")[0].split()[0] == "simingqu"
    opened = Opened(browser, base)
    for q in ("siming", "sm", "hu li"):
        opened.page.fill("#q", q)
        opened.page.press("#q", "Enter")
        opened.page.wait_for_selector("#hits:not([hidden]) button, #card:not([hidden]) .card-title")
        text = opened.page.inner_text("#hits") + opened.page.inner_text("#card")
        assert ("思明区" if q != "hu li" else "湖里区") in text, (q, text)
    opened.page.fill("#q", "qu")  # two letters inside every spelling: no hit
    opened.page.press("#q", "Enter")
    opened.page.wait_for_timeout(300)
    assert "思明区" not in opened.page.inner_text("#hits")
    assert not opened.errors
    opened.close()
