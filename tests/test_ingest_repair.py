"""Geometry repair: the buffer(0) shortcut for rings that touch or cross themselves gives
MakeValid's result, and every other fault still goes through MakeValid."""

from __future__ import annotations

import numpy as np
import shapely

from digitalcity.ingest.geometry import _SHORTCUT_MAX_COORDS, _buffer_fixed, _make_valid
from digitalcity.ingest.topojson import read_topology
from tests.conftest import SHARED_DATA

# a square whose ring touches itself at (2, 4), enclosing a triangle: an "inverted hole"
PINCHED = shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 4), (3, 2), (1, 2), (2, 4), (0, 4)])
BOWTIE = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.union_all([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


def test_self_touching_ring_takes_the_shortcut_with_makevalids_result() -> None:
    assert shapely.is_valid_reason(PINCHED).startswith("Ring Self-intersection")
    shortcut = _buffer_fixed(np.array([PINCHED], dtype=object))[0]
    assert shortcut is not None and shortcut.is_valid
    expected = _polygonal(shapely.make_valid(PINCHED))
    assert shortcut.area == expected.area == 16 - 2  # the triangle is a hole
    assert shortcut.symmetric_difference(expected).area < 1e-12


def test_other_faults_go_through_makevalid() -> None:
    assert _buffer_fixed(np.array([BOWTIE], dtype=object))[0] is None
    repaired = _make_valid(np.array([BOWTIE, PINCHED], dtype=object))
    assert _polygonal(repaired[0]).area == 2.0  # both lobes kept (buffer(0) would keep one)
    assert repaired[1].area == 14.0


def test_large_polygons_go_straight_to_makevalid() -> None:
    """Above the vertex cap the shortcut is not tried, even where it would be exact: on a
    large polygon buffer(0) can cost more than MakeValid (see ``_SHORTCUT_MAX_COORDS``)."""
    bottom = [(4 * i / _SHORTCUT_MAX_COORDS, 0) for i in range(_SHORTCUT_MAX_COORDS + 1)]
    dense = shapely.Polygon([*bottom, *PINCHED.exterior.coords[2:-1]])  # PINCHED, dense below
    assert shapely.get_num_coordinates(dense) > _SHORTCUT_MAX_COORDS
    assert shapely.is_valid_reason(dense).startswith("Ring Self-intersection")
    assert shapely.buffer(dense, 0).area == 14.0  # the shortcut would have been exact
    assert _buffer_fixed(np.array([dense], dtype=object))[0] is None
    repaired = _make_valid(np.array([dense], dtype=object))[0]
    assert repaired.is_valid and repaired.area == 14.0


def test_repair_keeps_polygon_parts_only_and_the_area() -> None:
    """The "structure" repair: a spike (zero-width ring part) is cut off, no line is added, and
    a hole reaching outside its shell is subtracted from it."""
    spike = shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 4), (2, 6), (2, 4), (0, 4)])
    hole_outside = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], [[(2, 2), (6, 2), (6, 3), (2, 3)]]
    )
    repaired = _make_valid(np.array([spike, hole_outside], dtype=object))
    assert [g.geom_type for g in repaired] == ["Polygon", "Polygon"]
    assert all(g.is_valid for g in repaired)
    assert repaired[0].area == 16.0
    assert repaired[1].area == 16.0 - 2.0


def test_shortcut_gives_makevalids_geometry_on_every_cambridge_parcel_it_takes() -> None:
    """On the real parcels: the buffer(0) shortcut takes rings that touch and rings that cross
    themselves alike, and wherever it applies its geometry is MakeValid's."""
    topology = read_topology(SHARED_DATA / "cambridge_ma/ASSESSING_ParcelsFY2014.topojson")
    geoms = topology.geometries(topology.members(None))
    invalid = geoms[~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)]
    shortcut = _buffer_fixed(invalid)
    taken = np.flatnonzero(~shapely.is_missing(shortcut))
    reasons = {str(shapely.is_valid_reason(g)).split("[")[0] for g in invalid[taken]}
    assert len(taken) >= 20 and reasons == {"Ring Self-intersection", "Self-intersection"}
    made_valid = shapely.make_valid(invalid[taken], method="structure", keep_collapsed=True)
    for fixed, expected in zip(shortcut[taken], made_valid, strict=True):
        assert shapely.symmetric_difference(fixed, _polygonal(expected)).area == 0
