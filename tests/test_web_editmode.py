"""Editing on the planner map in headless Chromium: a land-bureau user changes a parcel's use
through the generated form with a reason; the API, the card and the map's tiles show the new
class; the history panel lists the change; callers without edit rights see no edit controls;
the date control puts the map and its cards as of a day. The parcel is set back at the end.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from test_web_planner import READY, Opened, launched_browser

from digitalcity.db.keys import create_key


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def parcel(engine, loaded) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT fid, address, ST_X(ST_PointOnSurface(geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(geom)) AS lat FROM cambridge.parcels "
                "WHERE use_code = '101' AND address IS NOT NULL "
                "AND ST_X(ST_Centroid(geom)) BETWEEN -71.125 AND -71.12 ORDER BY fid LIMIT 1"
            )
        ).one()
    return dict(row._mapping)


def _signed_in(browser, live_server: str, key: str | None, parcel: dict) -> Opened:  # noqa: ANN001
    url = f"{live_server}/map?lang=en#c=cambridge&z=18&ll={parcel['lon']},{parcel['lat']}&sel={parcel['fid']}"
    opened = Opened(browser, url)
    if key:
        opened.page.evaluate("k => sessionStorage.setItem('digitalcity.apiKey', k)", key)
        opened.page.reload()
        opened.ready()
    opened.card()
    return opened


def _rendered_use(page, parcel: dict) -> list:  # noqa: ANN001
    return page.evaluate(
        "([lon, lat]) => dcMap.queryRenderedFeatures(dcMap.project([lon, lat]))"
        ".filter((f) => f.sourceLayer === 'parcels').map((f) => f.properties.use_code)",
        [parcel["lon"], parcel["lat"]],
    )


def test_a_land_bureau_user_changes_a_parcels_use_on_the_map(browser, live_server, engine, parcel):
    key = create_key(engine, "land_bureau", "edit-mode").key
    opened = _signed_in(browser, live_server, key, parcel)
    page = opened.page
    fid = parcel["fid"]
    item = f"{live_server}/collections/cambridge__parcels/items/{fid}"
    try:
        assert "101" in _rendered_use(page, parcel)
        page.click("[data-edit]")
        page.wait_for_selector("#edit-use_code")
        assert page.locator("#edit-use_code option").count() > 100  # the code list
        assert page.is_disabled("#edit-save") is False
        page.select_option("#edit-use_code", "325")
        page.fill("#edit-reason", "approved change of use 用途变更")
        page.click("#edit-save")
        page.wait_for_function(
            "document.querySelector('#card') && document.querySelector('#card').innerText.includes('325')",
            timeout=30_000,
        )
        assert httpx.get(item).json()["properties"]["use_code"] == "325"
        page.wait_for_function(READY, timeout=30_000)  # the style and tiles read again
        page.wait_for_function(
            "([lon, lat]) => dcMap.queryRenderedFeatures(dcMap.project([lon, lat]))"
            ".some((f) => f.sourceLayer === 'parcels' && f.properties.use_code === '325')",
            arg=[parcel["lon"], parcel["lat"]],
            timeout=30_000,
        )
        page.click("[data-history]")
        page.wait_for_selector(".history .version")
        history = page.inner_text(".history")
        assert "approved change of use 用途变更" in history and "101" in history and "325" in history
        assert not opened.errors
    finally:
        etag = httpx.get(item).headers["etag"]
        back = httpx.patch(
            item,
            json={"properties": {"use_code": "101"}},
            headers={"X-API-Key": key, "If-Match": etag, "X-Change-Reason": "test%20undo"},
        )
        assert back.status_code == 200, back.text
        opened.close()


@pytest.mark.parametrize("role", [None, "planner"])
def test_no_edit_controls_without_edit_rights(browser, live_server, engine, parcel, role):
    key = create_key(engine, role, f"no-edit-{role}").key if role else None
    opened = _signed_in(browser, live_server, key, parcel)
    assert opened.page.locator("[data-edit]").count() == 0
    assert opened.page.locator("[data-history]").count() == 0
    opened.close()


def test_the_date_control_shows_the_map_as_of_a_day(browser, live_server, parcel):
    opened = _signed_in(browser, live_server, None, parcel)
    page = opened.page
    opened.requests.clear()
    today = dt.date.today().isoformat()
    page.fill("#as-of", today)
    page.dispatch_event("#as-of", "change")
    page.wait_for_function(READY, timeout=30_000)
    opened.card()
    urls = [r.url for r in opened.requests]
    tiles = [u for u in urls if "/tiles/" in u and u.split("?")[0].rsplit("/", 1)[-1].isdigit()]
    assert tiles and all("as-of=" in u for u in tiles)
    assert [u for u in urls if "/parcels/" in u and "as-of=" in u]  # the card, as of that day
    assert page.evaluate("document.body.classList.contains('as-of')")
    assert not opened.errors
    opened.close()
