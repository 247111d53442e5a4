"""Buffers, hydrant coverage and facilities near a parcel against shapely in the local CRS."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import test_analysis_sources as src

from digitalcity.analysis import buffer, facilities_within, parcels_beyond


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):
    return src.city(catalog, engine)


def _nearest_distances(parcels, points) -> np.ndarray:
    tree = shapely.STRtree(points)
    (_, _), dist = tree.query_nearest(parcels, return_distance=True, all_matches=False)
    return dist


@pytest.mark.parametrize("distance_m", [60.0, 100.0])
def test_parcels_beyond_hydrants(cambridge, distance_m):
    result = parcels_beyond(cambridge, distance_m)
    parcels = src.parcels()
    hydrants = src.read("INFRA_Hydrants.geojson")
    in_service = hydrants[hydrants["LIFECYCLESTATUS"].isin(["ACT", "MITFL"])]
    nonempty = ~parcels.geometry.is_empty
    dist = _nearest_distances(parcels.geometry.values[nonempty], in_service.geometry.values)
    theirs = dict(
        zip(parcels.index[nonempty][dist > distance_m], dist[dist > distance_m], strict=True)
    )
    ours = result.frame.set_index("fid")["distance_m"]
    assert set(ours.index) == set(theirs)
    for fid, d in theirs.items():
        assert ours[fid] == pytest.approx(d, abs=0.01)
    assert result.summary["parcels"] == len(theirs) > 0
    assert result.summary["all_parcels"] == 13116
    assert result.summary["share_of_parcels"] == pytest.approx(len(theirs) / 13116)
    assert result.provenance["parameters"]["facility_filter"] == {
        "lifecycle_status": ["ACT", "MITFL"]
    }
    assert result.crs == "EPSG:4326" and result.frame.crs.to_epsg() == 4326


def test_dissolved_buffer_area(cambridge):
    stations = src.read("PUBLICSAFETY_FireStations.geojson")
    result = buffer(cambridge, "fire_stations", 800, dissolve=True)
    # ST_Buffer's default: 8 segments per quarter circle
    union = shapely.union_all(stations.geometry.buffer(800, quad_segs=8).values)
    assert result.summary["area_m2"] == pytest.approx(union.area, rel=1e-4)
    assert result.summary["features"] == 8
    single = buffer(cambridge, "fire_stations", 800, fids=[1])
    assert len(single.frame) == 1
    n = 32  # sides of the buffer polygon: area of a regular 32-gon of circumradius 800 m
    assert single.summary["area_m2"] == pytest.approx(n / 2 * 800**2 * np.sin(2 * np.pi / n))


def test_facilities_within_a_parcel(cambridge):
    parcels = src.parcels()
    fid = 1
    result = facilities_within(cambridge, 200, parcel_fid=fid, layers=["hydrants", "fire_stations"])
    hydrants = src.read("INFRA_Hydrants.geojson")
    d = shapely.distance(hydrants.geometry.values, parcels.geometry.loc[fid])
    ours = result.frame[result.frame["layer"] == "hydrants"].set_index("fid")["distance_m"]
    expected = set(hydrants["OBJECTID"][d <= 200])
    assert set(ours.index) == expected and len(expected) > 5
    lookup = dict(zip(hydrants["OBJECTID"], d, strict=True))
    for hid, dist in ours.items():
        assert dist == pytest.approx(lookup[hid], abs=0.01)
    assert result.frame["distance_m"].is_monotonic_increasing
    assert result.summary["by_layer"]["hydrants"] == len(expected)


def test_facilities_within_a_polygon_default_layers(cambridge):
    box = shapely.box(-71.106, 42.372, -71.102, 42.375)  # Cambridge City Hall area, lon/lat
    result = facilities_within(cambridge, 50, polygon=box)
    layers = set(result.frame["layer"])
    assert "hydrants" in layers and "street_lights" in layers
    assert "utility_poles" in layers  # internal, readable by the land bureau
    anonymous = facilities_within(
        src.city(cambridge.catalog, cambridge.engine, role="anonymous"), 50, polygon=box
    )
    assert "utility_poles" not in set(anonymous.frame["layer"])
    assert (result.frame["distance_m"] <= 50).all()
