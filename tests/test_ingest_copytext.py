"""The COPY encoding: EWKB spliced in bulk equals shapely's own, singles wrapped as multis."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely

from digitalcity.ingest.copytext import copy_text, ewkb_hex

GEOMS = np.array(
    [
        shapely.Point(1.5, -2),
        shapely.LineString([(0, 0), (1, 1), (2, 0)]),
        shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 0)], [[(1, 0.5), (3, 0.5), (3, 2), (1, 0.5)]]),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3), (0, 0, 1)]),  # with z
        shapely.MultiPoint([(1, 2), (3, 4)]),
        shapely.GeometryCollection([shapely.Point(0, 0)]),
    ],
    dtype=object,
)


def _expected(geoms: np.ndarray, srid: int, multi: bool) -> list[str]:
    out = []
    for g in geoms:
        if multi and g.geom_type in ("Point", "LineString", "Polygon"):
            g = {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString}.get(
                g.geom_type, shapely.MultiPolygon
            )([g])
        out.append(shapely.to_wkb(shapely.set_srid(g, srid), hex=True, include_srid=True))
    return [h.lower() for h in out]


@pytest.mark.parametrize("srid", [4326, 2249, 0])
@pytest.mark.parametrize("multi", [False, True])
def test_ewkb_equals_shapely(srid: int, multi: bool) -> None:
    encoded = ewkb_hex(GEOMS, srid, multi=multi).to_pylist()
    assert encoded == _expected(GEOMS, srid, multi)
    # and PostGIS's reading of it: the type of a wrapped single is the multi
    if multi:
        assert shapely.from_wkb(encoded[2]).geom_type == "MultiPolygon"
        assert shapely.from_wkb(encoded[4]).has_z


def test_ewkb_of_a_slice_and_of_nothing() -> None:
    assert ewkb_hex(GEOMS[2:4], 4326, multi=True).to_pylist() == _expected(GEOMS[2:4], 4326, True)
    assert ewkb_hex(np.array([], dtype=object), 4326, multi=True).to_pylist() == []


def test_copy_text_escapes_and_nulls() -> None:
    data = copy_text(
        [
            pa.array([1, None, 3]),
            pa.array(["a\tb", "back\\slash", None]),
            pa.array([1.5, 0.1, None]),
        ]
    )
    assert data.to_pybytes() == b"1\ta\\tb\t1.5\n\\N\tback\\\\slash\t0.1\n3\t\\N\t\\N\n"
