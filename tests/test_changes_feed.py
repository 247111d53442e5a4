"""A city's recent changes (``/cities/{city}/changes`` and its Atom feed), over real edits of
layers of their own: a copy of Cambridge's parcels (``feed_parcels``, public, with internal
fields) and of its hydrants made internal (``feed_hidden``), loaded by our loader. Counts and
values are checked against the history's own endpoints and the database."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from digitalcity.catalog.model import LayerDef
from digitalcity.db.keys import create_key
from digitalcity.ingest.loader import load_layer

PARCELS = "feed_parcels"
HIDDEN = "feed_hidden"
FEED = "/cities/cambridge/changes"
ATOM = "{http://www.w3.org/2005/Atom}"


def _copy(base: LayerDef, layer_id: str, **changes: Any) -> LayerDef:
    data = base.model_dump(mode="python", exclude_none=True)
    data.update(id=layer_id, editing={"enabled": True, "roles": ["land_bureau", "admin"]})
    data.update(changes)
    data.pop("default_on", None)
    data.pop("theme", None)
    return LayerDef.model_validate(data)


@pytest.fixture(scope="module")
def feed_app(settings, catalog, engine, loaded) -> Iterator[Any]:  # noqa: ANN001
    from digitalcity.api import create_app
    from digitalcity.api.reload import Definitions, install

    city = catalog.city("cambridge")
    parcels = _copy(catalog.layer("cambridge", "parcels"), PARCELS)
    hidden = _copy(catalog.layer("cambridge", "hydrants"), HIDDEN, access="internal")
    for layer in (parcels, hidden):
        load_layer(layer, city, engine, settings, force=True)
    app = create_app(settings.model_copy(update={"tile_cache": False}))
    defs = app.state.definitions
    install(
        app,
        Definitions(catalog.with_layer(parcels).with_layer(hidden), defs.codes, defs.descriptions),
    )
    yield app


@pytest.fixture(scope="module")
def api(feed_app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(feed_app) as client:
        yield client


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {r: create_key(engine, r, f"feed-{r}").key for r in ("planner", "land_bureau", "admin")}


def _edit(api: TestClient, key: str, layer: str, fid: int, body: dict, reason: str) -> None:
    url = f"/collections/cambridge__{layer}/items/{fid}"
    tag = api.get(url, headers={"X-API-Key": key}).headers["etag"]
    answer = api.patch(
        url,
        json=body,
        headers={"X-API-Key": key, "If-Match": tag, "X-Change-Reason": quote(reason)},
    )
    assert answer.status_code == 200, answer.text


def _feed(api: TestClient, key: str | None = None, **params: Any) -> dict[str, Any]:
    params.setdefault("layers", PARCELS)
    answer = api.get(FEED, params=params, headers={"X-API-Key": key} if key else {})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _parcel(engine, code: str) -> int:  # noqa: ANN001
    """A feed parcel with use code ``code`` and an address."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    f"SELECT fid FROM cambridge.{PARCELS} WHERE use_code = :c "  # noqa: S608
                    "AND address IS NOT NULL ORDER BY fid LIMIT 1"
                ),
                {"c": code},
            ).scalar_one()
        )


def test_the_load_is_the_first_change_set(api, engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT count(*) FROM cambridge.{PARCELS}")).scalar_one()  # noqa: S608
    page = _feed(api, features=3, limit=100)
    load = page["changesets"][-1]
    assert load["kind"] == "load" and load["layer"] == PARCELS
    assert load["added"] == rows and load["modified"] == load["deleted"] == 0
    assert load["more"] == rows - 3 and [f["change"] for f in load["features"]] == ["added"] * 3
    assert load["features"][0]["geometry"]["type"] == "MultiPolygon"
    w, s, e, n = load["bbox"]
    assert -71.17 < w < e < -71.06 and 42.35 < s < n < 42.41  # Cambridge
    assert "reason" not in load and "role" not in load and "key_id" not in load  # anonymous


def test_an_edit_in_words_with_coded_names_and_who_only_for_colleagues(api, keys, engine) -> None:  # noqa: ANN001
    fid = _parcel(engine, "101")
    _edit(api, keys["land_bureau"], PARCELS, fid, {"properties": {"use_code": "104"}}, "再分区")
    for lang, before, after in (
        ("en", "Single Family", "Two Family"),
        ("zh", "独户住宅", "双户住宅"),
    ):
        newest = _feed(api, lang=lang)["changesets"][0]
        assert newest["kind"] == "edit" and newest["modified"] == 1
        assert newest["added"] == newest["deleted"] == newest["more"] == 0
        [feature] = newest["features"]
        assert feature["id"] == fid and feature["change"] == "modified"
        assert feature["geometry_changed"] is False and "previous_geometry" not in feature
        changed = {c["field"]: c for c in feature["fields"]}
        assert changed["use_code"]["before"] == "101" and changed["use_code"]["after"] == "104"
        assert (changed["use_code"]["before_name"], changed["use_code"]["after_name"]) == (
            before,
            after,
        )
        assert "landuse_l2" not in changed or changed["landuse_l2"]["before"] is not None
        assert feature["name"]  # the parcel's address
        assert "reason" not in newest
    # the layer's own changes endpoint agrees on what the change set did
    at = dt.datetime.fromisoformat(newest["at"])
    since = (at - dt.timedelta(microseconds=1)).isoformat()
    own = api.get(
        f"/collections/cambridge__{PARCELS}/changes",
        params={"since": since, "until": newest["at"]},
    ).json()
    assert own["modified"] == [{"id": fid, "fields": sorted(changed, key=list(changed).index)}]
    colleague = _feed(api, keys["planner"])["changesets"][0]
    assert colleague["reason"] == "再分区" and colleague["role"] == "land_bureau"


def test_a_change_hidden_from_the_caller_is_not_in_their_feed(api, keys, engine) -> None:  # noqa: ANN001
    fid = _parcel(engine, "101")
    _edit(
        api, keys["land_bureau"], PARCELS, fid, {"properties": {"land_value": 1.5e6}}, "appraisal"
    )
    seen = _feed(api, keys["planner"])["changesets"][0]
    assert seen["reason"] == "appraisal"
    assert [c["field"] for c in seen["features"][0]["fields"]] == ["land_value"]
    public = _feed(api)["changesets"]
    assert all(c["id"] != seen["id"] for c in public)
    assert all("land_value" not in str(c) for c in public)
    # a layer hidden from the public: nothing of it, asked by name or not
    _edit(api, keys["land_bureau"], HIDDEN, 1, {"properties": {"lifecycle_status": "ABN"}}, "x")
    assert _feed(api, layers=HIDDEN)["changesets"] == []
    assert all(c["layer"] != HIDDEN for c in _feed(api, layers=f"{PARCELS},{HIDDEN}")["changesets"])
    assert _feed(api, keys["planner"], layers=HIDDEN)["changesets"][0]["layer"] == HIDDEN
    atom = api.get(f"{FEED}.atom", params={"layers": HIDDEN}).text
    assert "lifecycle" not in atom and f"{ATOM[1:-1]}" in atom


def test_shapes_added_and_removed(api, keys, engine) -> None:  # noqa: ANN001
    key = keys["land_bureau"]
    fid = _parcel(engine, "101")
    url = f"/collections/cambridge__{PARCELS}/items/{fid}"
    shape = api.get(url).json()["geometry"]
    moved = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[x + 0.0001, y] for x, y in ring] for ring in polygon]
            for polygon in shape["coordinates"]
        ],
    }
    _edit(api, key, PARCELS, fid, {"geometry": moved}, "survey")
    newest = _feed(api)["changesets"][0]
    [feature] = newest["features"]
    assert feature["geometry_changed"] is True and feature["fields"] == []
    assert feature["previous_geometry"]["coordinates"][0][0][0] == pytest.approx(
        shape["coordinates"][0][0][0], abs=1e-6
    )
    assert feature["geometry"]["coordinates"][0][0][0][0] == pytest.approx(
        shape["coordinates"][0][0][0][0] + 0.0001, abs=1e-6
    )
    assert newest["bbox"][2] >= max(x for x, _ in moved["coordinates"][0][0]) - 1e-6
    created = api.post(
        f"/collections/cambridge__{PARCELS}/items",
        json={"type": "Feature", "geometry": moved, "properties": {"use_code": "130"}},
        headers={"X-API-Key": key, "X-Change-Reason": "new"},
    )
    assert created.status_code == 201, created.text
    new_id = int(created.headers["location"].rsplit("/", 1)[1])
    added = _feed(api)["changesets"][0]
    assert (added["added"], added["features"][0]["id"]) == (1, new_id)
    assert added["features"][0]["fields"][0]["field"] == "use_code"
    tag = api.get(f"/collections/cambridge__{PARCELS}/items/{new_id}").headers["etag"]
    gone = api.delete(
        f"/collections/cambridge__{PARCELS}/items/{new_id}",
        headers={"X-API-Key": key, "If-Match": tag, "X-Change-Reason": "mistake"},
    )
    assert gone.status_code == 204
    deleted = _feed(api)["changesets"][0]
    assert deleted["deleted"] == 1 and deleted["features"][0]["change"] == "deleted"
    assert deleted["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_pages_follow_one_another(api, keys, engine) -> None:  # noqa: ANN001
    fid = _parcel(engine, "101")
    for stories in (2, 3, 4):
        _edit(api, keys["land_bureau"], PARCELS, fid, {"properties": {"stories": stories}}, "s")
    whole = [c["id"] for c in _feed(api, limit=100, features=0)["changesets"]]
    assert whole == sorted(whole, reverse=True) and len(whole) >= 4
    walked, before = [], None
    while True:
        page = _feed(api, limit=2, features=0, **({"before": before} if before else {}))
        walked += [c["id"] for c in page["changesets"]]
        before = page["next_before"]
        if before is None:
            break
    assert walked == whole
    last = _feed(api, limit=1)["changesets"][0]
    assert [c["after"] for c in last["features"][0]["fields"]] == [4.0]
    # the period: nothing since the newest change set
    assert _feed(api, since=last["at"])["changesets"] == []


def test_the_atom_feed_reads_in_both_languages(api, keys, engine) -> None:  # noqa: ANN001
    fid = _parcel(engine, "101")
    _edit(api, keys["land_bureau"], PARCELS, fid, {"properties": {"year_built": 1901}}, "内部备注")
    for lang, words in (("zh", "修改 1 处"), ("en", "1 changed")):
        answer = api.get(f"{FEED}.atom", params={"layers": PARCELS, "lang": lang})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(answer.content)
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == len(_feed(api, limit=50)["changesets"])
        first = entries[0]
        assert words in first.findtext(f"{ATOM}title")
        assert "1901" in first.findtext(f"{ATOM}content")
        assert "内部备注" not in answer.text  # reasons are for colleagues
        link = first.find(f"{ATOM}link").get("href")
        assert "/public#c=cambridge" in link and "&ll=-71." in link
        assert f"&chg={_feed(api)['changesets'][0]['id']}&" in link  # the map opens it
    signed = api.get(
        f"{FEED}.atom", params={"layers": PARCELS}, headers={"X-API-Key": keys["planner"]}
    )
    assert "内部备注" in signed.text and "/map#c=cambridge" in signed.text


def test_changes_in_an_area(api, keys, engine) -> None:  # noqa: ANN001
    fid = _parcel(engine, "101")
    _edit(api, keys["land_bureau"], PARCELS, fid, {"properties": {"stories": 7}}, "area")
    with engine.connect() as conn:
        x, y = conn.execute(
            sa.text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "  # noqa: S608
                f"FROM cambridge.{PARCELS} WHERE fid = :fid"
            ),
            {"fid": fid},
        ).one()
    box = (x - 0.002, y - 0.002, x + 0.002, y + 0.002)
    area = ",".join(f"{v:.6f}" for v in box)
    page = _feed(api, bbox=area, limit=100, features=0)
    assert page["area"] == pytest.approx(list(box), abs=1e-6)
    newest = page["changesets"][0]
    assert newest["modified"] == 1 and newest["added"] == newest["deleted"] == 0
    # the load, counted over the area: the parcels in it as the load left them
    load = page["changesets"][-1]
    as_loaded = api.get(
        f"/collections/cambridge__{PARCELS}/items",
        params={"bbox": area, "as-of": load["at"], "limit": 1},
    ).json()["numberMatched"]
    assert load["kind"] == "load" and load["added"] == as_loaded > 0
    assert len(page["changesets"]) <= len(_feed(api, limit=100, features=0)["changesets"])
    # a box out at sea: nothing changed there
    assert _feed(api, bbox="-70.0,41.0,-69.99,41.01")["changesets"] == []
    atom = api.get(f"{FEED}.atom", params={"layers": PARCELS, "bbox": area, "lang": "en"})
    assert atom.status_code == 200 and "1 changed" in atom.text


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-12-02", "until": "2026-12-01"},
        {"since": "yesterday"},
        {"until": "2026-13-45"},
        {"limit": 0},
        {"limit": 101},
        {"features": -1},
        {"before": "abc"},
        {"before": 0},
        {"layers": "x" * 3000},
        {"bbox": "1,2,3"},
        {"bbox": "-71.1,42.4,-71.2,42.3"},
        {"bbox": "0,0,200,1"},
        {"bbox": "a,b,c,d"},
    ],
)
def test_bad_parameters_are_400(api, params) -> None:  # noqa: ANN001
    answer = api.get(FEED, params=params)
    assert answer.status_code == 400, (params, answer.status_code, answer.text)


def test_unknown_city_is_404(api) -> None:  # noqa: ANN001
    assert api.get("/cities/atlantis/changes").status_code == 404
    assert api.get("/cities/atlantis/changes.atom").status_code == 404


def test_the_notebook_frame_is_the_feed(feed_app, api, keys, engine) -> None:  # noqa: ANN001
    from digitalcity.city import City

    defs = feed_app.state.definitions
    for role, key in (("anonymous", None), ("planner", keys["planner"])):
        city = City(defs.catalog, defs.catalog.city("cambridge"), engine, role, codes=defs.codes)
        frame = city.recent_changes(since="2000-01-01", layers=[PARCELS], lang="en", features=5)
        feed = _feed(api, key, since="2000-01-01", limit=100, features=5, lang="en")
        listed = [(c["id"], f["id"]) for c in feed["changesets"] for f in c["features"]]
        assert list(zip(frame["changeset"], frame["fid"], strict=True)) == listed
        assert frame.crs.to_string() == "OGC:CRS84" and frame.geometry.notna().all()
        assert frame.attrs["more"] == {c["id"]: c["more"] for c in feed["changesets"] if c["more"]}
        edits = frame[frame["kind"] == "edit"]
        assert (edits["reason"].notna() if key else edits["reason"].isna()).all()
        newest = frame.iloc[0]
        first = feed["changesets"][0]["features"][0]
        assert newest["before"] == {c["field"]: c["before"] for c in first["fields"]}
    empty = city.recent_changes(bbox=(-70.0, 41.0, -69.99, 41.01))
    assert empty.empty and "reason" in empty.columns and empty.crs is not None


def test_the_map_pages_name_their_feed(api, catalog) -> None:  # noqa: ANN001
    from digitalcity.web.pages import page_config, render

    for path in ("/public?lang=en", "/map?lang=en"):
        page = api.get(path).text
        assert '<link rel="alternate" type="application/atom+xml"' in page, path
        assert 'href="/cities/cambridge/changes.atom?lang=en"' in page and "recent changes" in page
    zh = api.get("/public?lang=zh").text
    assert 'href="/cities/cambridge/changes.atom?lang=zh"' in zh and "最近变更" in zh
    config = page_config("static", catalog, "cambridge", "zh", None, "assets")
    static = render("static", config, "zh")  # a static site has no API, so no feed
    assert "application/atom+xml" not in static and "{{feeds}}" not in static


def test_the_other_language_is_named_from_the_same_rows(feed_app, api, engine) -> None:  # noqa: ANN001
    """A change set's statement runs once for both languages: read in English, then in
    Chinese, each change set (the load of 13,116 parcels among them) is counted and boxed
    once; its rows are kept apart from the language and named again in Chinese."""
    from digitalcity.history.feed import FeedQuery, city_changes

    defs = feed_app.state.definitions
    city = defs.catalog.city("cambridge")
    ran: list[str] = []

    def counted(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        if "n_added" in statement:  # a change set's statement
            ran.append(statement)

    # seven features an entry: no earlier test's page kept these answers
    query = FeedQuery(
        since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        until=dt.datetime.now(dt.UTC),
        limit=100,
        features=7,
        lang="en",
    )
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        with engine.connect() as conn:
            en = city_changes(conn, defs.catalog, city, "anonymous", query, codes=defs.codes)
            once = len(ran)
            zh = city_changes(
                conn, defs.catalog, city, "anonymous", replace(query, lang="zh"), codes=defs.codes
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    assert once >= len(en["changesets"]) > 0 and len(ran) == once
    counts = [
        (c["id"], c["added"], c["modified"], c["deleted"], c["bbox"]) for c in en["changesets"]
    ]
    assert counts == [
        (c["id"], c["added"], c["modified"], c["deleted"], c["bbox"]) for c in zh["changesets"]
    ]
    load = next(c for c in zh["changesets"] if c["layer"] == PARCELS and c["kind"] == "load")
    assert (
        load["added"] == 13_116
        and load["layer_title"]
        != next(c for c in en["changesets"] if c["id"] == load["id"])["layer_title"]
    )
