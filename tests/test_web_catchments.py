"""Walking catchments (步行服务范围) on the planner map in headless Chromium: a kind of
facility's catchments and the life circle, drawn on the map and tabled with the figures the
analysis API gives, in zh and en; bad walking times refused before asking; a city without a
street network offers no such tool.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web_planner import READY, Opened, launched_browser
from test_web_print import printed_legend

PLANNER = "/map?city={city}&lang={lang}"
TABLE_ROWS = "#card .catchments-table tr:has(td)"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _open_tool(browser, live_server: str, lang: str, city: str = "cambridge") -> Opened:  # noqa: ANN001
    opened = Opened(browser, live_server + PLANNER.format(city=city, lang=lang), ready_when=READY)
    opened.page.click("#catchments")
    opened.page.wait_for_selector("#card .catchments-form")
    return opened


def _drawn(opened: Opened) -> int:
    """Catchment shapes drawn on the map (its fill and outline layers)."""
    opened.page.wait_for_function("window.dcMap.loaded()")
    return opened.page.evaluate(
        "dcMap.queryRenderedFeatures({layers: ['dc-catchments-fill', 'dc-catchments-line']}).length"
    )


def _cells(opened: Opened) -> list[list[str]]:
    rows = opened.page.locator(TABLE_ROWS)
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_a_kind_of_facility_s_catchments_as_the_api_gives_them(browser, live_server) -> None:  # noqa: ANN001
    opened = _open_tool(browser, live_server, "en")
    page = opened.page
    page.select_option("#card select[name=layer]", "fire_stations")
    page.fill("#card input[name=minutes]", "10，5")  # any order, a Chinese comma
    page.click("#card .catchments-form button[type=submit]")
    page.wait_for_selector(TABLE_ROWS, timeout=60_000)
    api = httpx.post(
        f"{live_server}/cities/cambridge/analysis/service_areas",
        json={"facility_layer": "fire_stations", "minutes": [5, 10]},
        timeout=60,
    ).json()
    cells = _cells(opened)
    assert [c[0] for c in cells] == ["5 min walk", "10 min walk"]
    for row, coverage in zip(cells, api["summary"]["coverage"], strict=True):
        assert row[1] == f"{coverage['area_m2'] / 1e6:,.2f} km²"
        assert row[2] == f"{coverage['population']:,.0f}"
        assert row[3] == f"{coverage['share'] * 100:.1f}%"
    stations = len({f["properties"]["fid"] for f in api["data"]["features"]})
    assert page.inner_text("#card .catchments-lead") == (
        f"{stations} Fire stations, walking at 4.8 km/h."
    )
    assert _drawn(opened) > 0
    # the catchments as a file for desktop GIS: every one of them, with its figures
    with page.expect_download() as download:
        page.click("#card .catchments-download")
    saved = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert len(saved["features"]) == len(api["data"]["features"])
    assert {f["properties"]["minutes"] for f in saved["features"]} == {5.0, 10.0}
    # printed, the sheet's legend starts with them
    rows = printed_legend(page)
    assert rows[:3] == ["Walking catchments · Fire stations", "5 min walk", "10 min walk"], rows
    # closing the card takes them off the map, and off the next sheet
    page.click("#card-close")
    page.wait_for_function(
        "dcMap.queryRenderedFeatures({layers: ['dc-catchments-fill']}).length === 0"
    )
    rows = printed_legend(page)
    assert not [r for r in rows if "catchments" in r or "min walk" in r], rows
    assert not opened.errors, opened.errors
    opened.close()


def test_the_life_circle_in_chinese(browser, live_server) -> None:  # noqa: ANN001
    opened = _open_tool(browser, live_server, "zh")
    page = opened.page
    page.check("#card input[name=mode][value=circle]")
    assert page.input_value("#card input[name=minutes]") == "15"
    page.click("#card .catchments-form button[type=submit]")
    page.wait_for_selector(TABLE_ROWS, timeout=60_000)
    api = httpx.post(
        f"{live_server}/cities/cambridge/analysis/life_circle", json={"minutes": 15}, timeout=60
    ).json()
    kinds = api["provenance"]["parameters"]["facility_layers"]
    meta = httpx.get(f"{live_server}/cities/cambridge").json()
    titles = [meta["layers"][k]["title"]["zh"] for k in kinds]
    cells = _cells(opened)
    assert [c[0] for c in cells] == [f"{t} · 步行 15 分钟" for t in titles] + [
        "各类设施都能到达 · 步行 15 分钟"
    ]
    everyone = next(
        f["properties"] for f in api["data"]["features"] if f["properties"]["layer"] is None
    )
    assert cells[-1][2] == f"{everyone['population']:,.0f}"
    assert cells[-1][1] == f"{everyone['area_m2'] / 1e6:,.2f} 平方千米"
    assert "、".join(titles) in page.inner_text("#card .catchments-lead")
    assert _drawn(opened) > 0
    assert not opened.errors, opened.errors
    opened.close()


MANY = "Enter walking times of 1–120 minutes, up to 6, such as 5, 10, 15."
ONE = "Enter one walking time of 1–120 minutes, such as 15."


def test_bad_walking_times_are_refused_before_asking(browser, live_server) -> None:  # noqa: ANN001
    opened = _open_tool(browser, live_server, "en")  # one page for every case: each reloads
    page = opened.page
    for mode, minutes, said in [
        ("one", "0, 200", MANY),
        ("one", "1 2 3 4 5 6 7", MANY),
        ("one", "ten", MANY),
        ("circle", "10, 15", ONE),
    ]:
        if mode == "circle":
            page.check("#card input[name=mode][value=circle]")
        page.fill("#card input[name=minutes]", minutes)
        asked = len(opened.requests)
        page.click("#card .catchments-form button[type=submit]")
        assert page.inner_text("#card .error") == said, minutes
        assert not [r for r in opened.requests[asked:] if "/analysis/" in r.url]
        assert page.input_value("#card input[name=minutes]") == minutes  # kept to mend
    opened.close()


def test_on_a_past_day_s_map_the_card_says_it_works_from_today_s_data(browser, live_server) -> None:  # noqa: ANN001
    today = dt.date.today().isoformat()
    url = live_server + PLANNER.format(city="cambridge", lang="en") + f"#at={today}"
    opened = Opened(browser, url, ready_when=READY)
    opened.page.click("#catchments")
    assert opened.page.inner_text("#card .catchments-today") == (
        "The map shows a past day: catchments are worked out from today's streets, "
        "facilities and residents."
    )
    opened.close()
    current = _open_tool(browser, live_server, "en")  # today's map: nothing to say
    assert current.page.locator("#card .catchments-today").count() == 0
    current.close()


def test_a_city_without_a_street_network_offers_no_catchments(browser, live_server) -> None:  # noqa: ANN001
    opened = Opened(browser, live_server + PLANNER.format(city="xiamen", lang="zh"))
    assert opened.page.locator("#catchments").is_hidden()
    assert httpx.get(f"{live_server}/cities/xiamen").json()["roles"]["streets"] is None
    opened.page.select_option("#city", "cambridge")
    opened.page.wait_for_selector("#catchments:not([hidden])")
    opened.close()
