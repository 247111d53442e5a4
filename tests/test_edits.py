"""Editing (OGC API – Features Part 4) with history and as-of, over real HTTP on a layer of
its own: a copy of Cambridge's hydrants loaded by our loader as ``edit_hydrants`` (so the demo
layers other tests count stay untouched), editable by land_bureau, admin and — for the field
access test — planner, with one field restricted and one read-only."""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import mapbox_vector_tile
import pytest
import sqlalchemy as sa
import uvicorn
from conftest import free_port
from fastapi.testclient import TestClient

from digitalcity.api.item_pages import next_pages
from digitalcity.catalog.model import LayerDef
from digitalcity.db.keys import create_key
from digitalcity.ingest.loader import load_layer

LAYER = "edit_hydrants"
ITEMS = f"/collections/cambridge__{LAYER}/items"
POINT = {"type": "Point", "coordinates": [-71.1045, 42.3736]}  # central Cambridge
FAR = {"type": "Point", "coordinates": [-70.0, 41.0]}  # the sea, far outside the city


def _layer(base: LayerDef) -> LayerDef:
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = LAYER
    data["editing"] = {"enabled": True, "roles": ["planner", "land_bureau", "admin"]}
    for field in data["fields"]:
        if field["name"] == "flow_gpm":
            field["read_only"] = True
        if field["name"] == "notes":
            field["access"] = "restricted"  # land_bureau and admin only
    data.pop("label", None)
    return LayerDef.model_validate(data)


@pytest.fixture(scope="module")
def edit_app(settings, catalog, engine, loaded) -> Iterator[Any]:  # noqa: ANN001
    from digitalcity.api import create_app
    from digitalcity.tiles.prepare import prepare_layer

    layer = _layer(catalog.layer("cambridge", "hydrants"))
    report = load_layer(layer, catalog.city("cambridge"), engine, settings, force=True)
    prepare_layer(engine, layer, catalog.city("cambridge"), int(report.version or 0))
    app = create_app(settings.model_copy(update={"tile_cache": False}))
    from digitalcity.api.reload import Definitions, install

    defs = app.state.definitions
    install(app, Definitions(catalog.with_layer(layer), defs.codes, defs.descriptions))
    yield app


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {
        role: create_key(engine, role, f"edits-{role}").key
        for role in ("planner", "land_bureau", "admin")
    }


@pytest.fixture(scope="module")
def api(edit_app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(edit_app) as client:
        yield client


def _h(key: str, **extra: str) -> dict[str, str]:
    return {"X-API-Key": key, **extra}


def _feature(**props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": POINT, "properties": {"hydrant_id": "T-1", **props}}


def _count(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM cambridge.{LAYER}")).scalar_one())  # noqa: S608


def test_rights(api, keys, engine) -> None:  # noqa: ANN001
    assert api.post(ITEMS, json=_feature()).status_code == 403  # anonymous, a public layer
    hidden = api.post("/collections/cambridge__utility_poles/items", json=_feature())
    assert hidden.status_code == 404  # a layer the caller cannot see
    demo = api.post(
        "/collections/cambridge__street_lights/items",
        json=_feature(),
        headers=_h(keys["land_bureau"]),
    )
    assert demo.status_code == 403  # seen, not editable
    assert api.delete(f"{ITEMS}/1", headers={"If-Match": "*"}).status_code == 403


def test_create_then_read_with_etag(api, keys, engine) -> None:  # noqa: ANN001
    before = _count(engine)
    created = api.post(
        ITEMS,
        json=_feature(lifecycle_status="ACT", gate=True, install_date="2026-11-02", subtype=2),
        headers=_h(
            keys["land_bureau"], **{"X-Change-Reason": "new%20hydrant%20%E6%96%B0%E5%A2%9E"}
        ),
    )
    assert created.status_code == 201, created.text
    fid = created.json()["ids"][0]
    assert created.headers["location"].endswith(f"{ITEMS}/{fid}")
    got = api.get(f"{ITEMS}/{fid}")
    assert got.status_code == 200
    assert got.headers["etag"] == created.headers["etag"]
    assert got.json()["properties"]["lifecycle_status"] == "ACT"
    assert got.json()["geometry"]["coordinates"] == pytest.approx(POINT["coordinates"])
    assert _count(engine) == before + 1
    history = api.get(f"{ITEMS}/{fid}/history", headers=_h(keys["planner"])).json()["versions"]
    assert len(history) == 1 and history[0]["created_by"]["reason"] == "new hydrant 新增"
    assert history[0]["created_by"]["role"] == "land_bureau"
    # who and why are for colleagues: the public reads when and what kind of change only
    public = api.get(f"{ITEMS}/{fid}/history").json()["versions"][0]["created_by"]
    assert set(public) == {"changeset", "kind", "at"} and "新增" not in str(public)


def test_bad_edits_list_every_fault_and_write_nothing(api, keys, engine) -> None:  # noqa: ANN001
    before = _count(engine)
    bad = {
        "type": "Feature",
        "geometry": FAR,
        "properties": {
            "subtype": "two",
            "gate": "yes",
            "flow_gpm": 900,
            "no_such": 1,
            "install_date": "soon",
        },
    }
    response = api.post(ITEMS, json=bad, headers=_h(keys["land_bureau"]))
    assert response.status_code == 400
    faults = response.json()["faults"]
    assert len(faults) == 6, faults
    assert any("read-only" in f for f in faults) and any("far outside" in f for f in faults)
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[-71.1, 42.37], [-71.11, 42.372]]},
        "properties": {},
    }
    assert "does not fit" in api.post(ITEMS, json=line, headers=_h(keys["land_bureau"])).text
    # a type GeoJSON does not have (shapely's GeometryTypeError was a 500), and a point whose
    # easting overflowed the Gauss–Krüger zone check (a warning and a garbage zone)
    circle = {**line, "geometry": {"type": "Circle", "coordinates": [-71.1, 42.37]}}
    unknown = api.post(ITEMS, json=circle, headers=_h(keys["land_bureau"]))
    assert unknown.status_code == 400 and "geometry cannot be read" in unknown.text
    huge = {**line, "geometry": {"type": "Point", "coordinates": [1e308, 1e308]}}
    metres = api.post(ITEMS, json=huge, headers=_h(keys["land_bureau"]))
    assert metres.status_code == 400 and "geometry:" in metres.text
    collection = {
        "type": "FeatureCollection",
        "features": [_feature(), _feature(), _feature(subtype="x")],
    }
    atomic = api.post(ITEMS, json=collection, headers=_h(keys["land_bureau"]))
    assert atomic.status_code == 400 and atomic.json()["faults"][0].startswith("feature 2:")
    assert _count(engine) == before


HAN = re.compile(r"[\u4e00-\u9fff]")


def test_what_is_wrong_is_said_in_the_readers_language(api, keys, engine) -> None:  # noqa: ANN001
    """The edit form shows the API's faults as they come: in Chinese for a Chinese page (its
    ``Accept-Language``, or ``lang=``), every one of them; in English otherwise."""
    bad = {
        "type": "Feature",
        "geometry": FAR,
        "properties": {"subtype": "two", "gate": "yes", "flow_gpm": 900, "no_such": 1,
                       "install_date": "soon"},
    }  # fmt: skip
    zh = api.post(ITEMS, json=bad, headers=_h(keys["land_bureau"], **{"Accept-Language": "zh"}))
    faults = zh.json()["faults"]
    assert zh.status_code == 400 and len(faults) == 6
    assert all(HAN.search(f) for f in faults), faults
    assert "只读字段，不能修改" in " ".join(faults)
    assert any("远在" in f and "范围之外" in f for f in faults), faults
    assert any("不是整数（64位）" in f or "不是日期" in f for f in faults), faults
    assert "accept-language" in zh.headers["vary"].lower()
    en = api.post(ITEMS, json=bad, params={"lang": "en"},
                  headers=_h(keys["land_bureau"], **{"Accept-Language": "zh"}))  # fmt: skip
    assert (
        en.json()["faults"]
        == api.post(ITEMS, json=bad, headers=_h(keys["land_bureau"])).json()["faults"]
    )
    assert not any(HAN.search(f) for f in en.json()["faults"])
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[-71.1, 42.37], [-71.11, 42.372]]},
        "properties": {},
    }
    shape = api.post(ITEMS, json=line, params={"lang": "zh"}, headers=_h(keys["land_bureau"]))
    assert "LineString 不符合本图层的几何类型" in shape.json()["faults"][0]
    batch = {"type": "FeatureCollection", "features": [_feature(), _feature(subtype="x")]}
    atomic = api.post(ITEMS, json=batch, params={"lang": "zh"}, headers=_h(keys["land_bureau"]))
    assert atomic.json()["faults"][0].startswith("第 1 个要素：")


def test_replace_patch_delete_with_if_match(api, keys, engine) -> None:  # noqa: ANN001
    key = keys["land_bureau"]
    fid = api.post(ITEMS, json=_feature(colour="red"), headers=_h(key)).json()["ids"][0]
    url = f"{ITEMS}/{fid}"
    tag = api.get(url).headers["etag"]
    assert (
        api.patch(url, json={"properties": {"colour": "blue"}}, headers=_h(key)).status_code == 428
    )
    assert (
        api.patch(
            url, json={"properties": {"colour": "blue"}}, headers=_h(key, **{"If-Match": '"stale"'})
        ).status_code
        == 412
    )
    patched = api.patch(
        url, json={"properties": {"colour": "blue"}}, headers=_h(key, **{"If-Match": tag})
    )
    assert patched.status_code == 200, patched.text
    assert api.get(url).json()["properties"]["colour"] == "blue"
    assert (
        api.patch(
            url, json={"properties": {"colour": "x"}}, headers=_h(key, **{"If-Match": tag})
        ).status_code
        == 412
    )
    tag = patched.headers["etag"]
    replaced = api.put(url, json=_feature(colour="green"), headers=_h(key, **{"If-Match": tag}))
    assert replaced.status_code == 200
    props = api.get(url).json()["properties"]
    assert props["colour"] == "green" and props["manufacturer"] is None  # not sent: cleared
    deleted = api.delete(url, headers=_h(key, **{"If-Match": replaced.headers["etag"]}))
    assert deleted.status_code == 204
    assert api.get(url).status_code == 404
    versions = api.get(f"{url}/history", headers=_h(key)).json()["versions"]
    assert [v["properties"]["colour"] for v in versions] == ["red", "blue", "green"]
    assert [v["created_by"]["role"] for v in versions] == ["land_bureau"] * 3
    assert versions[-1]["ended_as"] == "delete" and versions[-1]["valid_to"]


def test_concurrent_editors_one_wins_no_update_lost(edit_app, keys) -> None:  # noqa: ANN001
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(edit_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        key = keys["land_bureau"]
        fid = httpx.post(base + ITEMS, json=_feature(colour="start"), headers=_h(key)).json()[
            "ids"
        ][0]
        tag = httpx.get(f"{base}{ITEMS}/{fid}").headers["etag"]
        results: dict[str, int] = {}
        barrier = threading.Barrier(2)

        def edit(colour: str) -> None:
            barrier.wait()
            r = httpx.patch(
                f"{base}{ITEMS}/{fid}",
                json={"properties": {"colour": colour}},
                headers=_h(key, **{"If-Match": tag}),
            )
            results[colour] = r.status_code

        editors = [threading.Thread(target=edit, args=(c,)) for c in ("alpha", "beta")]
        for t in editors:
            t.start()
        for t in editors:
            t.join()
        assert sorted(results.values()) == [200, 412], results
        winner = next(c for c, s in results.items() if s == 200)
        assert httpx.get(f"{base}{ITEMS}/{fid}").json()["properties"]["colour"] == winner
        versions = httpx.get(f"{base}{ITEMS}/{fid}/history").json()["versions"]
        assert [v["properties"]["colour"] for v in versions] == ["start", winner]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_loaded_feature_was_made_by_its_load(api, keys) -> None:  # noqa: ANN001
    url = f"{ITEMS}/2"
    tag = api.get(url).headers["etag"]
    patched = api.patch(
        url,
        json={"properties": {"colour": "x"}},
        headers=_h(keys["land_bureau"], **{"If-Match": tag}),
    )
    assert patched.status_code == 200
    first, second = api.get(f"{url}/history", headers=_h(keys["planner"])).json()["versions"][:2]
    assert first["created_by"]["kind"] == "load" and first["created_by"]["role"] == "loader"
    assert first["ended_by"]["changeset"] == second["created_by"]["changeset"]


def test_as_of_returns_the_state_before_the_edits(api, keys) -> None:  # noqa: ANN001
    key = keys["land_bureau"]
    page = f"{ITEMS}?bbox=-71.11,42.37,-71.10,42.38&limit=500"
    before = api.get(page).json()["features"]
    time.sleep(0.05)
    instant = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(0.05)
    target = before[0]
    url = f"{ITEMS}/{target['id']}"
    tag = api.get(url).headers["etag"]
    assert (
        api.patch(
            url, json={"properties": {"colour": "purple"}}, headers=_h(key, **{"If-Match": tag})
        ).status_code
        == 200
    )
    gone = before[1]
    tag = api.get(f"{ITEMS}/{gone['id']}").headers["etag"]
    assert (
        api.delete(f"{ITEMS}/{gone['id']}", headers=_h(key, **{"If-Match": tag})).status_code == 204
    )
    added = api.post(ITEMS, json=_feature(), headers=_h(key)).json()["ids"][0]
    now = api.get(page).json()["features"]
    assert now != before
    then = api.get(f"{page}&as-of={quote(instant)}").json()["features"]
    assert [f["id"] for f in then] == [f["id"] for f in before]
    for old, past in zip(before, then, strict=True):
        assert past == old, (old, past)
    assert then == before  # the same features, geometries and values
    single = api.get(url, params={"as-of": instant}).json()
    assert single["properties"] == target["properties"]
    changed = api.get(f"/collections/cambridge__{LAYER}/changes", params={"since": instant}).json()
    assert added in changed["added"] and gone["id"] in changed["deleted"]
    assert {"id": target["id"], "fields": ["colour"]} in changed["modified"]


def test_revert_restores_and_refuses_conflicts(api, keys, engine) -> None:  # noqa: ANN001
    key, admin = keys["land_bureau"], keys["admin"]
    fid = api.post(ITEMS, json=_feature(colour="one"), headers=_h(key)).json()["ids"][0]
    url = f"{ITEMS}/{fid}"
    patched = api.patch(
        url,
        json={"properties": {"colour": "two"}},
        headers=_h(key, **{"If-Match": api.get(url).headers["etag"]}),
    )
    changeset = patched.json()["changeset"]
    revert = f"/collections/cambridge__{LAYER}/changesets/{changeset}/revert"
    other = create_key(engine, "land_bureau", "edits-other-bureau").key
    assert api.post(revert, headers=_h(other)).status_code == 403  # another editor's edit
    assert api.post(revert, headers=_h(keys["planner"])).status_code == 403
    assert api.post(revert).status_code == 403  # anonymous
    done = api.post(revert, headers=_h(admin))
    assert done.status_code == 200, done.text
    assert api.get(url).json()["properties"]["colour"] == "one"
    assert api.post(revert, headers=_h(admin)).status_code == 409  # changed again since
    versions = api.get(f"{url}/history").json()["versions"]
    assert [v["properties"]["colour"] for v in versions] == ["one", "two", "one"]


def test_an_editor_undoes_their_own_edits_only(api, keys, engine) -> None:  # noqa: ANN001
    """Undo without an admin: the layer's editor reverts a change set made with their own key
    (and that revert, which redoes it), not another's, nor a load; the history says who."""
    key, admin = keys["land_bureau"], keys["admin"]
    fid = api.post(ITEMS, json=_feature(colour="one"), headers=_h(key)).json()["ids"][0]
    url = f"{ITEMS}/{fid}"

    def patched(colour: str, by: str) -> int:
        etag = api.get(url).headers["etag"]
        body = {"properties": {"colour": colour}}
        answer = api.patch(url, json=body, headers=_h(by, **{"If-Match": etag}))
        return int(answer.json()["changeset"])

    revert = f"/collections/cambridge__{LAYER}/changesets/{{}}/revert"
    mine = patched("two", key)
    undone = api.post(revert.format(mine), headers=_h(key, **{"X-Change-Reason": "typo"}))
    assert undone.status_code == 200, undone.text
    assert api.get(url).json()["properties"]["colour"] == "one"
    redone = api.post(revert.format(undone.json()["changeset"]), headers=_h(key))
    assert redone.status_code == 200 and api.get(url).json()["properties"]["colour"] == "two"
    theirs = patched("three", admin)
    refused = api.post(revert.format(theirs), headers=_h(key))
    assert refused.status_code == 403 and "only their own" in refused.json()["detail"]
    assert api.get(url).json()["properties"]["colour"] == "three"
    with engine.connect() as conn:
        load = conn.execute(
            sa.text(
                "SELECT max(id) FROM digitalcity.changesets "
                "WHERE city = 'cambridge' AND layer = :layer AND kind = 'load'"
            ),
            {"layer": LAYER},
        ).scalar_one()
    assert load is not None
    assert api.post(revert.format(load), headers=_h(key)).status_code == 403
    versions = api.get(f"{url}/history", headers=_h(key)).json()["versions"]
    assert [v["properties"]["colour"] for v in versions] == ["one", "two", "one", "two", "three"]
    assert versions[2]["created_by"]["reason"] == "typo"
    assert versions[2]["created_by"]["kind"] == "revert"


def test_a_past_version_is_restored_as_a_new_one(api, keys, engine) -> None:  # noqa: ANN001
    """恢复历史版本: a version named by an instant inside it comes back as a new version, its
    shape exactly and the fields the caller may write; a field it may not see stays as it is
    now; undone like any edit; bad requests are refused in words, nothing written."""
    bureau, planner = keys["land_bureau"], keys["planner"]
    fid = api.post(ITEMS, json=_feature(colour="one", notes="first"), headers=_h(bureau)).json()[
        "ids"
    ][0]
    url = f"{ITEMS}/{fid}"
    moved = {"type": "Point", "coordinates": [-71.1031, 42.3729]}
    patched = api.patch(
        url,
        json={"geometry": moved, "properties": {"colour": "two", "notes": "second"}},
        headers=_h(bureau, **{"If-Match": api.get(url).headers["etag"]}),
    )
    assert patched.status_code == 200, patched.text
    first = api.get(f"{url}/history", headers=_h(bureau)).json()["versions"][0]["valid_from"]
    restore = f"{url}/restore?as-of={quote(first)}"
    tag = api.get(url, headers=_h(planner)).headers["etag"]

    # refused, nothing written
    assert api.post(restore).status_code == 403  # anonymous
    assert api.post(restore, headers=_h(planner)).status_code == 428  # no If-Match
    stale = _h(planner, **{"If-Match": '"stale"'})
    assert api.post(restore, headers=stale).status_code == 412
    bad = api.post(f"{url}/restore?as-of=yesterday", headers=_h(planner, **{"If-Match": tag}))
    assert bad.status_code == 400 and "RFC 3339" in bad.text
    for instant in ("2000-01-01T00:00:00Z", dt.datetime.now(dt.UTC).isoformat()):
        none = api.post(
            f"{url}/restore?as-of={quote(instant)}", headers=_h(planner, **{"If-Match": tag})
        )
        assert none.status_code == 400 and "no earlier version" in none.text, none.text
    zh = api.post(
        f"{url}/restore?as-of=2000-01-01T00:00:00Z&lang=zh",
        headers=_h(planner, **{"If-Match": tag, "Accept-Language": "zh"}),
    )
    assert "没有更早的版本" in zh.text
    assert (
        api.post(
            f"{ITEMS}/999999999/restore?as-of={quote(first)}",
            headers=_h(planner, **{"If-Match": "*"}),
        ).status_code
        == 404
    )
    assert len(api.get(f"{url}/history").json()["versions"]) == 2

    done = api.post(
        restore, headers=_h(planner, **{"If-Match": tag, "X-Change-Reason": "wrong hydrant moved"})
    )
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == api.get(url, headers=_h(planner)).headers["etag"]
    now = api.get(url, headers=_h(bureau)).json()
    assert now["properties"]["colour"] == "one"
    assert now["properties"]["notes"] == "second"  # the planner may not see it: kept
    with engine.connect() as conn:
        same = conn.execute(
            sa.text(
                f"SELECT ST_AsBinary(c.geom) = ST_AsBinary(h.geom) FROM cambridge.{LAYER} c, "  # noqa: S608
                f"cambridge.{LAYER}__history h WHERE c.fid = :fid AND h.fid = :fid "
                "AND lower(h.valid) = (SELECT min(lower(valid)) FROM "
                f"cambridge.{LAYER}__history WHERE fid = :fid)"
            ),
            {"fid": fid},
        ).scalar_one()
    assert same  # the shape exactly, not through lon/lat text
    versions = api.get(f"{url}/history", headers=_h(bureau)).json()["versions"]
    assert [v["properties"]["colour"] for v in versions] == ["one", "two", "one"]
    assert versions[-1]["created_by"]["reason"] == "wrong hydrant moved"
    assert versions[-1]["created_by"]["role"] == "planner"
    # undone like any edit: by its editor
    undo = api.post(
        f"/collections/cambridge__{LAYER}/changesets/{done.json()['changeset']}/revert",
        headers=_h(planner),
    )
    assert undo.status_code == 200, undo.text
    back = api.get(url, headers=_h(bureau)).json()
    assert back["properties"]["colour"] == "two"
    assert back["geometry"]["coordinates"] == pytest.approx(moved["coordinates"])
    # a deleted feature comes back whole as the version named, with no ETag to match
    gone = api.delete(url, headers=_h(bureau, **{"If-Match": api.get(url).headers["etag"]}))
    assert gone.status_code == 204
    last = api.get(f"{url}/history", headers=_h(bureau)).json()["versions"][-1]["valid_from"]
    undeleted = api.post(f"{url}/restore?as-of={quote(last)}", headers=_h(planner))
    assert undeleted.status_code == 200, undeleted.text
    again = api.get(url, headers=_h(bureau))
    assert again.headers["etag"] == undeleted.headers["etag"]
    assert again.json()["properties"]["colour"] == "two"
    assert again.json()["properties"]["notes"] == "second"
    assert api.post(f"{url}/restore?as-of={quote(last)}", headers=_h(planner)).status_code == 428
    kinds = [
        (v["properties"]["colour"], v["ended_as"])
        for v in api.get(f"{url}/history", headers=_h(bureau)).json()["versions"]
    ]
    assert kinds == [
        ("one", "update"),
        ("two", "update"),
        ("one", "update"),
        ("two", "delete"),
        ("two", None),
    ]


def test_hidden_fields_cannot_be_written_or_read_through_history(api, keys) -> None:  # noqa: ANN001
    bureau, planner = keys["land_bureau"], keys["planner"]
    fid = api.post(ITEMS, json=_feature(notes="secret"), headers=_h(bureau)).json()["ids"][0]
    url = f"{ITEMS}/{fid}"
    tag = api.get(url, headers=_h(planner)).headers["etag"]
    refused = api.patch(
        url, json={"properties": {"notes": "x"}}, headers=_h(planner, **{"If-Match": tag})
    )
    assert refused.status_code == 400 and "no such field" in refused.json()["faults"][0]
    ok = api.patch(
        url, json={"properties": {"colour": "planner"}}, headers=_h(planner, **{"If-Match": tag})
    )
    assert ok.status_code == 200
    seen = api.get(f"{url}/history", headers=_h(planner)).json()["versions"]
    assert all("notes" not in v["properties"] for v in seen) and "secret" not in str(seen)
    full = api.get(f"{url}/history", headers=_h(bureau)).json()["versions"]
    assert full[0]["properties"]["notes"] == "secret"
    assert (
        api.get(f"{url}/history").status_code == 200
    )  # public layer: anonymous sees public fields
    assert "secret" not in api.get(f"{url}/history").text


def test_undo_after_undo_goes_back_step_by_step(api, keys) -> None:  # noqa: ANN001
    """Two edits of a feature: the earlier one cannot be reverted while the later stands; once
    the later is reverted, the feature is as the earlier left it, and that reverts too."""
    key, admin = keys["land_bureau"], keys["admin"]
    fid = api.post(ITEMS, json=_feature(colour="one"), headers=_h(key)).json()["ids"][0]
    url = f"{ITEMS}/{fid}"

    def patched(colour: str) -> int:
        etag = api.get(url).headers["etag"]
        body = {"properties": {"colour": colour}}
        return int(
            api.patch(url, json=body, headers=_h(key, **{"If-Match": etag})).json()["changeset"]
        )

    first, second = patched("two"), patched("three")
    revert = f"/collections/cambridge__{LAYER}/changesets/{{}}/revert"
    assert api.post(revert.format(first), headers=_h(admin)).status_code == 409
    assert api.post(revert.format(second), headers=_h(admin)).status_code == 200
    assert api.get(url).json()["properties"]["colour"] == "two"
    assert api.post(revert.format(first), headers=_h(admin)).status_code == 200
    assert api.get(url).json()["properties"]["colour"] == "one"
    assert api.post(revert.format(second), headers=_h(admin)).status_code == 409  # undone already


def test_an_edit_changes_the_tiles_it_touches(api, keys) -> None:  # noqa: ANN001
    key = keys["land_bureau"]
    lon, lat = POINT["coordinates"]
    n = 2**17
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    tile = f"/collections/cambridge__{LAYER}/tiles/WebMercatorQuad/17/{x}/{y}"

    def ids() -> set[int]:
        response = api.get(tile)
        if response.status_code == 204:
            return set()
        layer = mapbox_vector_tile.decode(response.content)
        return {f["id"] for f in next(iter(layer.values()))["features"]}

    before = ids()
    fid = api.post(ITEMS, json=_feature(), headers=_h(key)).json()["ids"][0]
    assert fid in ids() - before


def test_the_same_rules_from_python(edit_app, engine) -> None:  # noqa: ANN001
    from digitalcity.city import City
    from digitalcity.editing import EditRejected, Forbidden, PreconditionFailed
    from digitalcity.history.reads import NotYourChange, RevertConflict

    catalog = edit_app.state.catalog
    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    start = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    [fid] = city.create(LAYER, [_feature(colour="py")], reason="notebook")
    tag = city.etag(LAYER, fid)
    assert tag
    new_tag = city.update(LAYER, fid, {"properties": {"colour": "py2"}}, etag=tag, reason="fix")
    with pytest.raises(PreconditionFailed):
        city.update(LAYER, fid, {"properties": {"colour": "py3"}}, etag=tag)
    with pytest.raises(EditRejected):
        city.update(LAYER, fid, {"properties": {"flow_gpm": 1}}, etag=new_tag)
    assert city.read(LAYER).loc[fid, "colour"] == "py2"
    assert fid not in city.read(LAYER, as_of=start).index
    assert [v["properties"]["colour"] for v in city.history(LAYER, fid)] == ["py", "py2"]
    assert fid in city.changes(LAYER, since=start)["added"]
    first = city.history(LAYER, fid)[0]["valid_from"]
    new_tag = city.restore(LAYER, fid, first, etag=new_tag, reason="back to py")
    assert city.read(LAYER).loc[fid, "colour"] == "py"
    assert city.history(LAYER, fid)[-1]["created_by"]["reason"] == "back to py"
    deleted = city.delete(LAYER, fid, etag=new_tag, reason="gone")
    assert fid not in city.read(LAYER).index
    with pytest.raises(Forbidden):
        City(catalog, catalog.city("cambridge"), engine, "anonymous").create(LAYER, [_feature()])
    # undone as the admin (a notebook's edit carries no key: none is an editor's own)
    with pytest.raises(NotYourChange):
        city.revert(LAYER, deleted)
    admin = City(catalog, catalog.city("cambridge"), engine, "admin")
    undone = admin.revert(LAYER, deleted, reason="deleted by mistake")
    assert admin.read(LAYER).loc[fid, "colour"] == "py"
    assert city.history(LAYER, fid)[-1]["created_by"]["changeset"] == undone
    with pytest.raises(RevertConflict):  # undone already: the feature is back since
        admin.revert(LAYER, deleted)


def test_etag_of_a_layer_named_like_one_of_its_fields(settings, catalog, engine, loaded) -> None:  # noqa: ANN001
    """A layer whose id is also one of its fields ("colour"): the ETag is still the whole
    row's (in SQL, ``x::text`` of a table ``x`` with a column ``x`` is that column), so the
    ETag a GET gives is the one an edit accepts, and the one it returns is the next GET's."""
    import hashlib

    from digitalcity.api import create_app
    from digitalcity.api.reload import Definitions, install

    data = _layer(catalog.layer("cambridge", "hydrants")).model_dump(
        mode="python", exclude_none=True
    )
    data["id"] = "colour"
    layer = LayerDef.model_validate(data)
    load_layer(layer, catalog.city("cambridge"), engine, settings, force=True)
    app = create_app(settings.model_copy(update={"tile_cache": False}))
    defs = app.state.definitions
    install(app, Definitions(catalog.with_layer(layer), defs.codes, defs.descriptions))
    key = create_key(engine, "land_bureau", "etag").key
    with TestClient(app) as client:
        page = client.get("/collections/cambridge__colour/items", params={"limit": 1}).json()
        fid = page["features"][0]["id"]
        url = f"/collections/cambridge__colour/items/{fid}"
        got = client.get(url)
        colour = got.json()["properties"]["colour"]
        tag = got.headers["etag"]
        assert tag.strip('"') != hashlib.md5(str(colour).encode()).hexdigest()
        patched = client.patch(
            url, json={"properties": {"colour": "violet"}}, headers=_h(key, **{"If-Match": tag})
        )
        assert patched.status_code == 200, patched.text
        assert client.get(url).headers["etag"] == patched.headers["etag"] != tag


def test_an_edit_is_not_hidden_by_a_page_rendered_ahead(api, keys) -> None:  # noqa: ANN001
    """A walk's next page rendered before an edit is not answered after it: the layer's
    version is part of its key (``digitalcity.api.prefetch``)."""
    store = next_pages(api.app)
    assert store.settle(30)
    waiting = store.waiting()
    first = api.get(ITEMS, params={"limit": 5, "after": 100}).json()
    assert store.settle(30) and store.waiting() == waiting + 1  # the next, ahead
    last = first["features"][-1]["id"]
    # the next page's first feature, read through another page (the one ahead stays waiting)
    fid = api.get(ITEMS, params={"limit": 1, "after": last}).json()["features"][0]["id"]
    url = f"{ITEMS}/{fid}"
    patched = api.patch(
        url,
        json={"properties": {"colour": "ahead"}},
        headers=_h(keys["land_bureau"], **{"If-Match": api.get(url).headers["etag"]}),
    )
    assert patched.status_code == 200, patched.text
    second = api.get(ITEMS, params={"limit": 5, "after": last}).json()
    assert second["features"][0]["id"] == fid
    assert second["features"][0]["properties"]["colour"] == "ahead"
