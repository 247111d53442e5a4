"""Data quality checks (数据质检): the faults of real Cambridge layers against shapely on the
same geometries, and faults planted by SQL in a copy of the zoning districts (as data written
by another tool would arrive) found with their exact measures; the API's answers, refusals
and access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
import test_analysis_sources as src
from fastapi.testclient import TestClient

from digitalcity.analysis import InvalidParameter, data_quality
from digitalcity.catalog.model import LayerDef
from digitalcity.ingest.loader import load_layer

COPY = "quality_zones"


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):  # noqa: ANN001, ANN201
    return src.city(catalog, engine)


def _local(city: Any, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The layer's geometries as loaded (fid order), in Cambridge's local CRS."""
    frame = city.read(layer).to_crs(src.LOCAL)
    return frame.index.to_numpy(), np.asarray(frame.geometry.values)


def _overlaps(fids: np.ndarray, geoms: np.ndarray, min_area: float) -> dict:
    """Pairs of polygons overlapping by at least ``min_area`` m², with shapely: each pair's
    intersection, the larger polygon first cut to the smaller one's box (a parcel of 18,603
    vertices met by a thousand others)."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    small = np.where(
        shapely.get_num_coordinates(geoms[left]) <= shapely.get_num_coordinates(geoms[right]),
        left,
        right,
    )
    big = np.where(small == left, right, left)
    box = shapely.bounds(geoms[small])
    cut = shapely.intersection(geoms[big], shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3]))
    areas = shapely.area(shapely.intersection(geoms[small], cut))
    return {
        tuple(sorted((int(fids[a]), int(fids[b])))): float(area)
        for a, b, area in zip(left, right, areas, strict=True)
        if area >= min_area
    }


def _found(result: Any, check: str) -> dict:
    rows = result.frame[result.frame["check"] == check]
    return {
        (int(a), None if b is None or b != b else int(b)): m
        for a, b, m in zip(rows["fid"], rows["other_fid"], rows["measure"], strict=True)
    }


@pytest.fixture(scope="module")
def parcels_checked(cambridge) -> Any:  # noqa: ANN001
    return data_quality(cambridge, "parcels")


def test_parcel_overlaps_and_gaps_match_shapely(cambridge, parcels_checked) -> None:  # noqa: ANN001
    result = parcels_checked
    fids, geoms = _local(cambridge, "parcels")
    theirs = _overlaps(fids, geoms, 0.1)
    ours = _found(result, "overlap")
    assert set(ours) == set(theirs) and len(ours) > 30  # Cambridge's parcels overlap in places
    for pair, area in theirs.items():
        assert ours[pair] == pytest.approx(area, abs=1e-4)
    union = shapely.union_all(geoms)
    holes = sorted(
        hole.area
        for part in getattr(union, "geoms", [union])
        for hole in (shapely.Polygon(ring) for ring in part.interiors)
        if 0.1 <= hole.area <= 100
    )
    gaps = result.frame[result.frame["check"] == "gap"]
    assert sorted(gaps["measure"]) == pytest.approx(holes, abs=1e-4) and len(holes) > 10
    assert (gaps["unit"] == "m²").all() and gaps["fid"].notna().all()
    summary = result.summary
    assert summary["features"] == 13116 and summary["faults"] == len(result.frame)
    assert summary["by_check"]["overlap"] == len(theirs)
    assert summary["overlap_m2"] == pytest.approx(sum(theirs.values()), abs=1e-3)
    assert summary["gap_m2"] == pytest.approx(sum(holes), abs=1e-3)
    # every code is mapped by the crosswalk, as `digitalcity check-layers` finds
    assert summary["by_check"]["unknown_code"] == 0
    # each overlap's shape is where the two parcels overlap, in lon/lat
    largest = result.frame[result.frame["check"] == "overlap"].iloc[0]
    assert largest["measure"] == max(theirs.values())
    shape = gpd.GeoSeries([largest.geometry], crs=4326).to_crs(src.LOCAL).iloc[0]
    assert shape.area == pytest.approx(largest["measure"], rel=1e-3)
    assert result.frame.crs.to_epsg() == 4326
    # a bigger threshold keeps fewer
    big = _found(data_quality(cambridge, "parcels", checks=["overlap"], min_area_m2=10), "overlap")
    assert set(big) == {k for k, v in theirs.items() if v >= 10} and 0 < len(big) < len(theirs)


def test_a_check_in_an_area_finds_what_the_whole_check_finds_there(
    cambridge,  # noqa: ANN001
    parcels_checked,  # noqa: ANN001
) -> None:
    area = shapely.box(-71.125, 42.365, -71.10, 42.38)  # Harvard Square to Central Square
    part = data_quality(cambridge, "parcels", polygon=area.__geo_interface__)
    whole = parcels_checked.frame
    there = whole[whole.intersects(area)]

    def faults(frame: Any) -> list:
        return sorted(
            zip(frame["check"], frame["fid"], frame["other_fid"].astype(str), strict=True)
        )

    assert faults(part.frame) == faults(there) and len(there) > 3
    assert list(part.frame["measure"].sort_values()) == pytest.approx(
        list(there["measure"].sort_values())
    )
    fids, geoms = _local(cambridge, "parcels")
    local = gpd.GeoSeries([area], crs=4326).to_crs(src.LOCAL).iloc[0]
    assert part.summary["features"] == int(shapely.intersects(geoms, local).sum()) < 13116
    assert part.provenance["parameters"]["polygon"]["area_m2"] == pytest.approx(local.area)


def test_a_limit_lists_the_largest_and_counts_them_all(cambridge, parcels_checked) -> None:  # noqa: ANN001
    whole = parcels_checked
    top = data_quality(cambridge, "parcels", checks=["overlap", "gap"], limit=5)
    for check in ("overlap", "gap"):
        listed = top.frame[top.frame["check"] == check]
        everything = whole.frame[whole.frame["check"] == check]
        assert list(listed["measure"]) == list(everything["measure"].nlargest(5))
        assert top.summary["by_check"][check] == len(everything) > 5  # all counted
        assert top.summary[f"{check}_m2"] == pytest.approx(whole.summary[f"{check}_m2"])
    assert top.summary["listed"] == 10 and top.summary["limit"] == 5
    assert whole.summary["listed"] == whole.summary["faults"] and whole.summary["limit"] is None


def test_hydrants_nearer_than_the_tolerance_are_duplicates(cambridge) -> None:  # noqa: ANN001
    fids, geoms = _local(cambridge, "hydrants")
    for tolerance in (1.0, 5.0):
        left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=tolerance)
        theirs = {
            tuple(sorted((int(fids[a]), int(fids[b])))): shapely.distance(geoms[a], geoms[b])
            for a, b in zip(left, right, strict=True)
            if a < b
        }
        result = data_quality(cambridge, "hydrants", tolerance_m=tolerance)
        ours = _found(result, "duplicate")
        assert set(ours) == set(theirs) and ours  # two hydrants drawn at one spot
        for pair, distance in theirs.items():
            assert ours[pair] == pytest.approx(distance, abs=1e-6)
        assert result.summary["checks"] == ["empty", "invalid", "duplicate", "unknown_code"]
    assert len(_found(data_quality(cambridge, "hydrants", tolerance_m=5.0), "duplicate")) > len(
        _found(data_quality(cambridge, "hydrants"), "duplicate")
    )


def test_street_undershoots_match_shapely(cambridge) -> None:  # noqa: ANN001
    fids, geoms = _local(cambridge, "street_centerlines")
    tolerance = 5.0
    tree = shapely.STRtree(geoms)
    theirs = {}
    for i, geom in enumerate(geoms):
        for part in getattr(geom, "geoms", [geom]):
            for end in (shapely.Point(part.coords[0]), shapely.Point(part.coords[-1])):
                near = [
                    j for j in tree.query(end, predicate="dwithin", distance=tolerance) if j != i
                ]
                gaps = {int(fids[j]): shapely.distance(end, geoms[j]) for j in near}
                if gaps and min(gaps.values()) > 0.01:
                    other = min(gaps, key=gaps.get)
                    theirs[(int(fids[i]), other)] = gaps[other]
    result = data_quality(cambridge, "street_centerlines", tolerance_m=tolerance)
    ours = _found(result, "undershoot")
    assert set(ours) == set(theirs) and ours
    for pair, gap in theirs.items():
        assert ours[pair] == pytest.approx(gap, abs=1e-6)
    lines = result.frame[result.frame["check"] == "undershoot"].geometry
    assert (lines.geom_type == "LineString").all()  # across each gap


@pytest.fixture(scope="module")
def planted(settings, catalog, engine, loaded) -> dict[str, Any]:  # noqa: ANN001
    """A copy of the zoning districts loaded by our loader, then faults written into it by SQL:
    a self-crossing ring, a district drawn twice, one widened over its neighbours by 5 m, one
    removed from among the others (a hole), one with an empty geometry, and a code the zoning code
    table lacks."""
    base = catalog.layer("cambridge", "zoning_districts")
    data = base.model_dump(mode="python", exclude_none=True)
    data.update(id=COPY)
    data.pop("default_on", None)
    data.pop("theme", None)
    layer = LayerDef.model_validate(data)
    load_layer(layer, catalog.city("cambridge"), engine, settings, force=True)
    table = f"cambridge.{COPY}"
    with engine.begin() as conn:
        fids = [r[0] for r in conn.execute(sa.text(f"SELECT fid FROM {table} ORDER BY fid"))]  # noqa: S608
        # a district whose every side is another district's: removing it leaves a hole
        inner = conn.execute(
            sa.text(
                f"SELECT a.fid FROM {table} a WHERE ST_NumInteriorRings(ST_GeometryN(("  # noqa: S608
                f"SELECT ST_Union(geom) FROM {table} b WHERE b.fid <> a.fid AND b.geom && "
                "ST_Expand(a.geom, 0.01)), 1)) > 0 ORDER BY ST_Area(a.geom) LIMIT 1"
            )
        ).scalar_one()
        hole_area = conn.execute(
            sa.text(f"SELECT ST_Area(ST_Transform(geom, 26986)) FROM {table} WHERE fid = :f"),  # noqa: S608
            {"f": inner},
        ).scalar_one()
        others = [f for f in fids if f != inner]
        bowtie, twin, wide, empty, coded = others[:5]
        conn.execute(sa.text(f"DELETE FROM {table} WHERE fid = :f"), {"f": inner})  # noqa: S608
        conn.execute(
            sa.text(
                f"UPDATE {table} SET geom = ST_Multi(ST_GeomFromText("  # noqa: S608
                "'POLYGON((-71.10 42.37, -71.09 42.38, -71.09 42.37, -71.10 42.38, -71.10 42.37))',"
                " 4326)) WHERE fid = :f"
            ),
            {"f": bowtie},
        )
        # the twin: the same row under another feature id
        conn.execute(
            sa.text(f"CREATE TEMP TABLE _twin AS SELECT * FROM {table} WHERE fid = :f"),  # noqa: S608
            {"f": twin},
        )
        conn.execute(sa.text("UPDATE _twin SET fid = fid + 100000"))
        conn.execute(sa.text(f"INSERT INTO {table} SELECT * FROM _twin"))  # noqa: S608
        conn.execute(
            sa.text(
                f"UPDATE {table} SET geom = ST_Multi(ST_Transform(ST_Buffer("  # noqa: S608
                "ST_Transform(geom, 26986), 5), 4326)) WHERE fid = :f"
            ),
            {"f": wide},
        )
        conn.execute(
            sa.text(f"UPDATE {table} SET geom = 'SRID=4326;MULTIPOLYGON EMPTY' WHERE fid = :f"),  # noqa: S608
            {"f": empty},
        )
        conn.execute(
            sa.text(f"UPDATE {table} SET zone_code = 'ZZ-9' WHERE fid = :f"),  # noqa: S608
            {"f": coded},
        )
    return {
        "city": src.city(catalog.with_layer(layer), engine),
        "inner": inner, "hole_area": hole_area, "bowtie": bowtie, "twin": twin, "wide": wide,
        "empty": empty, "coded": coded,
    }  # fmt: skip


def test_planted_faults_are_found_with_their_measures(planted) -> None:  # noqa: ANN001
    city = planted["city"]
    result = data_quality(city, COPY, max_gap_m2=1_000_000)
    frame = result.frame
    by = {c: frame[frame["check"] == c] for c in result.summary["checks"]}
    assert list(by["empty"]["fid"]) == [planted["empty"]]
    invalid = by["invalid"]
    assert list(invalid["fid"]) == [planted["bowtie"]]
    assert "Self-intersection" in invalid.iloc[0]["detail"]
    # where the ring crosses itself (straight in the local CRS: within 0.1 m of the lon/lat cross)
    assert invalid.iloc[0].geometry.distance(shapely.Point(-71.095, 42.375)) < 1e-6
    assert list(zip(by["duplicate"]["fid"], by["duplicate"]["other_fid"], strict=True)) == [
        (planted["twin"], planted["twin"] + 100000)
    ]
    # the twins are a duplicate, not also an overlap; the widened district overlaps each
    # neighbour by what shapely finds
    fids, geoms = _local(city, COPY)
    present = np.array([g is not None and shapely.is_valid(g) for g in geoms])
    theirs = _overlaps(fids[present], geoms[present], 0.1)
    theirs.pop((planted["twin"], planted["twin"] + 100000))
    ours = _found(result, "overlap")
    assert set(ours) == set(theirs) and all(planted["wide"] in pair for pair in ours)
    for pair, area in theirs.items():
        assert ours[pair] == pytest.approx(area, abs=1e-4)
    gaps = by["gap"]
    hole = gaps[gaps["measure"] == pytest.approx(planted["hole_area"], rel=1e-6)]
    assert len(hole) == 1  # the removed district's place, within the others
    unknown = by["unknown_code"]
    assert list(unknown["fid"]) == [planted["coded"]] and list(unknown["detail"]) == [
        "zone_code=ZZ-9"
    ]


def test_bad_parameters_are_refused(cambridge) -> None:  # noqa: ANN001
    for kwargs, words in (
        ({"checks": ["gap"]}, "does not apply"),
        ({"checks": []}, "non-empty"),
        ({"checks": "overlap"}, "non-empty"),
        ({"min_area_m2": -1}, "min_area_m2"),
        ({"max_gap_m2": 0}, "max_gap_m2"),
        ({"min_area_m2": 50, "max_gap_m2": 10}, "larger than"),
        ({"tolerance_m": 1000}, "tolerance_m"),
        ({"tolerance_m": float("nan")}, "finite"),
    ):
        with pytest.raises(InvalidParameter, match=words):
            data_quality(cambridge, "hydrants", **kwargs)


@pytest.fixture(scope="module")
def quality_api(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app) as client:
        yield client


def test_the_api_answers_with_geojson_and_refuses_in_words(quality_api, planner_key) -> None:  # noqa: ANN001
    url = "/cities/cambridge/analysis/data_quality"
    answer = quality_api.post(url, json={"layer": "hydrants"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["summary"]["by_check"]["duplicate"] >= 1
    feature = body["data"]["features"][0]
    assert feature["properties"]["check"] == "duplicate" and feature["geometry"]["type"] == "Point"
    listed = quality_api.get("/cities/cambridge/analysis").json()["analyses"]
    assert "data_quality" in [a["name"] for a in listed]
    for body, status in (
        ({"layer": "hydrants", "checks": ["gap"]}, 400),
        ({"layer": "hydrants", "checks": ["nonsense"]}, 400),
        ({"layer": "hydrants", "tolerance_m": 0}, 400),
        ({"layer": "hydrants", "extra": 1}, 400),
        ({"layer": "hydrants", "polygon": "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"}, 400),
        ({"layer": "hydrants", "polygon": {"type": "Point", "coordinates": [0, 0]}}, 400),
        ({}, 400),
        ({"layer": "no_such_layer"}, 404),
    ):
        answer = quality_api.post(url, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_hidden_layers_and_fields_stay_hidden(quality_api, planner_key, catalog) -> None:  # noqa: ANN001
    hidden = [
        layer.id
        for layer in catalog.city_layers("cambridge")
        if layer.access != "public" and layer.geometry_type.endswith("Point")
    ]
    assert hidden
    url = "/cities/cambridge/analysis/data_quality"
    assert quality_api.post(url, json={"layer": hidden[0]}).status_code == 404
    signed = quality_api.post(url, json={"layer": hidden[0]}, headers={"X-API-Key": planner_key})
    assert signed.status_code == 200, signed.text
