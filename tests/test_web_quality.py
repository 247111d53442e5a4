"""The data quality check (数据质检) on the planner map, in headless Chromium against the live
API: Cambridge's parcels checked, the faults counted as the API counts them, one shown on the
map and its parcel opened, the list back, and every fault downloaded; the hydrants in Chinese
with a wider tolerance, then in the map's view only, and a bad threshold refused in words
before anything is sent.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from test_web_planner import WIDE, HeldRequests, Opened, launched_browser
from test_web_print import printed_legend

ANALYSIS = "/cities/cambridge/analysis/data_quality"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def _drawn(page) -> list[dict]:  # noqa: ANN001
    return page.evaluate("dcMap.getSource('dc-quality').serialize().data.features")


def test_a_planner_checks_the_parcels_and_opens_a_fault(browser, live_server) -> None:  # noqa: ANN001
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge&z=14&ll=-71.11,42.375", *WIDE)
    page = opened.page
    page.click("#quality")
    page.wait_for_selector("#card .quality-form")
    assert page.input_value("#card select[name=layer]") == "parcels"  # the city's parcels first
    # the API's own answer to the page's request is what the page must show (one check run,
    # not a second one of ~5 s beside it)
    with page.expect_response(
        lambda r: r.url.endswith(ANALYSIS) and r.request.method == "POST", timeout=120_000
    ) as answered:
        page.click("#card .quality-form button[type=submit]")
    assert answered.value.status == 200
    assert json.loads(answered.value.request.post_data or "{}")["layer"] == "parcels"
    summary = answered.value.json()["summary"]
    assert summary["by_check"]["overlap"] > 50  # more than a kind lists before "show all"
    page.wait_for_selector("#card .quality-summary", timeout=120_000)
    assert page.inner_text("#card .quality-summary") == (
        f"{summary['features']:,} features checked: {summary['faults']:,} faults found."
    )
    for check, count in summary["by_check"].items():
        heading = page.inner_text(f"#card .quality-kind[data-check={check}] h3")
        assert heading.split()[-1 if check not in ("overlap", "gap") else -4] == f"{count:,}", (
            heading
        )
    assert len(_drawn(page)) == summary["faults"]  # every fault with a place, in red
    overlaps = "#card .quality-kind[data-check=overlap]"
    assert page.locator(f"{overlaps} li").count() == 50
    page.click(f"{overlaps} [data-all]")
    assert page.locator(f"{overlaps} li").count() == summary["by_check"]["overlap"]
    first = page.inner_text(f"{overlaps} li >> nth=0")
    assert "108 HARVARD ST and Feature 6786" in first and "m²" in first
    # shown on the map: that overlap alone, the map around it
    page.click(f"{overlaps} li >> nth=0 >> [data-fault]")
    page.wait_for_function("() => !dcMap.isMoving()")
    (fault,) = _drawn(page)
    assert fault["properties"]["check"] == "overlap" and fault["geometry"]["type"].endswith(
        "Polygon"
    )
    inside = page.evaluate(
        "g => { const b = dcMap.getBounds(); const c = g.coordinates.flat(Infinity);"
        " for (let i = 0; i < c.length; i += 2) if (!b.contains([c[i], c[i + 1]])) return false;"
        " return true; }",
        fault["geometry"],
    )
    assert inside
    # its parcel's card, and the way back to the faults
    page.click(f"{overlaps} li >> nth=0 >> [data-open]")
    page.wait_for_selector("#card-back")
    assert (
        "108 HARVARD ST" in opened.card()
        and page.inner_text("#card-back") == "← Back to the faults"
    )
    page.click("#card-back")
    page.wait_for_selector("#card .quality-summary")
    assert len(_drawn(page)) == summary["faults"]
    with page.expect_download() as download:
        page.click("#card .quality-download")
    saved = json.loads(open(download.value.path(), encoding="utf-8").read())  # noqa: SIM115
    assert saved["type"] == "FeatureCollection" and len(saved["features"]) == summary["faults"]
    assert download.value.suggested_filename == "cambridge-parcels-quality.geojson"
    page.click("#card-close")
    assert _drawn(page) == []
    assert not opened.errors, opened.errors
    opened.close()


def test_a_check_of_a_layer_left_or_a_card_closed_is_dropped(browser, live_server) -> None:  # noqa: ANN001
    """A check still running when another layer is chosen, or the card is closed: its faults
    are neither reported for the layer chosen since nor drawn on the map."""
    opened = Opened(browser, f"{live_server}/map?lang=en#c=cambridge&z=14&ll=-71.11,42.375")
    page = opened.page
    checks = HeldRequests(page, "/analysis/data_quality")
    page.click("#quality")
    page.wait_for_selector("#card .quality-form")
    checks.hold_next()
    page.click("#card .quality-form button[type=submit]")  # the parcels: held
    checks.wait_held(1)
    page.select_option("#card select[name=layer]", "hydrants")
    checks.release_last()
    assert page.input_value("#card select[name=layer]") == "hydrants"
    assert page.locator("#card .quality-summary").count() == 0
    assert page.is_enabled("#card .quality-form button[type=submit]")
    assert _drawn(page) == []
    checks.hold_next()
    page.click("#card .quality-form button[type=submit]")  # the hydrants: held
    checks.wait_held(2)
    page.click("#card-close")
    checks.release_last()
    assert page.is_hidden("#card")
    assert _drawn(page) == []
    assert not opened.errors, opened.errors
    opened.close()


def test_hydrants_in_chinese_with_a_wider_tolerance(browser, live_server) -> None:  # noqa: ANN001
    wide = httpx.post(
        f"{live_server}{ANALYSIS}", json={"layer": "hydrants", "tolerance_m": 5}, timeout=60
    ).json()["summary"]
    opened = Opened(browser, f"{live_server}/map?lang=zh#c=cambridge&z=14&ll=-71.11,42.375")
    page = opened.page
    page.click("#quality")
    page.select_option("#card select[name=layer]", "hydrants")
    page.click("#card .quality-settings summary")
    # a point layer's threshold is the tolerance; a negative one is refused before sending
    assert page.locator("#card input[name=min_area_m2]").count() == 0
    page.fill("#card input[name=tolerance_m]", "-1")
    sent = len(opened.requests)
    page.click("#card .quality-form button[type=submit]")
    assert "请输入不小于 0 的数字" in page.inner_text("#card .error")
    assert not [r for r in opened.requests[sent:] if "data_quality" in r.url]
    page.fill("#card input[name=tolerance_m]", "5")
    page.click("#card .quality-form button[type=submit]")
    page.wait_for_selector("#card .quality-summary", timeout=60_000)
    text = page.inner_text("#card")
    assert f"检查了 {wide['features']:,} 个要素，发现 {wide['faults']:,} 处错误。" in text
    duplicates = page.inner_text("#card .quality-kind[data-check=duplicate] h3")
    assert duplicates == f"重复要素 {wide['by_check']['duplicate']}"
    assert "两个要素的图形相同" in text and " 与 " in page.inner_text("#card .quality-list")
    # printed, the sheet's legend starts with the faults marked
    title = httpx.get(f"{live_server}/cities/cambridge").json()["layers"]["hydrants"]["title"]["zh"]
    marked = page.evaluate("dcMap.getSource('dc-quality').getData().then((d) => d.features.length)")
    assert printed_legend(page)[:2] == [f"数据质检 · {title}", f"数据错误 {marked:,} 处"]
    # only the map's view: what the API finds in the same box
    page.check("#card input[name=in-view]")
    w, s, e, n = page.evaluate(
        "(() => { const b = dcMap.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(),"
        " b.getNorth()]; })()"
    )
    view = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    there = httpx.post(
        f"{live_server}{ANALYSIS}",
        json={"layer": "hydrants", "tolerance_m": 5, "polygon": view},
        timeout=60,
    ).json()["summary"]
    assert 0 < there["features"] < wide["features"]
    page.click("#card .quality-form button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#card .quality-summary')?.textContent.startsWith('当前视野内')",
        timeout=60_000,
    )
    assert page.inner_text("#card .quality-summary").startswith(
        f"当前视野内：检查了 {there['features']:,} 个要素"
    )
    assert not opened.errors, opened.errors
    opened.close()
