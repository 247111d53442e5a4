"""folium maps for notebooks: the features of a bbox, catalog colours, mapclassify classes,
and HTML that loads nothing from the internet (checked in headless Chromium too)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import folium
import mapclassify
import pytest
from test_web_planner import launched_browser

import digitalcity.maps as maps
from digitalcity.catalog.codes import code_tables
from digitalcity.city import City

BBOX = (-71.110, 42.370, -71.100, 42.375)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def city(catalog, engine, loaded) -> City:
    return City(catalog, catalog.city("cambridge"), engine, "anonymous")


@pytest.fixture(scope="module")
def parcels_map(city) -> tuple[folium.Map, str]:
    m = maps.explore(city, layers=["parcels", "hydrants"], bbox=BBOX, lang="en")
    return m, m.get_root().render()


def geojson_layers(m: folium.Map) -> list[folium.GeoJson]:
    return [c for c in m._children.values() if isinstance(c, folium.GeoJson)]


def external_assets(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', html)


def test_explore_embeds_every_feature_of_the_bbox(parcels_map, client):
    m, html = parcels_map
    layers = geojson_layers(m)
    assert [g.layer_name for g in layers] == ["Parcels (current land use)", "Fire hydrants"]
    bbox = ",".join(map(str, BBOX))
    for g, collection in zip(layers, ["cambridge__parcels", "cambridge__hydrants"], strict=True):
        matched = client.get(f"/collections/{collection}/items",
                             params={"bbox": bbox, "limit": 1}).json()["numberMatched"]  # fmt: skip
        assert len(g.data["features"]) == matched > 10
    assert html.count('"type": "Feature"') >= sum(len(g.data["features"]) for g in layers)


def test_explore_uses_the_code_table_colours_and_a_legend(parcels_map, settings):
    """The same classes and colours as the web maps: Cambridge's own use classes first."""
    m, html = parcels_map
    residential = code_tables(settings.layers_dir)["ma_use"].colour_for("100")
    assert residential in html and "Residential" in html
    parcels = geojson_layers(m)[0]
    feature = next(f for f in parcels.data["features"] if f["properties"]["use_code"] == "101")
    assert parcels.style_function(feature)["fillColor"] == residential


def test_maps_work_offline(parcels_map, city, browser):
    _, html = parcels_map
    assert not external_assets(html)
    assert "data:text/javascript;base64," in html and "cdn.jsdelivr" not in html
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_content(html, wait_until="load")
    page.wait_for_function(
        "typeof L !== 'undefined' && document.querySelectorAll('.leaflet-interactive').length > 100"
    )
    assert not [u for u in requests if u.startswith("http")]
    page.close()


def test_choropleth_classes_with_mapclassify(city):
    m = maps.choropleth(city, "census_blocks_2000", "population", scheme="quantiles", k=5)
    html = m.get_root().render()
    values = city.read("census_blocks_2000", columns=["population"])["population"].astype(float)
    bins = mapclassify.Quantiles(values.to_numpy(), k=5).bins
    assert f"{bins[-1]:,.4g}" in html and f"{bins[1]:,.4g}" in html
    assert "Residents (persons) · quantiles" in html
    assert not external_assets(html)
    layer = geojson_layers(m)[0]
    assert len(layer.data["features"]) == len(values)
    top = max(layer.data["features"], key=lambda f: f["properties"]["population"] or 0)
    assert layer.style_function(top)["fillColor"] == "#bd0026"  # the darkest of 5 YlOrRd
    with pytest.raises(ValueError):
        maps.choropleth(city, "census_blocks_2000", "population", k=12)


def test_dc_maps_is_importable_as_a_submodule():
    import digitalcity

    assert digitalcity.maps.explore is maps.explore and callable(maps.offline)


def _labels_at(page, name: str, zoom: int) -> list[str]:  # noqa: ANN001
    # nothing returned: the map object it returns takes Playwright ~7 s to serialise
    page.evaluate(f"{name}.setZoom({zoom}, {{animate: false}}); null")
    page.wait_for_timeout(300)
    return page.eval_on_selector_all(".dc-label span", "els => els.map((e) => e.textContent)")


def test_explore_draws_the_definitions_labels_in_their_zoom_range(city, browser):
    """Street names (one per street, at z15+) and parcel addresses (z17+), as on the web map."""
    m = maps.explore(city, layers=["parcels", "street_centerlines"], bbox=BBOX, lang="en")
    html = m.get_root().render()
    streets = city.read("street_centerlines", bbox=BBOX, crs="EPSG:4326")
    names = set(streets["label"].dropna().astype(str))
    page = browser.new_page()
    page.set_content(html, wait_until="load")
    page.wait_for_function("typeof L !== 'undefined'")
    assert _labels_at(page, m.get_name(), 13) == []  # below both labels' zooms
    at15 = _labels_at(page, m.get_name(), 15)
    assert "MASSACHUSETTS AVE" not in names or "MASSACHUSETTS AVE" in at15
    assert set(at15) <= names and len(at15) == len(set(at15)) >= 5  # one per street
    assert "38 MAPLE AVE" not in at15
    assert "38 MAPLE AVE" in _labels_at(page, m.get_name(), 17)
    page.close()


def test_labels_are_text_not_html(city, browser):
    from digitalcity.web.folium_labels import Labels
    from digitalcity.web.folium_maps import offline

    layer = city.layer("street_centerlines")
    m = offline(folium.Map(location=[42.37, -71.10], zoom_start=16, tiles=None))
    Labels(layer, [(-71.10, 42.37, "<img src=x onerror=alert(1)></script>")]).add_to(m)
    page = browser.new_page()
    page.set_content(m.get_root().render(), wait_until="load")
    page.wait_for_selector(".dc-label span")
    assert page.inner_text(".dc-label span") == "<img src=x onerror=alert(1)></script>"
    assert page.locator(".dc-label img").count() == 0
    page.close()


def test_explore_colours_graduated_layers_like_the_web_maps(catalog, engine, loaded):
    """Shanghai's districts in the definition's density classes, with the classes in the
    legend: each feature takes the colour the web maps' ``step`` gives its density."""
    shanghai = City(catalog, catalog.city("shanghai"), engine, "anonymous")
    graduated = catalog.layer("shanghai", "districts").style.graduated
    m = maps.explore(shanghai, layers=["districts"], lang="zh")
    html = m.get_root().render()
    districts = geojson_layers(m)[0]
    colours = set()
    for feature in districts.data["features"]:
        density = feature["properties"]["ghsl_density"]
        colour = districts.style_function(feature)["fillColor"]
        assert colour == graduated.colour_of(density)
        colours.add(colour)
    assert len(colours) >= 3  # the classes do tell the districts apart
    assert "GHSL人口密度" in html and "10,000 – 20,000" in html
