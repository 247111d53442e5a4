"""Splitting and merging features (地块分割与合并) over real HTTP, on copies of Cambridge's
parcels and street centre-lines loaded by our loader under their own ids (``reshape_parcels``,
``reshape_streets``), so the demo layers other tests count stay untouched. Shapes are checked
against PostGIS's own measures of the stored rows."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from conftest import editable_copy, serve_with_layers

from digitalcity.db.keys import create_key

PARCELS = "reshape_parcels"
STREETS = "reshape_streets"
P_ITEMS = f"/collections/cambridge__{PARCELS}/items"
S_ITEMS = f"/collections/cambridge__{STREETS}/items"


@pytest.fixture(scope="module")
def base(settings, catalog, engine, loaded) -> Iterator[str]:  # noqa: ANN001
    layers = [
        editable_copy(catalog, "parcels", PARCELS),
        editable_copy(catalog, "street_centerlines", STREETS),
    ]
    yield from serve_with_layers(settings, catalog, engine, layers)


@pytest.fixture(scope="module")
def keys(engine, loaded) -> dict[str, str]:  # noqa: ANN001
    return {
        r: create_key(engine, r, f"reshape-{r}").key for r in ("planner", "land_bureau", "admin")
    }


@pytest.fixture(scope="module")
def http(base) -> Iterator[httpx.Client]:  # noqa: ANN001
    with httpx.Client(base_url=base, timeout=60) as client:
        yield client


def _h(key: str, etag: str | None = None, reason: str = "test") -> dict[str, str]:
    headers = {"X-API-Key": key, "X-Change-Reason": quote(reason)}
    if etag:
        headers["If-Match"] = etag
    return headers


def _row(engine, layer: str, fid: int) -> dict[str, Any] | None:  # noqa: ANN001
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                f"SELECT *, ST_Area(ST_Transform(geom, 26986)) AS area_m2, "  # noqa: S608
                "ST_Length(ST_Transform(geom, 26986)) AS length_m, ST_AsBinary(geom) AS wkb, "
                "ST_Area(geom) AS area, ST_Length(geom) AS length "
                f"FROM cambridge.{layer} WHERE fid = :fid"
            ),
            {"fid": fid},
        ).first()
    return dict(row._mapping) if row else None


def _simple_parcel(engine, skip: int = 0) -> tuple[int, list[float]]:  # noqa: ANN001
    """A one-part, hole-free, roughly square parcel of 500–2,000 m² with a land area and a
    map-lot id, and its box in lon/lat."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                f"SELECT fid, ST_XMin(b) x1, ST_YMin(b) y1, ST_XMax(b) x2, ST_YMax(b) y2 FROM ("  # noqa: S608
                f"SELECT fid, Box2D(ST_Transform(geom, 4326)) b, geom FROM cambridge.{PARCELS} "
                "WHERE ST_NumGeometries(geom) = 1 AND ST_NumInteriorRings(ST_GeometryN(geom, 1)) = 0 "
                "AND land_area_sqft > 0 AND ml IS NOT NULL "
                "AND ST_Area(ST_Transform(geom, 26986)) BETWEEN 500 AND 2000 "
                "AND ST_Area(geom) / ST_Area(ST_OrientedEnvelope(geom)) > 0.97 "
                "ORDER BY fid LIMIT 1 OFFSET :skip) s"
            ),
            {"skip": skip},
        ).one()
    return int(row.fid), [row.x1, row.y1, row.x2, row.y2]


def _across(box: list[float]) -> dict[str, Any]:
    """A line across the box's middle from south to north, reaching beyond both sides."""
    x = (box[0] + box[2]) / 2
    pad = (box[3] - box[1]) * 0.5
    return {"type": "LineString", "coordinates": [[x, box[1] - pad], [x, box[3] + pad]]}


def _tile_ids(http: httpx.Client, box: list[float]) -> set[int]:
    """The feature ids of the copied parcels' z17 tile at the box's centre (from the EPSG:3857
    tile copy)."""
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    n = 2**17
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    response = http.get(f"/collections/cambridge__{PARCELS}/tiles/WebMercatorQuad/17/{x}/{y}")
    assert response.status_code == 200
    return {
        f["id"]
        for f in next(iter(mapbox_vector_tile.decode(response.content).values()))["features"]
    }


def test_split_a_parcel_then_revert(http, keys, engine) -> None:  # noqa: ANN001
    fid, box = _simple_parcel(engine)
    before = _row(engine, PARCELS, fid)
    assert before is not None
    etag = http.get(f"{P_ITEMS}/{fid}").headers["etag"]
    bureau = keys["land_bureau"]
    line = _across(box)
    # refused before anything is written
    assert (
        http.post(f"{P_ITEMS}/{fid}/split", json={"line": line}, headers=_h(bureau)).status_code
        == 428
    )
    stale = http.post(f"{P_ITEMS}/{fid}/split", json={"line": line}, headers=_h(bureau, '"0"'))
    assert stale.status_code == 412
    planner = http.post(
        f"{P_ITEMS}/{fid}/split", json={"line": line}, headers=_h(keys["planner"], etag)
    )
    assert planner.status_code == 403
    inside = {
        "type": "LineString",
        "coordinates": [line["coordinates"][0], [line["coordinates"][0][0], (box[1] + box[3]) / 2]],
    }
    short = http.post(
        f"{P_ITEMS}/{fid}/split?lang=zh",
        json={"line": inside},
        headers=_h(bureau, etag) | {"Accept-Language": "zh"},
    )
    assert short.status_code == 400 and "没有完整穿过" in str(short.json()["faults"])
    far = {"type": "LineString", "coordinates": [[-70.0, 41.0], [-70.0, 41.1]]}
    assert (
        http.post(
            f"{P_ITEMS}/{fid}/split", json={"line": far}, headers=_h(bureau, etag)
        ).status_code
        == 400
    )
    point = http.post(
        f"{P_ITEMS}/{fid}/split",
        json={"line": {"type": "Point", "coordinates": [0, 0]}},
        headers=_h(bureau, etag),
    )
    assert point.status_code == 400
    # the preview: the parts drawn and measured, nothing written, no ETag needed
    preview = http.post(f"{P_ITEMS}/{fid}/split/preview", json={"line": line}, headers=_h(bureau))
    assert preview.status_code == 200, preview.text
    parts = preview.json()["parts"]
    assert [p["keeps_id"] for p in parts] == [True, False]
    assert parts[0]["measure"] >= parts[1]["measure"] and all(
        p["geometry"]["type"] == "Polygon" for p in parts
    )
    assert http.post(f"{P_ITEMS}/{fid}/split/preview", json={"line": line}).status_code == 403
    assert (
        http.post(
            f"{P_ITEMS}/{fid}/split/preview", json={"line": inside}, headers=_h(bureau)
        ).status_code
        == 400
    )
    assert _row(engine, PARCELS, fid) == before  # nothing written by the refusals or the preview
    with engine.connect() as conn:  # an instant before the split, on the database's clock
        instant = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
    time.sleep(0.05)

    done = http.post(
        f"{P_ITEMS}/{fid}/split",
        json={"line": line, "reason": "分割测试"},
        headers={"X-API-Key": bureau, "If-Match": etag},
    )
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["id"] == fid and result["ids"][0] == fid and len(result["ids"]) == 2
    new = result["created"][0]
    assert new > fid and result["removed"] == []
    kept, part = _row(engine, PARCELS, fid), _row(engine, PARCELS, new)
    assert kept is not None and part is not None
    # the two parts make the whole: areas add up and together they cover exactly the original
    # (in the storage CRS's plane, lon/lat here: projected to metres, a cut edge's new vertex
    # lies off the projected chord by a few millimetres)
    assert kept["area"] + part["area"] == pytest.approx(before["area"], rel=1e-9)
    assert kept["area_m2"] + part["area_m2"] == pytest.approx(before["area_m2"], rel=1e-5)
    assert kept["area_m2"] >= part["area_m2"]  # the largest part keeps the id
    with engine.connect() as conn:
        leftover = conn.execute(
            sa.text(
                "SELECT ST_Area(ST_SymDifference(ST_GeomFromWKB(:old), "
                "ST_Union(ST_GeomFromWKB(:a), ST_GeomFromWKB(:b))))"
            ),
            {"old": before["wkb"], "a": kept["wkb"], "b": part["wkb"]},
        ).scalar_one()
    assert leftover < 1e-14  # square degrees: nothing gained or lost
    # fields by their split policies: land area shared by area, ids kept by the kept part only,
    # everything else (use, address, the standard classes) on both
    share = {str(fid): kept["area"] / before["area"], str(new): part["area"] / before["area"]}
    assert result["shares"] == pytest.approx(share, rel=1e-6)
    with engine.connect() as conn:  # each part's size on the ellipsoid, as the card says it
        whole = conn.execute(
            sa.text("SELECT ST_Area(ST_GeomFromWKB(:g, 4326)::geography)"), {"g": before["wkb"]}
        ).scalar_one()
    assert set(result["measures"]) == {str(fid), str(new)}
    assert [result["shares"][str(i)] for i in (fid, new)] == pytest.approx(
        [p["share"] for p in parts]
    )
    assert [result["measures"][str(i)] for i in (fid, new)] == pytest.approx(
        [p["measure"] for p in parts], abs=0.01
    )
    assert sum(result["measures"].values()) == pytest.approx(whole, abs=0.05)
    assert kept["land_area_sqft"] == pytest.approx(
        before["land_area_sqft"] * share[str(fid)], rel=1e-6
    )
    assert part["land_area_sqft"] == pytest.approx(
        before["land_area_sqft"] * share[str(new)], rel=1e-6
    )
    assert kept["ml"] == before["ml"] and part["ml"] is None and part["lot_no"] is None
    for name in ("address", "use_code", "landuse_l1", "landuse_l2", "map_no", "year_built"):
        assert kept[name] == part[name] == before[name]
    # the history tells where each came from
    for each in (fid, new):
        history = http.get(f"{P_ITEMS}/{each}/history", headers={"X-API-Key": bureau}).json()
        [entry] = history["lineage"]
        assert entry["kind"] == "split" and entry["parents"] == [fid]
        assert entry["children"] == [fid, new] and entry["changeset"] == result["changeset"]
        assert not entry["reverted"]
        assert history["versions"][-1]["created_by"]["reason"] == "分割测试"
    # the map's items and the tile copy hold both parts
    listed = http.get(P_ITEMS, params={"bbox": ",".join(map(str, box)), "limit": 100}).json()
    assert {fid, new} <= {f["id"] for f in listed["features"]}
    assert {fid, new} <= _tile_ids(http, box)
    # the map as of before the split: the parcel whole, no new part
    past = http.get(
        P_ITEMS,
        params={"bbox": ",".join(map(str, box)), "limit": 100, "as-of": instant.isoformat()},
    ).json()
    ids_then = {f["id"] for f in past["features"]}
    assert fid in ids_then and new not in ids_then
    # the city's recent changes call it a split, in both languages and in the Atom feed
    feed = http.get("/cities/cambridge/changes", params={"layers": PARCELS, "lang": "en"})
    [entry] = [e for e in feed.json()["changesets"] if e["id"] == result["changeset"]]
    assert entry["reshape"] == "split" and (entry["added"], entry["modified"]) == (1, 1)
    atom = http.get("/cities/cambridge/changes.atom", params={"layers": PARCELS, "lang": "zh"})
    assert "要素分割" in atom.text
    # an admin undoes it whole: the original back, the new part gone
    undo = http.post(
        f"/collections/cambridge__{PARCELS}/changesets/{result['changeset']}/revert",
        headers=_h(keys["admin"]),
    )
    assert undo.status_code == 200, undo.text
    back = _row(engine, PARCELS, fid)
    assert back is not None and _row(engine, PARCELS, new) is None
    assert back["wkb"] == before["wkb"] and back["land_area_sqft"] == before["land_area_sqft"]
    assert http.get(f"{P_ITEMS}/{fid}/history").json()["lineage"][0]["reverted"] is True
    assert fid in _tile_ids(http, box) and new not in _tile_ids(http, box)


def test_merge_neighbours(http, keys, engine) -> None:  # noqa: ANN001
    fid, _ = _simple_parcel(engine, skip=1)  # not the one the split test splits
    bureau = keys["land_bureau"]
    found = http.get(f"{P_ITEMS}/{fid}/neighbours")
    assert found.status_code == 200 and found.headers["content-type"] == "application/geo+json"
    near = found.json()["features"]
    assert near and all(f["id"] != fid for f in near)
    with engine.connect() as conn:  # every one shares a stretch of boundary with the parcel
        shared = conn.execute(
            sa.text(
                f"SELECT n.fid, ST_Length(ST_Intersection(ST_Boundary(f.geom), ST_Boundary(n.geom))) > 0 "  # noqa: S608
                f"OR ST_Area(ST_Intersection(f.geom, n.geom)) > 0 FROM cambridge.{PARCELS} f "
                f"JOIN cambridge.{PARCELS} n ON n.fid = ANY(:ids) WHERE f.fid = :fid"
            ),
            {"fid": fid, "ids": [f["id"] for f in near]},
        ).all()
    assert len(shared) == len(near) and all(ok for _, ok in shared)
    other = near[0]
    a, b = _row(engine, PARCELS, fid), _row(engine, PARCELS, other["id"])
    assert a is not None and b is not None
    etag_a = http.get(f"{P_ITEMS}/{fid}").headers["etag"]
    assert other["properties"]["etag"] == http.get(f"{P_ITEMS}/{other['id']}").headers[
        "etag"
    ].strip('"')
    both = f'{etag_a}, "{other["properties"]["etag"]}"'
    body = {"ids": [fid, other["id"]], "reason": "合并测试"}
    # refused: no ETags, one stale, an id to keep that is not merged, a parcel far away
    assert (
        http.post(
            f"/collections/cambridge__{PARCELS}/merge", json=body, headers={"X-API-Key": bureau}
        ).status_code
        == 428
    )
    assert (
        http.post(
            f"/collections/cambridge__{PARCELS}/merge",
            json=body,
            headers={"X-API-Key": bureau, "If-Match": etag_a},
        ).status_code
        == 412
    )
    wrong = http.post(
        f"/collections/cambridge__{PARCELS}/merge",
        json=body | {"keep": 1},
        headers={"X-API-Key": bureau, "If-Match": both},
    )
    assert wrong.status_code == 400
    with engine.connect() as conn:
        far = conn.execute(
            sa.text(
                f"SELECT fid FROM cambridge.{PARCELS} ORDER BY ST_Distance(geom, "  # noqa: S608
                f"(SELECT geom FROM cambridge.{PARCELS} WHERE fid = :fid)) DESC LIMIT 1"
            ),
            {"fid": fid},
        ).scalar_one()
    far_etag = http.get(f"{P_ITEMS}/{far}").headers["etag"]
    apart = http.post(
        f"/collections/cambridge__{PARCELS}/merge",
        json={"ids": [fid, far]},
        headers={"X-API-Key": bureau, "If-Match": f"{etag_a}, {far_etag}", "Accept-Language": "zh"},
    )
    assert apart.status_code == 400 and "相邻" in str(apart.json()["faults"])
    assert _row(engine, PARCELS, fid) == a

    done = http.post(
        f"/collections/cambridge__{PARCELS}/merge",
        json=body,
        headers={"X-API-Key": bureau, "If-Match": both},
    )
    assert done.status_code == 200, done.text
    result = done.json()
    keep = fid if a["area_m2"] >= b["area_m2"] else other["id"]
    gone = other["id"] if keep == fid else fid
    assert result["id"] == keep and result["removed"] == [gone]
    merged = _row(engine, PARCELS, keep)
    assert merged is not None and _row(engine, PARCELS, gone) is None
    with engine.connect() as conn:
        overlap = conn.execute(
            sa.text(
                "SELECT ST_Area(ST_Transform(ST_Intersection(ST_GeomFromWKB(:a, 4326), ST_GeomFromWKB(:b, 4326)), 26986))"
            ),
            {"a": a["wkb"], "b": b["wkb"]},
        ).scalar_one()
    assert merged["area_m2"] == pytest.approx(a["area_m2"] + b["area_m2"] - overlap, rel=1e-9)
    kept_row = a if keep == fid else b
    assert merged["land_area_sqft"] == pytest.approx(
        (a["land_area_sqft"] or 0) + (b["land_area_sqft"] or 0)
    )
    assert merged["ml"] == kept_row["ml"] and merged["address"] == kept_row["address"]
    assert http.get(f"{P_ITEMS}/{gone}").status_code == 404
    history = http.get(f"{P_ITEMS}/{gone}/history", headers={"X-API-Key": bureau}).json()
    assert history["versions"][-1]["ended_as"] == "delete"
    [entry] = history["lineage"]
    assert (
        entry["kind"] == "merge"
        and entry["parents"] == sorted([fid, gone])
        and entry["children"] == [keep]
    )


def test_split_and_merge_a_street(http, keys, engine) -> None:  # noqa: ANN001
    """A street centre-line cut where another line crosses it, then joined again."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT fid, ST_X(m) x, ST_Y(m) y FROM (SELECT fid, ST_Transform(ST_LineInterpolatePoint("  # noqa: S608
                f"ST_GeometryN(geom, 1), 0.5), 4326) m FROM cambridge.{STREETS} WHERE ST_NumGeometries(geom) = 1 "
                "AND ST_Length(ST_Transform(geom, 26986)) BETWEEN 150 AND 400 ORDER BY fid LIMIT 1) s"
            )
        ).one()
    fid = int(row.fid)
    before = _row(engine, STREETS, fid)
    assert before is not None
    d = 0.0002  # about 20 m
    line = {"type": "LineString", "coordinates": [[row.x - d, row.y - d], [row.x + d, row.y + d]]}
    bureau = keys["land_bureau"]
    etag = http.get(f"{S_ITEMS}/{fid}").headers["etag"]
    done = http.post(f"{S_ITEMS}/{fid}/split", json=line, headers=_h(bureau, etag))
    assert done.status_code == 200, done.text
    ids = done.json()["ids"]
    assert len(ids) == 2
    parts = [_row(engine, STREETS, i) for i in ids]
    assert sum(p["length"] for p in parts if p) == pytest.approx(before["length"], rel=1e-9)
    assert [f["id"] for f in http.get(f"{S_ITEMS}/{ids[0]}/neighbours").json()["features"]].count(
        ids[1]
    ) == 1
    tags = ", ".join(http.get(f"{S_ITEMS}/{i}").headers["etag"] for i in ids)
    joined = http.post(
        f"/collections/cambridge__{STREETS}/merge",
        json={"ids": ids, "keep": fid},
        headers=_h(bureau, tags),
    )
    assert joined.status_code == 200, joined.text
    again = _row(engine, STREETS, fid)
    assert again is not None and again["length"] == pytest.approx(before["length"], rel=1e-9)
    with engine.connect() as conn:
        assert conn.execute(
            sa.text(
                "SELECT ST_NumGeometries(ST_GeomFromWKB(:g)) = 1 AND ST_HausdorffDistance("
                "ST_GeomFromWKB(:g), ST_GeomFromWKB(:h)) < 1e-9"  # degrees: the cut's vertex stays
            ),
            {"g": again["wkb"], "h": before["wkb"]},
        ).scalar_one()


def test_points_and_access(http, keys) -> None:  # noqa: ANN001
    bureau = keys["land_bureau"]
    hydrant = "/collections/cambridge__hydrants/items/1"
    split = http.post(
        f"{hydrant}/split",
        json={"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        headers=_h(bureau, "*"),
    )
    assert split.status_code == 400 and "points" in str(split.json()["faults"])
    assert http.get(f"{hydrant}/neighbours").status_code == 400
    # a layer the caller cannot see is not found, whatever the route
    hidden = "/collections/cambridge__utility_poles"
    assert http.get(f"{hidden}/items/1/neighbours").status_code == 404
    assert http.post(f"{hidden}/merge", json={"ids": [1, 2]}).status_code == 404
    assert http.post(f"{hidden}/items/1/split", json={}).status_code == 404
    # a visible layer: anonymous callers may not edit it; a missing feature is not found
    assert http.post(f"{P_ITEMS}/1/split", json={}).status_code == 403
    assert http.get(f"{P_ITEMS}/999999999/neighbours").status_code == 404
    assert http.post(
        f"/collections/cambridge__{PARCELS}/merge", json={"ids": "x"}, headers=_h(bureau, "*")
    ).status_code in (400, 422)


def test_the_same_from_python(base, catalog, engine) -> None:  # noqa: ANN001
    """``City.split``, ``merge`` and ``lineage``: the API's rules and results."""
    from digitalcity.city import City
    from digitalcity.editing import EditRejected, Forbidden

    extended = catalog.with_layer(editable_copy(catalog, "parcels", PARCELS))
    city = City(extended, extended.city("cambridge"), engine, "land_bureau")
    fid, box = _simple_parcel(engine, skip=2)
    line = _across(box)
    with pytest.raises(EditRejected):
        city.split(PARCELS, fid, {"type": "Point", "coordinates": [0, 0]}, etag="*")
    ids = city.split(PARCELS, fid, line, etag=city.etag(PARCELS, fid) or "", reason="notebook")
    assert ids[0] == fid and len(ids) == 2
    merged = city.merge(PARCELS, ids, etags=[city.etag(PARCELS, i) or "" for i in ids], keep=fid)
    assert merged == fid and _row(engine, PARCELS, ids[1]) is None
    kinds = [(e["kind"], e["parents"], e["children"]) for e in city.lineage(PARCELS, fid)]
    assert kinds == [("split", [fid], ids), ("merge", ids, [fid])]
    # a grandchild's lineage goes back through every generation
    again = city.split(PARCELS, fid, line, etag=city.etag(PARCELS, fid) or "")
    child = again[1]
    east = {
        "type": "LineString",
        "coordinates": [
            [box[0] - 1e-4, (box[1] + box[3]) / 2],
            [box[2] + 1e-4, (box[1] + box[3]) / 2],
        ],
    }
    last = city.split(PARCELS, child, east, etag=city.etag(PARCELS, child) or "")
    grandchild = last[1]
    chain = [(e["kind"], e["parents"]) for e in city.lineage(PARCELS, grandchild)]
    assert chain == [("split", [fid]), ("merge", ids), ("split", [fid]), ("split", [child])]
    # the part merged away: the parcel it went into is its descendant, and what became of it
    assert [e["changeset"] for e in city.lineage(PARCELS, ids[1])] == [
        e["changeset"] for e in city.lineage(PARCELS, grandchild)
    ]
    # and every other member of the family reads the same four change sets
    assert len(city.lineage(PARCELS, last[0])) == 4 and len(city.lineage(PARCELS, again[0])) == 4
    viewer = City(extended, extended.city("cambridge"), engine, "planner")
    with pytest.raises(Forbidden):
        viewer.split(PARCELS, fid, line, etag="*")


def test_parts_of_a_cut() -> None:
    """``split_parts`` on shapes the parcels above do not have: a hole, several parts, several
    crossings, a line that stops inside; ``next_to_each_other`` on corners and chains."""
    from shapely import LineString, MultiPolygon, Polygon, box

    from digitalcity.editing.reshape import next_to_each_other, split_parts

    holed = Polygon(box(0, 0, 10, 10).exterior.coords, [box(4, 4, 6, 6).exterior.coords])
    parts = split_parts(holed, LineString([(5, -1), (5, 11)]), polygonal=True)
    assert [p.area for p in parts] == [48.0, 48.0]  # the hole halved with the square
    two = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    parts = split_parts(two, LineString([(-1, 3), (11, 3)]), polygonal=True)
    assert [round(p.area) for p in parts] == [170, 30]  # the missed square stays with the largest
    zigzag = LineString([(2, -1), (2, 11), (4, 11), (4, -1)])
    assert len(split_parts(box(0, 0, 10, 10), zigzag, polygonal=True)) == 3
    inside = LineString([(5, -1), (5, 5)])
    assert split_parts(box(0, 0, 10, 10), inside, polygonal=True) == [box(0, 0, 10, 10)]
    street = LineString([(0, 0), (10, 0)])
    parts = split_parts(street, LineString([(3, -1), (3, 1)]), polygonal=False)
    assert [p.length for p in parts] == [7.0, 3.0]
    a, b, c = box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)
    assert next_to_each_other([a, b, c], polygonal=True)  # a chain: a-b, b-c
    assert not next_to_each_other([a, box(1, 1, 2, 2)], polygonal=True)  # a corner only
    assert not next_to_each_other([a, c], polygonal=True)
    assert next_to_each_other([a, box(0.5, 0.5, 1.5, 1.5)], polygonal=True)  # overlapping


def test_hostile_requests_get_4xx(http, keys, engine) -> None:  # noqa: ANN001
    """Junk lines, ids and bodies from a key that may edit: a clear 4xx each, nothing
    written, the server still answering."""
    bureau = keys["land_bureau"]
    fid, box = _simple_parcel(engine, skip=3)
    before = _row(engine, PARCELS, fid)
    etag = http.get(f"{P_ITEMS}/{fid}").headers["etag"]
    x, y = box[0], box[1]
    lines: list[Any] = [
        None, 1, "LINESTRING(0 0, 1 1)", [], {}, {"line": None}, {"type": "LineString"},
        {"type": "LineString", "coordinates": []},
        {"type": "LineString", "coordinates": [[x, y]]},
        {"type": "LineString", "coordinates": [[x, y], ["a", "b"]]},
        {"type": "LineString", "coordinates": [[x, y], [1e308, -1e308]]},
        {"type": "LineString", "coordinates": [[x, y, 1, 2, 3], [x + 1e-3, y + 1e-3]]},
        {"type": "LineString", "coordinates": [[[x, y]], [[x, y]]]},
        {"type": "MultiLineString", "coordinates": [[[x, y]]]},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x, y]]]}},
        {"line": {"type": "GeometryCollection", "geometries": []}},
    ]  # fmt: skip
    for line in lines:
        body = line if isinstance(line, dict) and "line" in line else {"line": line}
        answer = http.post(f"{P_ITEMS}/{fid}/split", json=body, headers=_h(bureau, etag))
        assert 400 <= answer.status_code < 500, (line, answer.status_code, answer.text)
    merges: list[Any] = [
        {}, {"ids": None}, {"ids": "1,2"}, {"ids": [fid]}, {"ids": [fid, fid]},
        {"ids": [fid, 2**70]}, {"ids": [fid, -1]}, {"ids": [fid, 0]}, {"ids": list(range(1, 200))},
        {"ids": [fid, fid + 1], "keep": 2**70}, {"ids": [fid, 999_999_999]},
        {"ids": [fid, 1.5]}, {"ids": [[fid]]},
    ]  # fmt: skip
    for body in merges:
        answer = http.post(
            f"/collections/cambridge__{PARCELS}/merge", json=body, headers=_h(bureau, "*")
        )
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
    for path in ("0", "-1", "99999999999999999999", "abc", f"{fid}.5"):
        assert http.get(f"{P_ITEMS}/{path}/neighbours").status_code == 404
        split = http.post(f"{P_ITEMS}/{path}/split", json={}, headers=_h(bureau, "*"))
        assert split.status_code in (400, 404), (path, split.status_code)
    for expected in ("-1", "x", "1e3", "99999999999999999999", ""):
        answer = http.patch(
            P_ITEMS, params={"expected": expected, "bbox": ",".join(map(str, box))},
            json={"properties": {"address": "X"}}, headers=_h(bureau),
        )  # fmt: skip
        assert 400 <= answer.status_code < 500, (expected, answer.status_code, answer.text)
    for body in (
        None,
        [],
        "x",
        {"properties": None},
        {"properties": []},
        {"properties": {"address": 1}},
    ):
        answer = http.patch(
            P_ITEMS, params={"expected": 1, "filter": "fid = 1"}, json=body, headers=_h(bureau)
        )
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)
    assert _row(engine, PARCELS, fid) == before
    assert http.get(f"{P_ITEMS}/{fid}").status_code == 200
