"""One change to every feature a query matches (批量修改) over real HTTP, on a copy of
Cambridge's parcels loaded by our loader as ``bulk_parcels`` (the demo layers stay untouched):
the features written, their standard classes derived, one change set in their histories and
the feed, the count the caller saw enforced, refusals writing nothing, and a revert."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from conftest import editable_copy, serve_with_layers

from digitalcity.db.keys import create_key

LAYER = "bulk_parcels"
ITEMS = f"/collections/cambridge__{LAYER}/items"
BOX = "-71.125,42.38,-71.115,42.39"  # a block of North Cambridge's houses
ONE_FAMILY = "use_code = '101'"


@pytest.fixture(scope="module")
def http(settings, catalog, engine, loaded) -> Iterator[httpx.Client]:  # noqa: ANN001
    layers = [editable_copy(catalog, "parcels", LAYER)]
    for base in serve_with_layers(settings, catalog, engine, layers):
        with httpx.Client(base_url=base, timeout=60) as client:
            yield client


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {r: create_key(engine, r, f"bulk-{r}").key for r in ("planner", "land_bureau", "admin")}


def _h(key: str, reason: str = "rezoning 2026 区划调整") -> dict[str, str]:
    return {"X-API-Key": key, "X-Change-Reason": quote(reason)}


def _uses(engine) -> dict[int, tuple]:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT fid, use_code, landuse_l1, landuse_l2 FROM cambridge.{LAYER} "  # noqa: S608
                "WHERE geom && ST_MakeEnvelope(-71.125, 42.38, -71.115, 42.39, 4326) "
                "ORDER BY fid"
            )
        ).all()
    return {int(r.fid): tuple(r[1:]) for r in rows}


def _matched(http: httpx.Client, cql2: str = ONE_FAMILY) -> list[int]:
    """The ids of the box's parcels matching ``cql2``, as the items list them."""
    page = http.get(ITEMS, params={"bbox": BOX, "filter": cql2, "limit": 10000}).json()
    return sorted(f["id"] for f in page["features"])


def test_one_change_to_the_matches_then_revert(http, keys, engine) -> None:  # noqa: ANN001
    before = _uses(engine)
    matched = _matched(http)
    assert len(matched) > 20
    params = {"bbox": BOX, "filter": ONE_FAMILY, "expected": len(matched)}
    body = {"properties": {"use_code": "104"}}
    done = http.patch(ITEMS, params=params, json=body, headers=_h(keys["land_bureau"]))
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["matched"] == result["changed"] == len(matched) and result["ids"] == matched
    after = _uses(engine)
    two_family = {after[fid][1:] for fid in matched}
    assert len(two_family) == 1 and None not in next(iter(two_family))  # classes derived
    for fid, values in after.items():  # only the matches changed, each to 104
        assert values[0] == ("104" if fid in matched else before[fid][0])
    history = http.get(f"{ITEMS}/{matched[0]}/history", headers={"X-API-Key": keys["planner"]})
    last = history.json()["versions"][-1]["created_by"]
    assert last["changeset"] == result["changeset"] and last["reason"] == "rezoning 2026 区划调整"
    feed = http.get("/cities/cambridge/changes", params={"layers": LAYER}).json()
    [entry] = [e for e in feed["changesets"] if e["id"] == result["changeset"]]
    assert entry["modified"] == len(matched) and entry["added"] == entry["deleted"] == 0
    # the same change again: every match already holds it, so nothing is written
    holding = len(_matched(http, "use_code = '104'"))
    again = http.patch(
        ITEMS,
        params={"bbox": BOX, "filter": "use_code = '104'", "expected": holding},
        json=body,
        headers=_h(keys["land_bureau"]),
    )
    assert again.status_code == 200 and again.json()["changeset"] is None
    assert again.json()["changed"] == 0
    undo = http.post(
        f"/collections/cambridge__{LAYER}/changesets/{result['changeset']}/revert",
        headers={"X-API-Key": keys["admin"]},
    )
    assert undo.status_code == 200, undo.text
    assert _uses(engine) == before


def test_refusals_write_nothing(http, keys, engine) -> None:  # noqa: ANN001
    before = _uses(engine)
    bureau = keys["land_bureau"]
    n = len(_matched(http))
    query = {"bbox": BOX, "filter": ONE_FAMILY}

    def patched(params: dict, body: object, key: str | None = bureau) -> httpx.Response:
        return http.patch(ITEMS, params=params, json=body, headers=_h(key) if key else {})

    uses = {"properties": {"use_code": "104"}}
    assert patched(query, uses).status_code == 428  # how many is not said
    stale = patched(query | {"expected": n + 1}, uses)
    assert stale.status_code == 412 and f"matches {n:,} features now" in stale.text
    assert patched(query | {"expected": n, "limit": 5}, uses).status_code == 400
    assert patched(query | {"expected": n, "as-of": "2026-01-01"}, uses).status_code == 400
    shape = {"geometry": {"type": "Point", "coordinates": [0, 0]}, "properties": {}}
    assert patched(query | {"expected": n}, shape).status_code == 400
    assert patched(query | {"expected": n}, {"properties": {}}).status_code == 400
    unknown = patched(query | {"expected": n}, {"properties": {"nope": 1}})
    assert unknown.status_code == 400 and "nope" in unknown.text
    read_only = patched(query | {"expected": n}, {"properties": {"land_area_sqft": 1.0}})
    assert read_only.status_code == 400 and "read-only" in read_only.text
    code = patched(query | {"expected": n}, {"properties": {"use_code": "no such"}})
    assert code.status_code == 400
    assert patched(query | {"expected": n, "filter": "nope = 1"}, uses).status_code == 400
    whole = patched({"expected": 13_116}, uses)  # the whole layer: more than 10,000
    assert whole.status_code == 400 and "10,000" in whole.text
    assert patched(query | {"expected": n}, uses, key=None).status_code == 403
    assert patched(query | {"expected": n}, uses, key=keys["planner"]).status_code == 403
    hidden = http.patch(
        "/collections/cambridge__utility_poles/items", params={"expected": 1}, json=uses
    )
    assert hidden.status_code == 404
    assert _uses(engine) == before


def test_the_same_from_python(http, catalog, engine) -> None:  # noqa: ANN001
    from digitalcity.city import City
    from digitalcity.editing import PreconditionFailed

    extended = catalog.with_layer(editable_copy(catalog, "parcels", LAYER))
    city = City(extended, extended.city("cambridge"), engine, "land_bureau")
    box = (-71.125, 42.38, -71.115, 42.39)
    matched = _matched(http)
    with pytest.raises(PreconditionFailed):
        city.bulk_update(LAYER, {"use_code": "104"}, filter=ONE_FAMILY, bbox=box, expected=1)
    changed = city.bulk_update(
        LAYER, {"use_code": "104"}, filter=ONE_FAMILY, bbox=box, expected=len(matched),
        reason="notebook",
    )  # fmt: skip
    assert changed == matched
    back = city.bulk_update(
        LAYER, {"use_code": "101"}, filter="use_code = '104'", bbox=box,
        expected=len(_matched(http, "use_code = '104'")), reason="put back",
    )  # fmt: skip
    assert set(matched) <= set(back)
