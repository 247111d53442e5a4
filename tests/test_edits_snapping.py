"""Snapping edited shapes to their neighbours (吸附) over real HTTP, on a copy of Cambridge's
parcels (``snap_parcels``, loaded by our loader with the parcels' 5 cm tolerance), whose
neighbours share their vertices exactly. A parcel's vertices moved 2 cm each way, as a hand's
click or the map's rounding would leave them, come back onto its neighbours' vertices to the
last bit; with ``snap=0`` they stay off, leaving slivers. PostGIS measures the stored rows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import editable_copy, polygon_feature, serve_with_layers

from digitalcity.catalog.model import LayerDef
from digitalcity.db.keys import create_key
from digitalcity.editing.service import EditRejected

PARCELS = "snap_parcels"
ITEMS = f"/collections/cambridge__{PARCELS}/items"
SHIFT_M = 0.02  # how far each vertex is moved: within the 5 cm tolerance


def _snapping_copy(catalog) -> LayerDef:  # noqa: ANN001
    copy = editable_copy(catalog, "parcels", PARCELS)
    assert copy.editing is not None
    return copy.model_copy(update={"editing": copy.editing.model_copy(update={"snap_m": 0.05})})


@pytest.fixture(scope="module")
def base(settings, catalog, engine, loaded) -> Iterator[str]:  # noqa: ANN001
    yield from serve_with_layers(settings, catalog, engine, [_snapping_copy(catalog)])


@pytest.fixture(scope="module")
def bureau(engine, loaded) -> str:  # noqa: ANN001
    return create_key(engine, "land_bureau", "snapping").key


@pytest.fixture(scope="module")
def http(base) -> Iterator[httpx.Client]:  # noqa: ANN001
    with httpx.Client(base_url=base, timeout=60) as client:
        yield client


def _parcels_with_neighbours(engine, n: int) -> list[int]:  # noqa: ANN001
    """``n`` one-part parcels without holes that share at least four vertices with others."""
    with engine.connect() as conn:
        return [
            int(fid)
            for (fid,) in conn.execute(
                sa.text(
                    f"SELECT p.fid FROM cambridge.{PARCELS} p WHERE ST_NumGeometries(p.geom) = 1 "  # noqa: S608
                    "AND ST_NumInteriorRings(ST_GeometryN(p.geom, 1)) = 0 "
                    "AND ST_NPoints(p.geom) BETWEEN 5 AND 40 AND (SELECT count(*) FROM "
                    f"(SELECT (ST_DumpPoints(p.geom)).geom AS v) d WHERE EXISTS (SELECT 1 FROM cambridge.{PARCELS} o "
                    "WHERE o.fid <> p.fid AND ST_Intersects(o.geom, d.v) "
                    "AND EXISTS (SELECT 1 FROM ST_DumpPoints(o.geom) w WHERE w.geom ~= d.v))) >= 4 "
                    "ORDER BY p.fid LIMIT :n"
                ),
                {"n": n},
            )
        ]


def _shared_vertices(engine, fid: int) -> int:  # noqa: ANN001
    """How many of the parcel's vertices are, to the last bit, a vertex of another parcel."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    f"SELECT count(*) FROM cambridge.{PARCELS} p, ST_DumpPoints(p.geom) d "  # noqa: S608
                    f"WHERE p.fid = :fid AND EXISTS (SELECT 1 FROM cambridge.{PARCELS} o, "
                    "ST_DumpPoints(o.geom) w WHERE o.fid <> p.fid AND o.geom && p.geom "
                    "AND ST_X(w.geom) = ST_X(d.geom) AND ST_Y(w.geom) = ST_Y(d.geom))"
                ),
                {"fid": fid},
            ).scalar_one()
        )


def _overlap_m2(engine, fid: int) -> float:  # noqa: ANN001
    """The area (m², Massachusetts State Plane) the parcel shares with its neighbours."""
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.text(
                    "SELECT coalesce(sum(ST_Area(ST_Transform(ST_Intersection(p.geom, o.geom), 26986))), 0) "  # noqa: S608
                    f"FROM cambridge.{PARCELS} p JOIN cambridge.{PARCELS} o "  # noqa: S608
                    "ON o.fid <> p.fid AND ST_Intersects(o.geom, p.geom) WHERE p.fid = :fid"
                ),
                {"fid": fid},
            ).scalar_one()
        )


def _shifted(geometry: dict[str, Any], metres: float) -> dict[str, Any]:
    """``geometry`` (lon/lat) with each vertex moved ``metres`` north-east (a ring's closing
    vertex with its first)."""

    def move(ring: list[list[float]]) -> list[list[float]]:
        lat = ring[0][1]
        dlat = metres / math.sqrt(2) / 111_320
        dlon = dlat / math.cos(math.radians(lat))
        return [[x + dlon, y + dlat] for x, y in ring]

    if geometry["type"] == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [[move(r) for r in poly] for poly in geometry["coordinates"]],
        }
    return {"type": "Polygon", "coordinates": [move(r) for r in geometry["coordinates"]]}


def _patch(
    http: httpx.Client, bureau: str, fid: int, geometry: dict[str, Any], **params: Any
) -> httpx.Response:
    etag = http.get(f"{ITEMS}/{fid}").headers["etag"]
    headers = {"X-API-Key": bureau, "If-Match": etag, "X-Change-Reason": "snapping test"}
    return http.patch(f"{ITEMS}/{fid}", json={"geometry": geometry}, params=params, headers=headers)



def _delete(http, bureau: str, fid: int) -> None:  # noqa: ANN001
    """Delete feature ``fid`` a test made (204 checked)."""
    etag = http.get(f"{ITEMS}/{fid}").headers["etag"]
    gone = http.delete(f"{ITEMS}/{fid}", headers={"X-API-Key": bureau, "If-Match": etag})
    assert gone.status_code == 204, gone.text

def test_a_redrawn_parcel_comes_back_onto_its_neighbours(http, bureau, engine) -> None:  # noqa: ANN001
    fid, other = _parcels_with_neighbours(engine, 2)
    shared = _shared_vertices(engine, fid)
    assert shared >= 4 and _overlap_m2(engine, fid) < 1e-6
    original = http.get(f"{ITEMS}/{fid}").json()["geometry"]
    moved = _shifted(original, SHIFT_M)
    # without snapping the moved vertices stay off: slivers over the neighbours
    loose = _patch(
        http,
        bureau,
        other,
        _shifted(http.get(f"{ITEMS}/{other}").json()["geometry"], SHIFT_M),
        snap=0,
    )
    assert loose.status_code == 200, loose.text
    assert loose.json()["snapped"] == []
    assert _shared_vertices(engine, other) == 0 and _overlap_m2(engine, other) > 0.01
    # a tolerance below the shift leaves the vertices off too (a neighbour's vertex within it
    # of one of the moved edges is still put into that edge): slivers remain
    tight = _patch(http, bureau, fid, moved, snap=0.01)
    assert tight.status_code == 200, tight.text
    assert _shared_vertices(engine, fid) < shared and _overlap_m2(engine, fid) > 0.01
    # the layer's 5 cm: every vertex shared before is shared again, exactly; nothing overlaps
    snapped = _patch(http, bureau, fid, moved)
    assert snapped.status_code == 200, snapped.text
    assert snapped.json()["snapped"] == [fid]
    assert _shared_vertices(engine, fid) >= shared
    assert _overlap_m2(engine, fid) < 1e-6
    # the first parcel, snapped back too (it snaps to the parcels around it, not to itself)
    back = _patch(http, bureau, other, _shifted(http.get(f"{ITEMS}/{other}").json()["geometry"], 0))
    assert back.status_code == 200 and back.json()["snapped"] == [other]
    assert _shared_vertices(engine, other) >= 4 and _overlap_m2(engine, other) < 1e-6


def test_a_new_parcel_drawn_against_a_neighbour_shares_its_corner(http, bureau, engine) -> None:  # noqa: ANN001
    (fid,) = _parcels_with_neighbours(engine, 1)
    with engine.connect() as conn:
        x, y = conn.execute(
            sa.text(
                f"SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) g "  # noqa: S608
                f"FROM cambridge.{PARCELS} WHERE fid = :fid) s"
            ),
            {"fid": fid},
        ).one()
    d = 0.00015  # about 15 m
    near = [x + 1e-7, y - 1e-7]  # about 1.3 cm from the corner
    ring = [near, [x + d, y - 1e-7], [x + d, y - d], [x, y - d], near]
    created = http.post(
        ITEMS,
        json=polygon_feature(ring),
        headers={"X-API-Key": bureau, "X-Change-Reason": "snapping test"},
    )
    assert created.status_code == 201, created.text
    new = created.json()["ids"][0]
    assert created.json()["snapped"] == [new]
    with engine.connect() as conn:
        corners = conn.execute(
            sa.text(
                f"SELECT count(*) FROM cambridge.{PARCELS} p, ST_DumpPoints(p.geom) v "  # noqa: S608
                "WHERE p.fid = :fid AND ST_X(v.geom) = :x AND ST_Y(v.geom) = :y"
            ),
            {"fid": new, "x": x, "y": y},
        ).scalar_one()
    assert corners >= 1  # the drawn corner is the neighbour's, to the last bit
    _delete(http, bureau, new)


@pytest.mark.parametrize("snap", ["-1", "1.5", "abc", "nan", "inf"])
def test_a_bad_tolerance_is_refused(http, bureau, engine, snap) -> None:  # noqa: ANN001
    (fid,) = _parcels_with_neighbours(engine, 1)
    before = http.get(f"{ITEMS}/{fid}")
    answer = _patch(http, bureau, fid, before.json()["geometry"], snap=snap)
    assert answer.status_code == 400, answer.text
    assert http.get(f"{ITEMS}/{fid}").headers["etag"] == before.headers["etag"]  # not written


def test_the_same_from_python(base, catalog, engine) -> None:  # noqa: ANN001
    from digitalcity.city import City

    layer = _snapping_copy(catalog)
    city = City(catalog.with_layer(layer), catalog.city("cambridge"), engine, "land_bureau")
    fid = _parcels_with_neighbours(engine, 3)[2]  # one the tests above left alone
    item = httpx.get(f"{base}{ITEMS}/{fid}").json()
    moved = {"geometry": _shifted(item["geometry"], SHIFT_M)}
    etag = httpx.get(f"{base}{ITEMS}/{fid}").headers["etag"].strip('"')
    with pytest.raises(EditRejected):
        city.update(PARCELS, fid, moved, etag=etag, reason="snapping test", snap_m=5)
    etag = city.update(PARCELS, fid, moved, etag=etag, reason="snapping test", snap_m=0)
    assert _shared_vertices(engine, fid) < 4
    city.update(PARCELS, fid, moved, etag=etag, reason="snapping test")  # the layer's 5 cm
    assert _shared_vertices(engine, fid) >= 4 and _overlap_m2(engine, fid) < 1e-6


def test_a_corner_at_the_middle_of_a_neighbours_side_is_put_on_it(http, bureau, engine) -> None:  # noqa: ANN001
    """A corner drawn 1.5 cm off the middle of a neighbour's side (no vertex there to snap to)
    is moved onto that side."""
    fid = _parcels_with_neighbours(engine, 4)[3]
    with engine.connect() as conn:
        x1, y1, x2, y2 = conn.execute(
            sa.text(
                "SELECT ST_X(a), ST_Y(a), ST_X(b), ST_Y(b) FROM (SELECT "  # noqa: S608
                "ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) a, "
                "ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 2) b "
                f"FROM cambridge.{PARCELS} WHERE fid = :fid) s"
            ),
            {"fid": fid},
        ).one()
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    off = [mx + 1e-7, my + 1e-7]  # about 1.5 cm from the side's middle
    d = 0.0001
    ring = [off, [mx + d, my + 1e-7], [mx + d, my + d], [mx, my + d], off]
    created = http.post(
        ITEMS,
        json=polygon_feature(ring),
        params={"snap": 0.05},
        headers={"X-API-Key": bureau, "X-Change-Reason": "snapping test"},
    )
    assert created.status_code == 201, created.text
    new = created.json()["ids"][0]
    assert created.json()["snapped"] == [new]
    with engine.connect() as conn:
        gap = conn.execute(
            sa.text(
                "SELECT min(ST_Distance(ST_Transform(v.geom, 26986), ST_Transform("  # noqa: S608
                "ST_MakeLine(ST_SetSRID(ST_MakePoint(:x1, :y1), 4326), "
                "ST_SetSRID(ST_MakePoint(:x2, :y2), 4326)), 26986))) "
                f"FROM cambridge.{PARCELS} p, ST_DumpPoints(p.geom) v WHERE p.fid = :new"
            ),
            {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "new": new},
        ).scalar_one()
    assert (
        gap < 1e-4
    )  # m (0.1 mm: lon/lat against State Plane lines): on the side, not 1.5 cm off it
    _delete(http, bureau, new)


def test_a_split_through_two_corners_goes_exactly_through_them(http, bureau, engine) -> None:  # noqa: ANN001
    """A split line drawn 1 cm beside a parcel's corners (as a click leaves it) is snapped to
    them: the two parts meet along the diagonal, each with both corners to the last bit."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT fid, ST_X(a) ax, ST_Y(a) ay, ST_X(c) cx, ST_Y(c) cy FROM (SELECT fid, "  # noqa: S608
                "ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) a, "
                "ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 3) c "
                f"FROM cambridge.{PARCELS} WHERE ST_NumGeometries(geom) = 1 "
                "AND ST_NPoints(geom) = 5 AND ST_Area(geom) / ST_Area(ST_ConvexHull(geom)) > 0.99 "
                "AND ST_Area(geom::geography) > 300 ORDER BY fid DESC LIMIT 1) s"
            )
        ).one()
    ax, ay, cx, cy = row.ax, row.ay, row.cx, row.cy
    ex, ey = cx - ax, cy - ay  # beyond each corner along the diagonal, and 1 cm beside it
    line = {
        "type": "LineString",
        "coordinates": [
            [ax - 0.2 * ex, ay - 0.2 * ey],
            [ax + 1e-7, ay - 1e-7],
            [cx + 1e-7, cy - 1e-7],
            [cx + 0.2 * ex, cy + 0.2 * ey],
        ],
    }
    etag = http.get(f"{ITEMS}/{row.fid}").headers["etag"]
    headers = {"X-API-Key": bureau, "If-Match": etag, "X-Change-Reason": "split at the corners"}
    split = http.post(f"{ITEMS}/{row.fid}/split", json={"line": line}, headers=headers)
    assert split.status_code == 200, split.text
    ids = [row.fid, *split.json()["created"]]
    assert len(ids) == 2
    with engine.connect() as conn:
        for fid in ids:
            corners = conn.execute(
                sa.text(
                    f"SELECT count(*) FROM cambridge.{PARCELS} p, ST_DumpPoints(p.geom) v "  # noqa: S608
                    "WHERE p.fid = :fid AND ((ST_X(v.geom) = :ax AND ST_Y(v.geom) = :ay) "
                    "OR (ST_X(v.geom) = :cx AND ST_Y(v.geom) = :cy))"
                ),
                {"fid": fid, "ax": ax, "ay": ay, "cx": cx, "cy": cy},
            ).scalar_one()
            assert corners >= 2, fid  # both corners (the ring's closing vertex may repeat one)
