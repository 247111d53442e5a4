"""Map labels, default layers and themes in headless Chromium against the live API.

Labels are drawn from the layer definitions' ``[label]`` tables with the browser's own fonts
(the styles have no ``glyphs`` URL), so every request stays on our server. Never skipped:
without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from test_web_planner import READY, WIDE, Opened, launched_browser
from test_web_public import static_site  # noqa: F401 - the static PMTiles site fixture

from digitalcity.catalog.access import visible_layer
from digitalcity.romanise import romanise

MASS_AVE = "Massachusetts Ave"
LABELS_DRAWN = """([layer, field]) => [...new Set(window.map.queryRenderedFeatures(
    undefined, {layers: [layer]}).map((f) => f.properties[field]))]"""
SHOWN = """() => [...new Set(window.map.getStyle().layers.filter((l) => l.metadata &&
    (l.layout || {}).visibility !== 'none').map((l) => l.metadata['digitalcity:layer']))]"""


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def mass_ave(engine, loaded) -> tuple[float, float]:
    """Lon/lat (WGS84) of the middle of the longest Massachusetts Ave centre-line segment."""
    query = sa.text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(ST_LineMerge(geom), 0.5)"
        " AS p FROM cambridge.street_centerlines WHERE label = :name"
        " AND ST_NumGeometries(geom) = 1 ORDER BY ST_Length(geom::geography) DESC LIMIT 1) s"
    )
    with engine.connect() as conn:
        lon, lat = conn.execute(query, {"name": MASS_AVE}).one()
    return lon, lat


def wait_for_labels(opened: Opened, layer: str, field: str, timeout: float = 20.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = opened.page.evaluate(LABELS_DRAWN, [layer, field])
        if found or time.monotonic() > deadline:
            return found
        opened.page.wait_for_timeout(100)


def only_our_server(opened: Opened, base: str) -> None:
    outside = [r.url for r in opened.requests if not r.url.startswith((base, "data:", "blob:"))]
    assert not outside, outside[:5]


@pytest.mark.parametrize("page", ["map", "public"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_street_names_along_massachusetts_ave(browser, live_server, mass_ave, page, lang):
    started = time.perf_counter()
    url = f"{live_server}/{page}?lang={lang}#c=cambridge&z=16&ll={mass_ave[0]},{mass_ave[1]}"
    opened = Opened(browser, url)
    names = wait_for_labels(opened, "street_centerlines-label", "label")
    seconds = time.perf_counter() - started
    print(f"\n{page} {lang}: first labelled render {seconds:.2f} s, {len(names)} street names")
    assert MASS_AVE in names
    layer = opened.page.evaluate("window.map.getLayer('street_centerlines-label').type")
    assert layer == "symbol"
    assert "glyphs" not in opened.page.evaluate("window.map.getStyle()")
    only_our_server(opened, live_server)
    assert not opened.errors
    opened.close()


# the Chinese demo cities' first views, and districts there that any label placement names
CENTRAL_DISTRICTS = {
    "xiamen": {"思明区", "湖里区"},
    "beijing": {"海淀区", "朝阳区"},
    "shanghai": {"浦东新区", "闵行区"},
    "shenzhen": {"福田区", "南山区"},
}


@pytest.mark.parametrize("city", sorted(CENTRAL_DISTRICTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chinese_cities_name_their_districts_once(
    browser, live_server, catalog, engine, loaded, city, lang
):
    """Each Chinese demo city's public map names its districts from the first view, each
    once: in Chinese on the Chinese map, in pinyin on the English one (the data has Chinese
    names only: test_romanise.py)."""
    label = catalog.layer(city, "districts").label
    shown = "district" if lang == "zh" else "district_en"
    assert label is not None and label.field_for(lang)[0] == shown
    with engine.connect() as conn:
        query = sa.text(f"SELECT district FROM {city}.districts")  # noqa: S608 - a catalog id
        districts = {r[0] for r in conn.execute(query)}
    opened = Opened(browser, f"{live_server}/public?city={city}&lang={lang}")
    wait_for_labels(opened, "districts-label", "district")
    opened.page.wait_for_function(READY.replace("dcMap", "map"), timeout=30_000)
    drawn = opened.page.evaluate(
        "() => window.map.queryRenderedFeatures(undefined, {layers: ['districts-label']})"
        ".map((f) => f.properties.district)"
    )
    print(f"\n{city} {lang}: {len(drawn)} of {len(districts)} districts named: {sorted(drawn)}")
    assert set(drawn) <= districts and CENTRAL_DISTRICTS[city] <= set(drawn)
    assert len(drawn) == len(set(drawn)), sorted(drawn)
    texts = opened.page.evaluate(
        f"() => window.map.queryRenderedFeatures(undefined, {{layers: ['districts-label']}})"
        f".map((f) => f.properties.{shown})"
    )
    assert texts == [romanise(d) if lang == "en" else d for d in drawn]
    only_our_server(opened, live_server)
    assert not opened.errors
    opened.close()


def test_zone_codes_and_addresses_at_their_zooms(browser, live_server, catalog):
    parcels = catalog.layer("cambridge", "parcels").label
    assert parcels is not None and parcels.min_zoom >= 17
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge&z=17.5&ll=-71.1039,42.37295")
    addresses = wait_for_labels(opened, "parcels-label", "address")
    assert "38 MAPLE AVE" in addresses
    codes = wait_for_labels(opened, "zoning_districts-label", "zone_code")
    assert "C-1" in codes
    # until the map has drawn z16 (idle: tiles loaded, labels placed again): right after
    # jumpTo the map may still count as loaded with z17.5's labels placed (a CI run saw it)
    opened.page.evaluate(
        "new Promise((done) => { window.map.once('idle', () => done(null));"
        " window.map.jumpTo({zoom: 16}); })"
    )
    opened.page.wait_for_function(READY.replace("dcMap", "map"), timeout=30_000)
    assert opened.page.evaluate(LABELS_DRAWN, ["parcels-label", "address"]) == []
    opened.close()


NAMED_ON_SCREEN = """(points) => {
    const c = window.map.getCanvas().getBoundingClientRect();
    return points.filter(([, lon, lat]) => { const p = window.map.project([lon, lat]);
        return p.x > 80 && p.y > 40 && p.x < c.width - 80 && p.y < c.height - 40; })
      .map(([name]) => name); }"""


@pytest.mark.parametrize("page", ["map", "public"])
def test_each_neighbourhood_is_named_once(browser, live_server, engine, loaded, page):
    """A polygon's name is drawn from one point inside it, not once per tile the polygon
    crosses, and the names (priority 90) win their collisions with street names (60-70):
    every neighbourhood whose label point is on screen is named, and none twice."""
    query = sa.text(
        "SELECT name, ST_X(p), ST_Y(p) FROM (SELECT name, ST_Transform(ST_PointOnSurface("
        "ST_Transform(geom, 3857)), 4326) AS p FROM cambridge.neighbourhoods) s"
    )
    with engine.connect() as conn:
        points = [list(r) for r in conn.execute(query)]
    url = f"{live_server}/{page}?lang=en#c=cambridge&z=13&ll=-71.11,42.378"
    opened = Opened(browser, url, *WIDE)  # every neighbourhood in view
    wait_for_labels(opened, "neighbourhoods-label", "name")
    opened.page.wait_for_function(READY.replace("dcMap", "map"), timeout=30_000)
    expected = set(opened.page.evaluate(NAMED_ON_SCREEN, points))
    drawn = opened.page.evaluate(
        "() => window.map.queryRenderedFeatures(undefined, {layers: ['neighbourhoods-label']})"
        ".map((f) => f.properties.name)"
    )
    assert len(expected) >= 8
    assert expected <= set(drawn)
    assert len(drawn) == len(set(drawn)), sorted(drawn)
    assert opened.page.evaluate("window.map.getLayer('neighbourhoods-label').sourceLayer") == (
        "neighbourhoods-label"
    )
    opened.close()


def default_layers(catalog, city: str, page: str) -> set[str]:
    """Layers an anonymous visitor sees when ``page`` opens, per the definitions."""
    return {
        x.id
        for x in catalog.city_layers(city)
        if visible_layer("anonymous", x) and getattr(x.default_on, page)
    }


def test_public_map_opens_with_the_layers_its_definitions_switch_on(browser, live_server,
                                                                   catalog, loaded):  # fmt: skip
    opened = Opened(browser, f"{live_server}/public?lang=en#c=cambridge")
    shown = set(opened.page.evaluate(SHOWN))
    expected = default_layers(catalog, "cambridge", "public")
    assert shown == expected
    themed = [x for x in catalog.city_layers("cambridge") if x.theme and x.id in shown]
    assert [x.id for x in themed] == ["parcels"]  # one thematic fill: current land use
    boxes = opened.page.locator("input[data-theme-layer]")
    assert boxes.count() >= 3
    opened.page.check("input[data-theme-layer=zoning_districts]")
    after = set(opened.page.evaluate(SHOWN))
    assert "zoning_districts" in after and "parcels" not in after
    assert after - {"zoning_districts"} == shown - {"parcels"}
    assert "zoning_districts" in opened.hash()["layers"].split(",")
    opened.page.check("input[data-theme-layer='']")
    assert not {x.id for x in themed} & set(opened.page.evaluate(SHOWN))
    opened.close()


def test_planner_defaults_and_opacity_slider(browser, live_server, catalog, loaded):
    opened = Opened(browser, f"{live_server}/map?lang=zh#c=cambridge")
    shown = set(opened.page.evaluate(SHOWN))
    assert shown == default_layers(catalog, "cambridge", "planner")
    assert "street_lights" not in shown
    base = opened.page.evaluate("window.map.getPaintProperty('parcels-fill', 'fill-opacity')")
    slider = opened.page.locator("input[data-opacity=parcels]")
    assert "不透明度" in opened.page.inner_text("[data-layer-row=parcels]")
    slider.fill("25")
    after = opened.page.evaluate("window.map.getPaintProperty('parcels-fill', 'fill-opacity')")
    assert after == pytest.approx(base * 0.25)
    assert not opened.page.locator("input[data-opacity=street_centerlines]").count()
    opened.close()


def test_dense_points_wait_for_their_zoom(client, catalog):
    lights = catalog.layer("cambridge", "street_lights")
    style = client.get("/styles/cambridge/planner").json()
    circle = next(x for x in style["layers"] if x["id"] == "street_lights-circle")
    assert circle["minzoom"] == lights.min_zoom >= 16
    tilejson = client.get("/tiles/cambridge/tilejson.json").json()
    entry = next(x for x in tilejson["vector_layers"] if x["id"] == "street_lights")
    assert entry["minzoom"] == lights.min_zoom


def test_static_pmtiles_site_draws_the_same_labels(browser, static_site, mass_ave):  # noqa: F811
    opened = Opened(browser, f"{static_site}/#z=16&ll={mass_ave[0]},{mass_ave[1]}")
    assert MASS_AVE in wait_for_labels(opened, "street_centerlines-label", "label")
    assert opened.page.evaluate("window.map.getLayer('parcels-label').minzoom") >= 17
    # the archive stops before the parcels' labels start: they label the overzoomed parcels
    assert opened.page.evaluate("window.map.getLayer('parcels-label').sourceLayer") == "parcels"
    only_our_server(opened, static_site)
    assert not opened.errors
    opened.close()


HEX_OF = """(c) => '#' + [c.r, c.g, c.b].map((v) => Math.round(v * 255).toString(16)
    .padStart(2, '0')).join('')"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_districts_are_coloured_by_density_with_a_legend(browser, live_server, catalog, lang):
    """Shanghai's public map colours each district by its density class (what MapLibre
    evaluates for the drawn feature), and its legend says what the classes measure."""
    graduated = catalog.layer("shanghai", "districts").style.graduated
    opened = Opened(browser, f"{live_server}/public?city=shanghai&lang={lang}")
    wait_for_labels(opened, "districts-label", "district")
    drawn = opened.page.evaluate(
        f"""() => window.map.queryRenderedFeatures(undefined, {{layers: ['districts-fill']}})
            .map((f) => [f.properties.ghsl_density, ({HEX_OF})(f.layer.paint['fill-color'])])"""
    )
    assert len({colour for _, colour in drawn}) >= 3
    for density, colour in drawn:
        assert colour == graduated.colour_of(density), density
    legend = opened.page.locator("[data-layer-row=districts]").text_content() or ""
    caption = (
        "GHSL人口密度（人/平方千米）" if lang == "zh" else "GHSL population density (persons/km²)"
    )
    assert caption in legend and "10,000 – 20,000" in legend
    opened.close()
