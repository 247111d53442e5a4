"""Site boundary check (红线核查) on the planner map, in headless Chromium against the live
API: a CAD drawing of a real Cambridge neighbourhood opened from disk (and the same as a
survey's boundary points in text, 界址点坐标), read in the CRS the planner names, drawn as a
red line with the site's statistics; a drawing without its CRS refused in the page's language.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import sqlalchemy as sa
from conftest import SHARED_DATA
from test_web_planner import HeldRequests, Opened, launched_browser
from test_web_print import printed_legend

VIEW = "#c=cambridge&z=14&ll=-71.1039,42.37295"
DRAWN = "dcMap.getSource('dc-boundary').serialize().data.features.length"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def drawing(tmp_path_factory) -> tuple[Path, float]:  # noqa: ANN001
    """A DXF of a real neighbourhood's outline in Massachusetts state plane feet, and its
    area in m² (EPSG:26986)."""
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    site = frame.iloc[[3]][["geometry"]]
    path = tmp_path_factory.mktemp("drawing") / "site.dxf"
    outline = site.to_crs(2249).boundary.to_frame("geometry").set_geometry("geometry")
    outline.to_file(path, driver="DXF")
    return path, float(site.to_crs(26986).area.iloc[0])


def open_tool(browser, live_server: str, lang: str) -> Opened:  # noqa: ANN001
    opened = Opened(browser, f"{live_server}/map?lang={lang}{VIEW}")
    opened.page.click("#boundary")
    opened.page.wait_for_selector("#card .boundary-form")
    return opened


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_cad_boundary_is_drawn_with_its_statistics(browser, live_server, engine, drawing, lang):
    path, area = drawing
    opened = open_tool(browser, live_server, lang)
    page = opened.page
    page.set_input_files("#card .boundary-form [name=file]", str(path))
    # the city's local CRS is suggested; a CAD drawing needs its own named
    assert page.get_attribute("#card [name=crs]", "placeholder") == "EPSG:26986"
    page.fill("#card [name=crs]", "EPSG:2249")
    page.click("#card .boundary-form button[type=submit]")
    page.wait_for_selector("#card .card-title", timeout=30_000)
    assert page.evaluate(DRAWN) == 1
    text = page.inner_text("#card")
    shown = re.search(r"([\d,]+) (m²|平方米)", text)
    assert shown and abs(int(shown.group(1).replace(",", "")) - area) < 1, text
    assert {"en": "Area statistics", "zh": "区域统计"}[lang] in text
    assert {"en": "Land use by class", "zh": "各类用地面积"}[lang] in text
    # the zoning districts the site falls in, with their limits
    assert {"en": "Zoning districts it falls in", "zh": "所在控规分区"}[lang] in text
    assert page.locator("#card table.zones tr").count() > 2
    # the map shows the site: the red line is drawn in the view
    page.wait_for_function("dcMap.loaded()", timeout=30_000)
    assert page.evaluate("dcMap.queryRenderedFeatures({layers: ['dc-boundary-line']}).length") > 0
    # what lies inside: the query tool over the site, as PostGIS counts it
    page.click("#card [data-boundary=query]")
    page.wait_for_selector(".query-count", timeout=30_000)
    shown = int(re.search(r"\d[\d,]*", page.inner_text(".query-count")).group().replace(",", ""))
    request = urllib.request.Request(
        f"{live_server}/cities/cambridge/boundary?name=site.dxf&crs=EPSG:2249",
        data=path.read_bytes(),
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (the test's own server)
        geometry = json.dumps(json.load(answer)["geometry"])
    with engine.connect() as conn:
        inside = conn.execute(
            sa.text(
                "SELECT count(*) FROM cambridge.parcels WHERE ST_Intersects(geom,"
                " ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326))"
            ),
            {"g": geometry},
        ).scalar()
    assert shown == inside > 100
    assert not opened.errors, opened.errors


def test_a_drawing_without_its_crs_is_refused_in_chinese(browser, live_server, drawing):
    opened = open_tool(browser, live_server, "zh")
    page = opened.page
    page.click("#card .boundary-form button[type=submit]")
    assert "请先选择红线文件" in page.inner_text(".boundary-error")
    page.set_input_files("#card .boundary-form [name=file]", str(drawing[0]))
    page.click("#card .boundary-form button[type=submit]")
    page.wait_for_selector(".boundary-error:not([hidden])")
    page.wait_for_function(
        "document.querySelector('.boundary-error').textContent.includes('坐标系')"
    )
    assert page.evaluate(DRAWN) == 0
    # the file stays chosen: naming the CRS is enough to try again
    page.fill("#card [name=crs]", "EPSG:2249")
    page.click("#card .boundary-form button[type=submit]")
    page.wait_for_selector("#card .card-title", timeout=30_000)
    assert page.evaluate(DRAWN) == 1
    # the console's only complaint is the refused upload's status
    assert all("status of 400" in e for e in opened.errors), opened.errors


def test_a_check_shared_by_link_opens_for_a_signed_in_colleague(
    browser, live_server, drawing, planner_key
) -> None:  # noqa: ANN001
    path, area = drawing
    opened = Opened(browser, f"{live_server}/map?lang=en{VIEW}", key=planner_key)
    page = opened.page
    # the list of their saved checks arrives while they choose the file: the file stays
    # chosen (the list once drew the whole card again, emptying the form)
    held: list = []
    page.route(
        lambda url: url.endswith("/cities/cambridge/sites"), lambda route: held.append(route)
    )
    page.click("#boundary")
    page.wait_for_selector("#card .boundary-saved[aria-busy=true]", state="attached")
    page.set_input_files("#card .boundary-form [name=file]", str(path))
    page.fill("#card [name=crs]", "EPSG:2249")
    assert len(held) == 1
    held[0].continue_()
    page.unroute_all()
    page.wait_for_selector("#card .boundary-saved:not([aria-busy])", state="attached")
    assert page.evaluate("document.querySelector('#card [name=file]').files.length") == 1
    page.click("#card .boundary-form button[type=submit]")
    page.wait_for_selector("#card [data-boundary=share]", timeout=30_000)
    page.click("#card [data-boundary=share]")
    page.wait_for_selector("#card .boundary-link", timeout=30_000)
    link = page.input_value("#card .boundary-link")
    assert re.search(r"[#&]site=[A-Za-z0-9_-]{16,}", link), link
    assert "site=" in page.evaluate("location.hash")
    page.wait_for_selector("#card .saved-sites", timeout=15_000)  # among the checks they saved
    assert path.name in page.inner_text("#card .saved-sites")
    # a colleague, signed in, opens the link: the same red line and the site's statistics
    other = Opened(browser, link.replace("lang=en", "lang=zh"), key=planner_key)
    other.page.wait_for_selector("#card .card-title", timeout=30_000)
    assert other.page.evaluate(DRAWN) == 1
    text = other.page.inner_text("#card")
    shown = re.search(r"([\d,]+) (m²|平方米)", text)
    assert shown and abs(int(shown.group(1).replace(",", "")) - area) < 1, text
    assert "区域统计" in text
    # the public (no key) learns nothing from the link
    stranger = Opened(browser, link)
    stranger.page.wait_for_selector(
        "#card .boundary-error:not([hidden]), #card .error", timeout=30_000
    )
    assert "cannot be found" in stranger.page.inner_text("#card")
    assert stranger.page.evaluate(DRAWN) == 0
    # clearing the boundary takes it out of the link
    page.click("#card [data-boundary=clear]")
    assert "site=" not in page.evaluate("location.hash")
    assert not opened.errors and not other.errors, (opened.errors, other.errors)
    # the stranger's one error is the browser's note of the site's 404, which the page says
    assert [e for e in stranger.errors if "404" not in e] == []


def test_only_the_last_saved_site_opened_is_shown(browser, live_server, planner_key) -> None:  # noqa: ANN001
    """Two saved checks opened faster than their boundaries came: the second is drawn with
    its own statistics and in the link, never the first's slower answer."""
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    tokens: dict[str, str] = {}
    for name, row in (("first-site.geojson", 2), ("second-site.geojson", 5)):
        body = frame.iloc[[row]][["geometry"]].to_crs(4326).to_json().encode()
        answer = httpx.post(
            f"{live_server}/cities/cambridge/boundary",
            params={"name": name, "save": "true"},
            content=body,
            headers={"X-API-Key": planner_key},
        )
        assert answer.status_code == 200, answer.text
        tokens[name] = answer.json()["properties"]["site"]
    try:
        opened = Opened(browser, f"{live_server}/map?lang=en{VIEW}", key=planner_key)
        page = opened.page
        page.click("#boundary")
        page.wait_for_selector("#card .saved-sites", timeout=15_000)
        sites = HeldRequests(page, "/sites/")
        sites.hold_next()
        opening = "#card .saved-sites tr:has-text('{}') [data-saved-open]"
        page.click(opening.format("first-site.geojson"))
        sites.wait_held(1)
        page.click(opening.format("second-site.geojson"))
        page.wait_for_selector("#card .boundary-form + table.kv td.data", timeout=30_000)
        page.wait_for_function("!document.querySelector('#card').textContent.includes('Loading')")
        shown = page.inner_text("#card")
        assert "second-site.geojson" in shown
        sites.release_last()  # the first site, late
        assert page.inner_text("#card") == shown
        assert f"site={tokens['second-site.geojson']}" in page.evaluate("location.hash")
        assert page.evaluate(DRAWN) == 1
        assert not opened.errors, opened.errors
        opened.close()
    finally:
        for token in tokens.values():
            httpx.delete(
                f"{live_server}/cities/cambridge/sites/{token}", headers={"X-API-Key": planner_key}
            )


def test_boundary_points_as_text_are_checked_like_a_drawing(browser, live_server, tmp_path):
    """界址点坐标: the same neighbourhood as a survey's list of points (`.txt`, named points,
    easting then northing in Massachusetts metres), opened in the tool with its CRS named:
    drawn, with its area."""
    frame = gpd.read_file(SHARED_DATA / "cambridge_ma" / "BOUNDARY_CDDNeighborhoods.geojson")
    site = frame.iloc[[3]].to_crs(26986).geometry.iloc[0]
    outline = max(getattr(site, "geoms", [site]), key=lambda p: p.area)
    path = tmp_path / "界址点.txt"
    path.write_text(
        "\n".join(f"J{i} {x:.3f} {y:.3f}" for i, (x, y) in enumerate(outline.exterior.coords, 1)),
        encoding="utf-8",
    )
    opened = open_tool(browser, live_server, "en")
    page = opened.page
    assert ".txt" in page.get_attribute("#card .boundary-form [name=file]", "accept")
    page.set_input_files("#card .boundary-form [name=file]", str(path))
    page.fill("#card [name=crs]", "EPSG:26986")
    page.click("#card .boundary-form button[type=submit]")
    page.wait_for_selector("#card .card-title", timeout=30_000)
    assert page.evaluate(DRAWN) == 1
    shown = re.search(r"([\d,]+) m²", page.inner_text("#card"))
    assert shown and abs(int(shown.group(1).replace(",", "")) - outline.area) < 1
    # printed (红线图), the sheet's legend starts with the red line and its file
    assert printed_legend(page)[:2] == ["Check a site boundary", "界址点.txt"]
    assert not opened.errors
    opened.close()
