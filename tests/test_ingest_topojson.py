"""The TopoJSON decoder: GDAL's geometries on the real parcels (plus the collapsed rings GDAL
drops), and every arc rule on small topologies written here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from digitalcity.errors import SourceError
from digitalcity.ingest.topojson import Topology, read_topology
from digitalcity.ingest.topojson_text import split_arcs
from tests.conftest import SHARED_DATA

PARCELS = SHARED_DATA / "cambridge_ma/ASSESSING_ParcelsFY2014.topojson"


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "t.topojson"
    path.write_text(json.dumps(document))
    return path


def _topology(tmp_path: Path, members: list[dict], arcs: list, **extra: object) -> list:
    document = {
        "type": "Topology",
        "objects": {"things": {"type": "GeometryCollection", "geometries": members}},
        "arcs": arcs,
        **extra,
    }
    topology = read_topology(_write(tmp_path, document))
    return list(topology.geometries(topology.members(None)))


def test_real_parcels_equal_gdal_except_the_collapsed_rings_gdal_drops() -> None:
    topology = read_topology(PARCELS)
    ours = topology.geometries(topology.members(None))
    gdal = pyogrio.read_dataframe(PARCELS).geometry.to_numpy()
    assert len(ours) == len(gdal) == 13_116
    same = shapely.equals_exact(shapely.normalize(ours), shapely.normalize(gdal), tolerance=0)
    differing = np.flatnonzero(~same)
    # row 1896 (one collapsed ring: GDAL empties the parcel) and 8635 (one collapsed part)
    assert differing.tolist() == [1895, 8634]
    assert shapely.is_empty(gdal[1895]) and shapely.get_num_coordinates(ours[1895]) == 4
    assert shapely.get_num_coordinates(ours[8634]) > shapely.get_num_coordinates(gdal[8634])
    assert topology.columns(topology.members(None))[:1] and len(topology.members(None)) == 13_116


def test_quantised_arcs_reversed_joined_holes_and_multipolygons(tmp_path: Path) -> None:
    arcs = [
        [[0, 0], [4, 0], [0, 4], [-4, 0], [0, -4]],  # 0: square 0..4 (closed)
        [[1, 1], [0, 1], [1, 0], [0, -1], [-1, 0]],  # 1: hole 1..2 (clockwise)
        [[10, 0], [2, 0], [0, 2]],  # 2: (10,0) → (12,0) → (12,2)
        [[12, 2], [-2, 0], [0, -2]],  # 3: (12,2) → (10,2) → (10,0)
    ]
    members = [
        {"type": "Polygon", "arcs": [[0], [1]], "properties": {"name": "with hole"}},
        {"type": "Polygon", "arcs": [[2, 3]], "id": 7},  # a ring of two arcs
        {"type": "Polygon", "arcs": [[~3, ~2]]},  # the same ring, both arcs reversed
        {"type": "MultiPolygon", "arcs": [[[0]], [[2, 3]], []]},  # empty part dropped
        {"type": "LineString", "arcs": [2, 3]},
        {"type": "Point", "coordinates": [3, 4]},
    ]
    geoms = _topology(
        tmp_path, members, arcs, transform={"scale": [0.5, 0.25], "translate": [100, 20]}
    )
    scale = shapely.affinity.affine_transform  # x * 0.5 + 100, y * 0.25 + 20

    def t(g: shapely.Geometry) -> shapely.Geometry:
        return scale(g, [0.5, 0, 0, 0.25, 100, 20])

    square = shapely.box(0, 0, 4, 4)
    hole = shapely.box(1, 1, 2, 2)
    assert geoms[0].equals(t(square.difference(hole)))
    assert geoms[1].equals(t(shapely.box(10, 0, 12, 2)))
    assert geoms[2].equals(geoms[1])
    assert geoms[2].exterior.coords[0] == geoms[1].exterior.coords[-1]  # starts at arc 3's end
    assert geoms[3].geom_type == "MultiPolygon" and len(geoms[3].geoms) == 2
    assert geoms[3].equals(t(shapely.union_all([square, shapely.box(10, 0, 12, 2)])))
    assert geoms[4].equals(t(shapely.LineString([(10, 0), (12, 0), (12, 2), (10, 2), (10, 0)])))
    assert geoms[5].equals(t(shapely.Point(3, 4)))


def test_unquantised_arcs_rings_closed_and_collapsed_rings_kept(tmp_path: Path) -> None:
    arcs = [
        [[0.5, 0.5, 9], [3.5, 0.5, 9], [3.5, 3.5, 9]],  # open ring (closed on decoding); z dropped
        [[5, 5], [6, 5]],  # collapsed: two points
        [],  # empty arc
    ]
    members = [
        {"type": "Polygon", "arcs": [[0]]},
        {"type": "Polygon", "arcs": [[1]]},
        {"type": "Polygon", "arcs": [[2]]},  # nothing to build
        {"type": "MultiPolygon", "arcs": [[[2]], [[0]]]},  # the empty part is dropped
    ]
    geoms = _topology(tmp_path, members, arcs)
    assert list(geoms[0].exterior.coords) == [(0.5, 0.5), (3.5, 0.5), (3.5, 3.5), (0.5, 0.5)]
    assert not geoms[0].has_z
    assert len(geoms[1].exterior.coords) == 4 and not geoms[1].is_valid  # kept for repair
    assert geoms[2] is None
    assert geoms[3].geom_type == "MultiPolygon" and geoms[3].equals(geoms[0])


def test_broken_indexes_lose_only_their_member(tmp_path: Path) -> None:
    arcs = [[[0, 0], [1, 0], [1, 1], [0, 0]]]
    members = [
        {"type": "Polygon", "arcs": [[5]]},  # out of range
        {"type": "Polygon", "arcs": [[-2]]},  # ~1: out of range
        {"type": "Polygon", "arcs": [["0"]]},  # not a whole number
        {"type": "Polygon", "arcs": 3},  # not a list of rings
        {"type": "MultiPolygon", "arcs": [[[0]], [[9]]]},  # one broken part: all of it
        {"type": "Polygon"},  # no arcs at all
        {"type": "Polygon", "arcs": [[[0]]]},  # nested as a multipolygon's
        {"type": "MultiPolygon", "arcs": [[[[0]]]]},  # nested deeper still
        {"type": "MultiPolygon", "arcs": [[0]]},  # not nested enough
        {"type": "Polygon", "arcs": [[0]]},
        {"type": "LineString", "arcs": [4]},
    ]
    geoms = _topology(tmp_path, members, arcs)
    assert geoms[:9] == [None] * 9
    assert geoms[9].equals(shapely.Polygon([(0, 0), (1, 0), (1, 1)]))
    assert geoms[10] is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "FeatureCollection", "features": []}, "not a TopoJSON Topology"),
        ({"type": "Topology", "objects": {}, "arcs": [[[0, 0]], 5]}, "broken TopoJSON arcs"),
        ({"type": "Topology", "objects": {}, "arcs": [[[0, 0], [1]]]}, "broken TopoJSON arcs"),
        ({"type": "Topology", "objects": {}, "arcs": {"a": 1}}, "arcs are not a list"),
    ],
)
def test_broken_topologies_are_source_errors(tmp_path: Path, document: dict, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        read_topology(_write(tmp_path, document))


def _document(arcs_first: bool, arcs: list) -> dict:
    objects = {
        "things": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "MultiPolygon", "arcs": [[[0, 1]], [[2]]]},
                {"type": "Polygon", "arcs": [[~1, ~0]], "properties": {"note": '"arcs": [[['}},
            ],
        }
    }
    parts = {"arcs": arcs, "objects": objects} if arcs_first else {"objects": objects, "arcs": arcs}
    return {"type": "Topology", "transform": {"scale": [1, 1], "translate": [0, 0]}, **parts}


QUANTISED = [
    [[0, 0], [5, 0], [0, 5]],
    [[5, 5], [-5, 0], [0, -5]],
    [[10, 10], [1, 0], [0, 1], [-1, -1]],
]


@pytest.mark.parametrize("arcs_first", [False, True])
@pytest.mark.parametrize("indent", [None, 2])
def test_arcs_read_from_the_text_equal_the_parsed_ones(
    tmp_path: Path, arcs_first: bool, indent: int | None
) -> None:
    data = json.dumps(_document(arcs_first, QUANTISED), indent=indent).encode()
    split = split_arcs(data)
    assert split is not None and json.loads(split[0])["arcs"] == []
    path = tmp_path / "t.topojson"
    path.write_bytes(data)
    fast = read_topology(path)
    parsed = Topology(json.loads(data), "t")
    for name in ("points", "starts", "ends"):
        assert np.array_equal(getattr(fast, name), getattr(parsed, name))
    geoms = fast.geometries(fast.members(None))
    assert geoms[0].area == 25 + 0.5 and geoms[1].area == 25  # a square and a triangle


@pytest.mark.parametrize(
    "arcs",
    [
        [[[0.5, 0], [1, 0]]],  # not whole numbers
        [[[0, 0, 1], [1, 0, 1]]],  # three numbers a position
        [[[0, 0], [1]]],  # one
        [[0, 0]],  # positions without arcs
    ],
)
def test_other_arcs_are_parsed_as_json(arcs: list) -> None:
    assert split_arcs(json.dumps(_document(False, arcs)).encode()) is None


def test_random_members_never_raise() -> None:
    """Members of every type with arcs and coordinates nested at random: None or a geometry,
    never an exception."""
    rng = random.Random(2)
    leaves = [0, 1, 2, -1, -3, 5, 1.5, True, None, "a", 2**70, [], {}]

    def nested(depth: int) -> object:
        if depth <= 0 or rng.random() < 0.3:
            return rng.choice(leaves)
        return [nested(depth - 1) for _ in range(rng.randint(0, 3))]

    arcs = [[[0, 0], [1, 0], [0, 1], [-1, -1]], [[5, 5], [1, 0]], [], [[2, 2], [0, 1], [1, 0]]]
    kinds = ["Polygon", "MultiPolygon", "LineString", "MultiLineString", "Point", "MultiPoint"]
    for transform in ({"scale": [1, 1], "translate": [0, 0]}, None):
        topology = Topology(
            {"type": "Topology", "objects": {}, "arcs": arcs, "transform": transform}, "t"
        )
        for _ in range(500):
            members = [
                {"type": rng.choice(kinds), "arcs": nested(4), "coordinates": nested(3)}
                for _ in range(rng.randint(1, 8))
            ]
            geoms = topology.geometries(members)
            assert all(g is None or isinstance(g, shapely.Geometry) for g in geoms)
