"""Query by attributes (属性查询) on the planner map, in headless Chromium against the live API:
conditions typed by the layer's queryables, the matches counted as SQL counts them, drawn,
listed, sorted, opened and exported whole; the query kept in share links; the caller's access
deciding which layers and fields it offers.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pyogrio
import pytest
import sqlalchemy as sa
from test_web_planner import DESKTOP, MAPLE, WIDE, HeldRequests, Opened, launched_browser

VIEW = "#c=cambridge&z=15&ll=-71.1039,42.37295"
DRAWN = "dcMap.getSource('dc-query').serialize().data.features.length"
PAGE = 500  # query.js PAGE: matches drawn per request


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


def sql_count(engine, where: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        statement = f"SELECT count(*) FROM cambridge.parcels WHERE {where}"  # noqa: S608
        return conn.execute(sa.text(statement)).scalar()


def shown_count(page) -> int:  # noqa: ANN001
    text = page.inner_text(".query-count")
    return int(re.search(r"\d[\d,]*", text).group().replace(",", ""))


def condition(page, index: int, field: str, op: str, value: str | None = None) -> None:  # noqa: ANN001
    """Add condition ``index`` (0-based) and set it; a coded value is chosen from its list."""
    page.click("[data-query=add]")
    row = f".query-condition[data-index='{index}']"
    page.wait_for_selector(row)
    page.select_option(f"{row} [name=field]", field)
    page.wait_for_selector(f"{row} [name=op]")
    page.select_option(f"{row} [name=op]", op)
    if value is None:
        return
    box = page.locator(f"{row} [name=value]")
    if box.evaluate("e => e.tagName") == "SELECT":
        box.select_option(value)
    else:
        box.fill(value)


def run(page) -> None:  # noqa: ANN001
    page.click(".query-form button[type=submit]")
    page.wait_for_selector(".query-count", timeout=30_000)


def open_query(  # noqa: ANN001
    browser, live_server: str, lang: str = "en", hash_: str = VIEW, size: tuple[int, int] = DESKTOP
) -> Opened:
    opened = Opened(browser, f"{live_server}/map?lang={lang}{hash_}", *size)
    opened.page.click("#query")
    opened.page.wait_for_selector("#card .query-form")
    return opened


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_planner_finds_parcels_by_class_and_height(browser, live_server, engine, lang):
    opened = open_query(browser, live_server, lang)
    page = opened.page
    condition(page, 0, "landuse_l1", "eq", "07")
    condition(page, 1, "stories", "ge", "4")
    # the coded field lists its classes by name, in the page's language
    label = page.locator(
        ".query-condition[data-index='0'] [name=value] option:checked"
    ).inner_text()
    assert label == {"en": "07 Residential land", "zh": "07 居住用地"}[lang]
    # a number shows its range, as SQL has it
    with engine.connect() as conn:
        top = conn.execute(sa.text("SELECT max(stories) FROM cambridge.parcels")).scalar()
    page.wait_for_function(
        f"document.querySelector(\".query-condition[data-index='1'] .query-hint\").textContent.includes('{top:g}')"
    )
    run(page)
    expected = sql_count(engine, "landuse_l1 = '07' AND stories >= 4")
    assert 0 < expected < PAGE
    assert shown_count(page) == expected
    assert page.evaluate(DRAWN) == expected
    assert page.locator(".query-table tbody tr").count() == expected
    assert page.locator("[data-query-act=bulk-open]").count() == 0  # no edit rights: no 批量修改
    # the map was fitted to the matches, and draws them
    page.wait_for_function("dcMap.loaded() && dcMap.areTilesLoaded()", timeout=30_000)
    assert page.evaluate("dcMap.queryRenderedFeatures({layers: ['dc-query-fill']}).length") > 0
    # the share link holds the query
    qry = json.loads(parse_qs(urlsplit(page.url).fragment)["qry"][0])
    assert qry["l"] == "parcels" and qry["c"] == [
        ["landuse_l1", "eq", "07", ""],
        ["stories", "ge", "4", ""],
    ]
    # the card and the side panel are two landmarks, with two names (axe-core's
    # landmark-unique found them nameless once the card was open)
    names = page.evaluate("['#side', '#card'].map((s) => document.querySelector(s).ariaLabel)")
    assert names == {"en": ["Layers and tools", "Details"], "zh": ["图层与工具", "详细信息"]}[lang]
    # a match's card leads back to the results
    first = page.locator(".query-table tbody tr").first.locator("button").inner_text()
    page.locator(".query-table tbody tr").first.locator("button").click()
    card = opened.card()
    assert first in card and {"en": "Back to the results", "zh": "返回查询结果"}[lang] in card
    page.click("#card-back")
    page.wait_for_selector(".query-count")
    assert shown_count(page) == expected
    assert not opened.errors, opened.errors


def test_late_matches_do_not_replace_the_parcel_clicked_meanwhile(browser, live_server):
    """A query whose matches come after the reader clicked a parcel: the parcel's card stays;
    the matches are kept, shown when the query is opened again."""
    opened = open_query(browser, live_server, size=WIDE)  # the parcel clicked clear of the card
    page = opened.page
    condition(page, 0, "landuse_l1", "eq", "07")
    items = HeldRequests(page, "/items?")
    items.hold_next()
    page.click(".query-form button[type=submit]")
    items.wait_held(1)
    opened.click_lonlat(*MAPLE)
    assert "38 MAPLE AVE" in opened.card()
    items.release_last()
    assert page.inner_text("#card .card-title") == "38 MAPLE AVE"
    assert page.locator("#card .query-form").count() == 0
    page.click("#query")
    page.wait_for_selector("#card .query-count", timeout=30_000)
    assert shown_count(page) > 0
    assert not opened.errors
    opened.close()


def test_the_fields_offered_are_the_last_layer_chosens(browser, live_server, client):
    """Layers chosen faster than their queryables come: the fields offered are the last
    layer's, never a slower answer for the layer chosen before it."""
    opened = open_query(browser, live_server)
    page = opened.page
    layers = page.eval_on_selector_all(
        ".query-form [name=layer] option", "options => options.map((o) => o.value)"
    )
    current = page.input_value(".query-form [name=layer]")
    earlier, last = [layer for layer in layers if layer != current][:2]
    meta = client.get("/cities/cambridge").json()["layers"]
    wanted = client.get(f"/collections/{meta[last]['collection']}/queryables").json()
    offered = {n for n, s in wanted["properties"].items() if n != "geometry" and s.get("x-ogc-role") != "id"}
    queryables = HeldRequests(page, "/queryables?")
    queryables.hold_next()
    page.select_option(".query-form [name=layer]", earlier)
    queryables.wait_held(1)
    page.select_option(".query-form [name=layer]", last)
    page.wait_for_function(
        f"document.querySelector('.query-form [name=layer]').value === {last!r}"
    )
    queryables.release_last()  # the earlier layer's fields, late
    assert page.input_value(".query-form [name=layer]") == last
    page.click("[data-query=add]")
    fields = page.eval_on_selector_all(
        ".query-condition[data-index='0'] [name=field] option", "options => options.map((o) => o.value)"
    )
    assert set(fields) == offered
    assert not opened.errors, opened.errors
    opened.close()


def test_many_matches_load_in_pages_and_export_whole(browser, live_server, engine, tmp_path):
    opened = open_query(browser, live_server)
    page = opened.page
    condition(page, 0, "landuse_l1", "eq", "07")
    run(page)
    expected = sql_count(engine, "landuse_l1 = '07'")
    assert expected > 2 * PAGE
    assert shown_count(page) == expected
    assert page.evaluate(DRAWN) == PAGE
    page.click("[data-query-act=more]")
    page.wait_for_function(f"{DRAWN} === {2 * PAGE}", timeout=30_000)
    assert page.locator(".query-table tbody tr").count() == 2 * PAGE
    with page.expect_download(timeout=60_000) as download:
        page.click("[data-export-query=gpkg]")
    path = tmp_path / "query.gpkg"
    download.value.save_as(path)
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == expected and set(frame["landuse_l1"]) == {"07"}
    # the same matches as boundary points (界址点坐标), one parcel block per polygon
    with page.expect_download(timeout=60_000) as download:
        page.click("[data-export-query=txt]")
    text = open(download.value.path(), encoding="utf-8").read()
    assert "[地块坐标]" in text
    assert len({line.split(",")[2] for line in text.splitlines() if line.endswith("@")}) == expected
    assert not opened.errors, opened.errors


def test_text_sorting_and_a_shared_link(browser, live_server, engine):
    opened = open_query(browser, live_server)
    page = opened.page
    condition(page, 0, "address", "contains", "maple")
    # the text field offers its commonest values
    page.wait_for_function("document.querySelectorAll('#query-values-0 option').length === 100")
    run(page)
    expected = sql_count(engine, "address ILIKE '%maple%'")
    assert shown_count(page) == expected > 10
    # the matches broken down by the broadest classes, then by another field, as SQL counts
    assert page.locator(".query-results [name=breakdown]").input_value() == "landuse_l1"
    page.select_option(".query-results [name=breakdown]", "use_code")
    page.wait_for_selector(".query-breakdown-table th:has-text('Use code')")
    rows = page.locator(".query-breakdown-table tbody tr").all_inner_texts()
    with engine.connect() as conn:
        by_code = conn.execute(
            sa.text(
                "SELECT use_code, count(*) FROM cambridge.parcels WHERE address ILIKE '%maple%'"
                " GROUP BY use_code ORDER BY count(*) DESC, use_code"
            )
        ).all()
    assert [(r.split("\t")[0].split(" ")[0], int(r.split("\t")[1])) for r in rows] == [
        (code, n) for code, n in by_code
    ]
    # and a number added up over them
    page.select_option(".query-results [name=total]", "gross_area_sqft")
    page.wait_for_selector(".query-total-figures")
    shown_total = page.locator(".query-total-figures b").inner_text().replace(",", "")
    with engine.connect() as conn:
        total = conn.execute(
            sa.text(
                "SELECT sum(gross_area_sqft) FROM cambridge.parcels WHERE address ILIKE '%maple%'"
            )
        ).scalar()
    assert float(shown_total) == pytest.approx(float(total), abs=0.01)
    page.click("[data-sort=address]")
    page.wait_for_selector("th[aria-sort=ascending]")
    page.click("[data-sort=address]")
    page.wait_for_selector("th[aria-sort=descending]")
    shown = page.locator(".query-table tbody tr td:first-child").all_inner_texts()
    with engine.connect() as conn:
        truth = (
            conn.execute(
                sa.text(
                    "SELECT address FROM cambridge.parcels WHERE address ILIKE '%maple%'"
                    " ORDER BY address DESC NULLS LAST, fid"
                )
            )
            .scalars()
            .all()
        )
    assert shown == truth
    # the link opens the map with the query run and sorted
    qry_text = parse_qs(urlsplit(page.url).fragment)["qry"][0]
    again = Opened(browser, page.url)
    again.page.wait_for_selector(".query-count", timeout=30_000)
    assert shown_count(again.page) == expected
    assert again.page.locator(".query-table tbody tr td:first-child").all_inner_texts() == truth
    # a cut or hand-edited query is dropped: the map opens without it
    broken = '{"l":"parcels","c":[["address","drop table","x"]]}'
    cut = Opened(browser, f"{live_server}/map?lang=en{VIEW}&qry={broken}")
    assert cut.page.locator("#card .query-form").count() == 0
    assert not cut.errors, cut.errors
    # as are the other shapes a link can be cut to (read by the page's own module)
    read = cut.page.evaluate(
        """async (texts) => {
          const src = document.querySelector("script[src$='/planner.js']").src;
          const { queryFromLink } = await import(src.replace(/planner\\.js$/, "query_filter.js"));
          return texts.map((text) => queryFromLink(text));
        }""",
        [broken, "{oops", "[]", '{"l":"parcels","c":[["x"]]}', qry_text],
    )
    assert read[:4] == [None] * 4 and read[4]["layer"] == "parcels", read
    assert not opened.errors, opened.errors


def test_a_bad_value_is_said_and_sends_nothing(browser, live_server):
    opened = open_query(browser, live_server, "zh")
    page = opened.page
    condition(page, 0, "stories", "gt", "four")
    opened.requests.clear()
    page.click(".query-form button[type=submit]")
    page.wait_for_selector(".query-error:not([hidden])")
    assert "需要填写一个数字" in page.inner_text(".query-error")
    assert not [r for r in opened.requests if "/items" in r.url]
    # quotes are text to CQL2, not syntax: a value with one finds nothing and breaks nothing
    page.select_option(".query-condition [name=field]", "address")
    page.wait_for_selector(".query-condition [name=op]")
    page.select_option(".query-condition [name=op]", "eq")
    page.fill(".query-condition [name=value]", "O'Brien' OR '1'='1")
    run(page)
    assert "没有符合条件的要素" in page.inner_text(".query-count")
    filters = [
        parse_qs(urlsplit(r.url).query)["filter"][0] for r in opened.requests if "/items" in r.url
    ]
    assert filters == ["\"address\" = 'O''Brien'' OR ''1''=''1'"], filters
    assert not opened.errors, opened.errors


def test_the_layers_and_fields_offered_follow_access(browser, live_server, planner_key):
    visitor = open_query(browser, live_server)
    layers = visitor.page.locator(".query-form [name=layer] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "parcels" in layers and "drainage" not in layers
    condition(visitor.page, 0, "address", "eq", "x")
    fields = visitor.page.locator(".query-condition [name=field] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "address" in fields and "sale_date" not in fields and "land_value" not in fields
    planner = Opened(browser, f"{live_server}/map?lang=en{VIEW}", key=planner_key)
    planner.page.click("#query")
    planner.page.wait_for_selector("#card .query-form")
    layers = planner.page.locator(".query-form [name=layer] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "drainage" in layers
    condition(planner.page, 0, "sale_date", "ge", "2010-01-01")
    assert planner.page.locator(".query-condition [name=value]").get_attribute("type") == "date"
    run(planner.page)
    assert shown_count(planner.page) > 0
    assert not visitor.errors and not planner.errors


def test_an_area_drawn_on_the_map_bounds_the_query(browser, live_server, engine):
    opened = open_query(
        browser, live_server, hash_="#c=cambridge&z=16&ll=-71.1039,42.37295", size=WIDE
    )
    page = opened.page
    condition(page, 0, "stories", "ge", "3")
    page.select_option(".query-form [name=scope]", "area")
    # run before drawing: said, nothing sent
    opened.requests.clear()
    page.click(".query-form button[type=submit]")
    page.wait_for_selector(".query-error:not([hidden])")
    assert "Draw the area" in page.inner_text(".query-error")
    assert not [r for r in opened.requests if "/items" in r.url]
    page.click("[data-query=draw]")
    ring = [(-71.1085, 42.3720), (-71.1050, 42.3720), (-71.1050, 42.3745), (-71.1085, 42.3745)]
    for lon, lat in ring:
        opened.click_lonlat(lon, lat)
        page.wait_for_timeout(350)  # not a double click
    page.click("#finish")
    page.wait_for_selector(".query-area .muted:has-text('Area drawn')")
    run(page)
    # the link keeps the area drawn (the clicks' points, closed)
    qry = json.loads(parse_qs(urlsplit(page.url).fragment)["qry"][0])
    assert qry["v"] == 2 and qry["g"]["type"] == "Polygon"
    [linked] = qry["g"]["coordinates"]
    assert len(linked) == 5 and linked[0] == linked[-1]
    assert all(
        abs(a - b) < 2e-5
        for p, q in zip(linked[:-1], ring, strict=True)
        for a, b in zip(p, q, strict=True)
    )
    closed = ", ".join(f"{x} {y}" for x, y in linked)
    expected = sql_count(
        engine,
        "stories >= 3 AND ST_Intersects(geom, ST_Transform("
        f"ST_GeomFromText('POLYGON(({closed}))', 4326), ST_SRID(geom)))",
    )
    assert shown_count(page) == expected > 10
    # and reopens the query with it drawn
    again = Opened(browser, page.url, *WIDE)
    again.page.wait_for_selector(".query-count", timeout=30_000)
    assert shown_count(again.page) == expected
    assert again.page.evaluate("dcMap.getSource('dc-draw').serialize().data.features.length") > 1
    assert not opened.errors and not again.errors


def test_a_query_on_a_past_day_reads_the_layer_as_it_was(browser, live_server):
    """On the map of a day before any load (the date control's ``at``), the query reads the
    history: nothing matches, and every request it sends carries the instant."""
    opened = open_query(browser, live_server, hash_=f"{VIEW}&at=2020-01-01")
    page = opened.page
    condition(page, 0, "stories", "ge", "1")
    opened.requests.clear()
    run(page)
    assert "No feature matches" in page.inner_text(".query-count")
    sent = [r.url for r in opened.requests if "/collections/" in r.url]
    assert sent and all(
        parse_qs(urlsplit(u).query)["as-of"][0].startswith("2020-01-0") for u in sent
    ), sent
    assert not opened.errors, opened.errors


def test_a_land_bureau_user_changes_every_match_at_once(browser, live_server, engine):
    """批量修改: the matches of a query given one value in one change, then undone by its
    editor from the notice (撤销)."""
    import httpx

    from digitalcity.db.keys import create_key

    where = "landuse_l1 = '07' AND stories >= 4"
    expected = sql_count(engine, where)
    key = create_key(engine, "land_bureau", "bulk-web").key
    admin = create_key(engine, "admin", "bulk-web-undo").key
    opened = Opened(browser, f"{live_server}/map?lang=en{VIEW}", key=key)
    page = opened.page
    page.click("#query")
    page.wait_for_selector("#card .query-form")
    condition(page, 0, "landuse_l1", "eq", "07")
    condition(page, 1, "stories", "ge", "4")
    page.select_option(".query-form [name=scope]", "city")
    run(page)
    assert shown_count(page) == expected
    changeset = None
    try:
        page.click("[data-query-act=bulk-open]")
        page.wait_for_selector("#bulk-field")
        page.select_option("#bulk-field", "use_desc")
        page.wait_for_selector("#edit-use_desc")
        page.fill("#bulk-reason", "survey of mid-rise housing 2026")
        page.click("[data-query-act=bulk-send]")  # no value: it would clear, so asked again
        page.wait_for_selector(".bulk-faults:not([hidden])")
        assert "clears the field on all" in page.inner_text(".bulk-faults")
        page.fill("#edit-use_desc", "APARTMENTS (SURVEYED 2026)")
        page.fill("#bulk-reason", "")
        page.click("[data-query-act=bulk-send]")  # no reason: said, nothing sent
        page.wait_for_function(
            "document.querySelector('.bulk-faults').textContent === 'Say why you make this change'"
        )
        assert page.input_value("#edit-use_desc") == "APARTMENTS (SURVEYED 2026)"  # kept
        page.fill("#bulk-reason", "survey of mid-rise housing 2026")
        with page.expect_response(lambda r: r.request.method == "PATCH") as sent:
            page.click("[data-query-act=bulk-send]")
        assert sent.value.status == 200, sent.value.text()
        assert "expected=" in sent.value.url
        changeset = sent.value.json()["changeset"]
        page.wait_for_selector(".bulk-done", timeout=30_000)
        assert page.inner_text(".bulk-done") == f"{expected} of the {expected} matches changed Undo"
        assert sql_count(engine, f"{where} AND use_desc = 'APARTMENTS (SURVEYED 2026)'") == expected
        assert shown_count(page) == expected  # the query run again
        # the whole change undone by its editor from the notice, in one revert
        with page.expect_response(lambda r: r.url.endswith("/revert")) as undone:
            page.click("[data-query-act=bulk-undo]")
        assert undone.value.status == 200, undone.value.text()
        changeset = None
        page.wait_for_function(
            "document.querySelector('.bulk-done')?.textContent === 'The change was undone.'",
            timeout=30_000,
        )
        assert sql_count(engine, "use_desc = 'APARTMENTS (SURVEYED 2026)'") == 0
        assert not opened.errors, opened.errors
    finally:
        if changeset is not None:
            undone = httpx.post(
                f"{live_server}/collections/cambridge__parcels/changesets/{changeset}/revert",
                headers={"X-API-Key": admin},
            )
            assert undone.status_code == 200, undone.text
        opened.close()
    assert sql_count(engine, "use_desc = 'APARTMENTS (SURVEYED 2026)'") == 0
