"""Recent changes (最近变更) on the public and planner maps, in headless Chromium against the
live API: a real edit of a Cambridge hydrant (its flow, a public field) and one of an internal
field, made through the API by a land bureau key and put back afterwards. The public map lists
the first in plain words with its values before and after and marks it on the map; the second
and the edits' reason only reach a signed-in planner, whose map also compares the day before.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from test_web_editmode import restore_from_history
from test_web_planner import DESKTOP, WIDE, HeldRequests, Opened, launched_browser

from digitalcity.db.keys import create_key

ITEMS = "/collections/cambridge__hydrants/items"
REASON = "年度测压 annual flow test"
INTERNAL_REASON = "内部复核 internal review"
ENTRIES = "#card .change-entry"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {r: create_key(engine, r, f"web-changes-{r}").key for r in ("planner", "land_bureau")}


def _patch(base: str, key: str, fid: int, properties: dict, reason: str) -> None:
    url = f"{base}{ITEMS}/{fid}"
    tag = httpx.get(url, headers={"X-API-Key": key}).headers["etag"]
    answer = httpx.patch(
        url,
        json={"properties": properties},
        headers={"X-API-Key": key, "If-Match": tag, "X-Change-Reason": quote(reason)},
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def edited(live_server, engine, keys) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A hydrant whose flow was raised by 50 gal/min, then its internal comments changed;
    both put back when the module ends."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT fid, hydrant_id, flow_gpm, comments, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                "FROM cambridge.hydrants WHERE flow_gpm IS NOT NULL AND hydrant_id IS NOT NULL "
                "ORDER BY fid LIMIT 1"
            )
        ).one()
    key = keys["land_bureau"]
    _patch(live_server, key, row.fid, {"flow_gpm": row.flow_gpm + 50}, REASON)
    _patch(live_server, key, row.fid, {"comments": "checked by the bureau"}, INTERNAL_REASON)
    yield dict(row._mapping)
    _patch(live_server, key, row.fid, {"flow_gpm": row.flow_gpm, "comments": row.comments}, "x")


def _opened(  # noqa: ANN001
    browser,
    live_server: str,
    page: str,
    lang: str,
    key: str | None = None,
    size: tuple[int, int] = DESKTOP,
) -> Opened:
    url = f"{live_server}/{page}?lang={lang}#c=cambridge&z=15&ll=-71.11,42.375"
    opened = Opened(browser, url, *size, key=key)
    opened.page.click("#changes-toggle" if page == "public" else "#changes")
    opened.page.wait_for_selector(ENTRIES, timeout=30_000)
    return opened


@pytest.mark.parametrize(
    ("lang", "title", "changed", "flow"),
    [
        ("en", "Fire hydrants", "1 changed", "Flow"),
        ("zh", "消火栓", "修改 1 处", "流量"),
    ],
)
def test_the_public_map_says_what_changed_and_marks_it(
    browser,
    live_server,
    edited,
    lang,
    title,
    changed,
    flow,
) -> None:
    opened = _opened(browser, live_server, "public", lang, size=WIDE)  # the change marked in view
    page = opened.page
    first = page.locator(ENTRIES).first.inner_text()
    assert title in first and changed in first, first
    # under its day's heading, in words, each entry at its time
    assert (
        page.locator("#card .changes-day").first.inner_text() == {"en": "Today", "zh": "今天"}[lang]
    )
    assert re.match(r"\d\d:\d\d", first), first
    listed = page.inner_text("#card")
    assert REASON not in listed and INTERNAL_REASON not in listed  # reasons: for colleagues
    feed = page.get_attribute("#card a[href*='changes.atom']", "href")
    assert feed == f"/cities/cambridge/changes.atom?lang={lang}"
    page.locator(ENTRIES).first.click()
    page.wait_for_selector("#card .changes-features li", timeout=30_000)
    text = page.inner_text("#card .changes-features")
    assert edited["hydrant_id"] in text and flow in text
    before, after = edited["flow_gpm"], edited["flow_gpm"] + 50
    assert f"{before:,}" in text and f"{after:,}" in text, text
    assert "comments" not in text.lower() and "checked by the bureau" not in text
    # marked on the map, in the changed colour, and the map moved to it
    page.wait_for_function("dcMap.getSource('dc-changes').serialize().data.features.length === 1")
    colour = page.evaluate(
        "dcMap.getSource('dc-changes').serialize().data.features[0].properties.colour"
    )
    assert colour == "#f28e2b"
    page.wait_for_function("!dcMap.isMoving()", timeout=10_000)
    inside = page.evaluate(
        "([lon, lat]) => dcMap.getBounds().contains([lon, lat]) && dcMap.getZoom() >= 16",
        [edited["lon"], edited["lat"]],
    )
    assert inside
    # back to the list, and closing the card takes the marks off the map
    page.click("#card .changes-back")
    page.wait_for_selector(ENTRIES)
    assert page.evaluate("dcMap.getSource('dc-changes').serialize().data.features.length") == 0
    assert not opened.errors, opened.errors


def test_a_signed_in_planner_sees_who_why_and_compares_the_day_before(
    browser,
    live_server,
    edited,
    keys,
) -> None:
    opened = _opened(browser, live_server, "map", "en", keys["planner"])
    page = opened.page
    entries = page.locator(ENTRIES)
    newest, before = entries.nth(0).inner_text(), entries.nth(1).inner_text()
    assert INTERNAL_REASON in newest and REASON in before, (newest, before)
    entries.nth(0).click()
    page.wait_for_selector("#card .changes-features li", timeout=30_000)
    text = page.inner_text("#card")
    assert "checked by the bureau" in text and "land bureau" in text
    assert page.locator("#card .changes-revert").count() == 0  # undo: an admin, or the edit's own editor
    page.click("#card .changes-compare")
    page.wait_for_selector("#compare-map", timeout=30_000)
    at = page.evaluate("document.querySelector('#card time').getAttribute('datetime')")
    local = page.evaluate(
        "(at) => new Date(new Date(at) - 86400000).toLocaleDateString('sv-SE')", at
    )
    assert page.input_value("#compare-day") == local
    assert dt.date.fromisoformat(local) < dt.datetime.fromisoformat(at).date() + dt.timedelta(1)
    assert not opened.errors, opened.errors


def test_only_the_last_change_set_opened_is_shown(browser, live_server, edited, keys) -> None:  # noqa: ANN001
    """Two entries clicked faster than their change sets came: the second is shown, never the
    first's slower answer; one whose card was closed meanwhile stays closed and unmarked."""
    opened = _opened(browser, live_server, "map", "en", keys["planner"])
    page = opened.page
    entries = page.locator(ENTRIES)
    marks = "dcMap.getSource('dc-changes').serialize().data.features.length"
    changes = HeldRequests(page, "/changes?")
    changes.hold_next()
    entries.nth(0).click()  # the internal comments: held
    changes.wait_held(1)
    entries.nth(1).click()  # the flow
    page.wait_for_selector("#card .changes-features li", timeout=30_000)
    second = page.inner_text("#card")
    assert REASON in second and INTERNAL_REASON not in second
    changes.release_last()  # the first entry's change set, late
    assert page.inner_text("#card") == second
    assert opened.hash()["chg"]
    page.click("#card .changes-back")
    page.wait_for_selector(ENTRIES)
    changes.hold_next()
    entries.nth(0).click()
    changes.wait_held(2)
    page.click("#card-close")
    changes.release_last()
    assert page.is_hidden("#card")
    assert page.evaluate(marks) == 0
    assert "chg" not in opened.hash()
    assert not opened.errors, opened.errors


def test_the_period_and_earlier_pages(browser, live_server, edited) -> None:  # noqa: ANN001
    opened = _opened(browser, live_server, "public", "en")
    page = opened.page
    everything, before = [], None
    while True:  # every change set the public may see, through the API's own pages
        params = {"limit": 100, "features": 0, "since": "2000-01-01"}
        answer = httpx.get(
            f"{live_server}/cities/cambridge/changes",
            params={**params, **({"before": before} if before else {})},
        ).json()
        everything += answer["changesets"]
        before = answer["next_before"]
        if before is None:
            break
    month = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    in_30_days = [c for c in everything if dt.datetime.fromisoformat(c["at"]) > month]
    shown = page.locator(ENTRIES).count()
    assert shown == min(len(in_30_days), 20)
    while page.locator("#card .changes-more").count():
        page.click("#card .changes-more")
        # more entries, or none left (a page past changes hidden from the public is empty)
        page.wait_for_function(
            f"document.querySelectorAll('{ENTRIES}').length > {shown}"
            " || (!document.querySelector('#card .changes-more')"
            " && !document.querySelector('#card .changes-list + .muted'))"
        )
        shown = page.locator(ENTRIES).count()
    assert shown == len(in_30_days)
    page.select_option("#card .changes-period", "7")
    page.wait_for_selector(ENTRIES)
    assert page.locator(ENTRIES).count() >= 1
    assert not opened.errors, opened.errors


def test_only_the_changes_in_the_view(browser, live_server, edited) -> None:  # noqa: ANN001
    opened = _opened(browser, live_server, "public", "en")
    page = opened.page
    page.evaluate(
        "([lon, lat]) => dcMap.jumpTo({center: [lon, lat], zoom: 18})",
        [edited["lon"], edited["lat"]],
    )
    page.check("#card .changes-in-view")
    page.wait_for_function(
        "document.querySelector('#card a.changes-feed').href.includes('bbox=')"
        " && document.querySelectorAll('#card .change-entry').length > 0"
    )
    first = page.locator(ENTRIES).first.inner_text()
    assert "Fire hydrants" in first and "1 changed" in first, first
    href = page.get_attribute("#card a.changes-feed", "href")
    area = href.split("bbox=")[1]
    assert page.inner_text("#card a.changes-feed") == "Subscribe to this area (Atom)"
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    answer = httpx.get(
        f"{live_server}/cities/cambridge/changes",
        params={"bbox": area, "since": since, "features": 0, "limit": 100},
    ).json()
    assert page.locator(ENTRIES).count() == min(len(answer["changesets"]), 20)
    everywhere = httpx.get(
        f"{live_server}/cities/cambridge/changes",
        params={"since": since, "features": 0, "limit": 100},
    ).json()
    assert len(answer["changesets"]) < len(everywhere["changesets"])  # a street, not the city
    # the list follows the view: out at sea, nothing changed
    page.evaluate("dcMap.jumpTo({center: [-70.5, 41.5], zoom: 15}); null")
    page.wait_for_selector("#card >> text=No changes in the map's view", timeout=15_000)
    assert page.locator(ENTRIES).count() == 0
    assert not opened.errors, opened.errors


def test_a_link_opens_a_change_and_keeps_what_is_hidden_hidden(
    browser, live_server, edited, keys
) -> None:  # noqa: ANN001
    signed = httpx.get(
        f"{live_server}/cities/cambridge/changes",
        params={"layers": "hydrants", "limit": 2, "features": 0},
        headers={"X-API-Key": keys["planner"]},
    ).json()["changesets"]
    internal, flow = signed[0]["id"], signed[1]["id"]
    assert signed[0]["reason"] == INTERNAL_REASON and signed[1]["reason"] == REASON
    # the Atom feed's link: the public map opens with the change marked and the map at it
    opened = Opened(browser, f"{live_server}/public?lang=en#c=cambridge&chg={flow}")
    page = opened.page
    page.wait_for_selector("#card .changes-features li", timeout=30_000)
    assert edited["hydrant_id"] in page.inner_text("#card .changes-features")
    page.wait_for_function("!dcMap.isMoving()", timeout=10_000)
    assert page.evaluate(
        "([lon, lat]) => dcMap.getBounds().contains([lon, lat])", [edited["lon"], edited["lat"]]
    )
    assert f"chg={flow}" in page.evaluate("location.hash")
    page.click("#card-close")
    assert "chg=" not in page.evaluate("location.hash")
    # a change hidden from the public, named in a link: the list, saying it cannot be found
    page.goto("about:blank")  # a new page, not a new hash on the same one
    page.goto(f"{live_server}/public?lang=en#c=cambridge&chg={internal}")
    page.wait_for_selector("#card .change-entry", timeout=30_000)
    assert "This change can no longer be found" in page.inner_text("#card")
    assert "checked by the bureau" not in page.content()
    assert not opened.errors, opened.errors


def test_an_editor_may_undo_only_their_own_changes_from_the_list(
    browser, live_server, edited, keys, engine
) -> None:  # noqa: ANN001
    """The land bureau key that made the edits sees *Undo this change* on them; another land
    bureau key does not (nor on a data release: tests/test_edits.py)."""
    for key, own in ((keys["land_bureau"], True), (create_key(engine, "land_bureau", "other").key, False)):
        opened = _opened(browser, live_server, "map", "en", key)
        page = opened.page
        page.locator(ENTRIES).filter(has_text=INTERNAL_REASON).first.click()
        page.wait_for_selector("#card .changes-features li", timeout=30_000)
        assert page.locator("#card .changes-revert").count() == int(own)
        assert not opened.errors, opened.errors
        opened.close()


def test_an_admin_undoes_a_change_from_the_list(browser, live_server, edited, engine) -> None:  # noqa: ANN001
    admin = create_key(engine, "admin", "web-changes-admin").key
    opened = _opened(browser, live_server, "map", "en", admin)
    page = opened.page
    newest = page.locator(ENTRIES).first
    assert INTERNAL_REASON in newest.inner_text()  # the internal comments' edit
    newest.click()
    page.wait_for_selector("#card .changes-revert", timeout=30_000)
    page.click("#card .changes-revert button[type=submit]")  # no reason: refused on the page
    assert page.inner_text("#card .changes-revert .error") == "Say why the change is undone"
    page.fill("#card .changes-revert [name=reason]", "entered on the wrong hydrant")
    page.click("#card .changes-revert button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#card .change-entry')?.textContent.includes('A change undone')",
        timeout=30_000,
    )
    with engine.connect() as conn:
        comments = conn.execute(
            sa.text("SELECT comments FROM cambridge.hydrants WHERE fid = :fid"),
            {"fid": edited["fid"]},
        ).scalar_one()
    assert comments == edited["comments"]  # back as it was before the edit
    # the same change again: its feature changed since (the undoing), so it is refused in words
    page.locator(ENTRIES).nth(1).click()
    page.wait_for_selector("#card .changes-revert", timeout=30_000)
    page.fill("#card .changes-revert [name=reason]", "again")
    page.click("#card .changes-revert button[type=submit]")
    page.wait_for_selector("#card .changes-revert .error:not([hidden])", timeout=30_000)
    assert "changed again since" in page.inner_text("#card .changes-revert .error")
    assert [e for e in opened.errors if "409" not in e] == []


def test_a_deleted_hydrant_is_restored_from_the_list(browser, live_server, keys) -> None:  # noqa: ANN001
    """恢复已删除要素: a land bureau user opens a deletion in the list, the deleted hydrant's
    history, and restores its last version: the hydrant is back, its card says so, with Undo.
    (Last in the module: the tests above read the newest entries.)"""
    key = keys["land_bureau"]
    headers = {"X-API-Key": key, "X-Change-Reason": quote("新增 survey")}
    point = {"type": "Point", "coordinates": [-71.1102, 42.3751]}
    created = httpx.post(
        f"{live_server}{ITEMS}",
        json={"type": "Feature", "geometry": point, "properties": {"hydrant_id": "T-BACK"}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    item = f"{live_server}{ITEMS}/{created.json()['ids'][0]}"
    gone = httpx.delete(
        item,
        headers={"X-API-Key": key, "If-Match": created.headers["etag"],
                 "X-Change-Reason": quote("removed in error 误删")},  # fmt: skip
    )
    assert gone.status_code == 204
    opened = _opened(browser, live_server, "map", "en", key)
    page = opened.page
    try:
        page.locator(ENTRIES).filter(has_text="removed in error").first.click()
        page.click("#card [data-feature-history]", timeout=30_000)
        restore = page.locator("#card .change-history .history .version [data-restore]").first
        restore.wait_for(timeout=30_000)
        restore_from_history(page, restore)
        assert "T-BACK" in opened.card() and page.locator("#edit-undo").count() == 1
        back = httpx.get(item)
        assert back.status_code == 200 and back.json()["properties"]["hydrant_id"] == "T-BACK"
        assert not opened.errors, opened.errors
    finally:
        tag = httpx.get(item).headers.get("etag")
        if tag:
            httpx.delete(item, headers={"X-API-Key": key, "If-Match": tag})
        opened.close()
