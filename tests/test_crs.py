"""Tests of digitalcity.crs: Chinese offsets, CGCS2000 zones, CRS resolution and measures."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from digitalcity.crs import (
    SourceCRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    coordinates_in_range,
    detect_prefixed_zone,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    gcj02_to_wgs84_one_step,
    geodesic_area,
    gk3_epsg,
    gk3_zone,
    gk6_epsg,
    local_gk_crs_for,
    metric_area,
    metric_length,
    resolve_crs,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from digitalcity.errors import SourceError

GEOD = pyproj.Geod(ellps="WGS84")

# Public test vector (lon, lat in degrees).
WGS_PT = (116.42079, 39.90105)
GCJ_PT = (116.427022, 39.902446)
BD_PT = (116.433501, 39.908500)

XIAMEN = (118.09, 24.48)


def _dist_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def east_china_grid() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(105.0, 122.0, 10), np.linspace(20.0, 42.0, 10))
    return lon.ravel(), lat.ravel()


def _data_dir() -> Path:
    env = os.environ.get("DIGITALCITY_SOURCE_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


# --- chinese.py -------------------------------------------------------------------------


def test_test_vector_forward() -> None:
    glon, glat = wgs84_to_gcj02(*WGS_PT)
    assert isinstance(glon, float) and isinstance(glat, float)
    assert glon == pytest.approx(GCJ_PT[0], abs=1e-6)
    assert glat == pytest.approx(GCJ_PT[1], abs=1e-6)
    blon, blat = gcj02_to_bd09(glon, glat)
    assert blon == pytest.approx(BD_PT[0], abs=1e-6)
    assert blat == pytest.approx(BD_PT[1], abs=1e-6)
    assert wgs84_to_bd09(*WGS_PT) == pytest.approx(BD_PT, abs=1e-6)


def test_gcj_inverse_test_vector_within_half_metre() -> None:
    glon, glat = wgs84_to_gcj02(*WGS_PT)
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert _dist_m(np.array(lon), np.array(lat), np.array(WGS_PT[0]), np.array(WGS_PT[1])) < 0.5


def test_gcj_inverse_grid(east_china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = east_china_grid
    glon, glat = wgs84_to_gcj02(lon, lat)
    shift = _dist_m(lon, lat, glon, glat)
    assert shift.min() > 100 and shift.max() < 1000  # the offset is real and of the known size
    err_iter = _dist_m(lon, lat, *gcj02_to_wgs84(glon, glat))
    err_one = _dist_m(lon, lat, *gcj02_to_wgs84_one_step(glon, glat))
    assert err_iter.shape == (100,)
    assert err_iter.max() < 0.5
    assert err_iter.max() < 0.01  # in practice about a micrometre
    assert err_one.max() > 0.5  # the one-step inverse is good only to a few metres
    assert err_one.mean() > 10 * err_iter.mean()
    assert np.all(err_one >= err_iter)


def test_outside_china_unchanged() -> None:
    # Cambridge MA, Paris, Tokyo, Sydney, Sumatra; the box is rough (Seoul is inside it)
    lon = np.array([-71.1, 2.35, 139.69, 151.21, 100.5])
    lat = np.array([42.37, 48.86, 35.69, -33.87, -5.0])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_bd09_round_trip(east_china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    blon, blat = gcj02_to_bd09(*GCJ_PT)
    assert bd09_to_gcj02(blon, blat) == pytest.approx(GCJ_PT, abs=1e-6)
    lon, lat = east_china_grid
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert _dist_m(lon, lat, *back).max() < 0.5
    bd = np.array(wgs84_to_bd09(lon, lat))
    assert _dist_m(lon, lat, bd[0], bd[1]).min() > 300  # BD-09 adds to the GCJ shift


def test_scalar_and_array_shapes() -> None:
    out = wgs84_to_gcj02(np.array([[116.4, 118.1]]), 39.9)
    assert out[0].shape == (1, 2) and out[1].shape == (1, 2)
    assert isinstance(gcj02_to_wgs84(*GCJ_PT)[0], float)


# --- zones.py ---------------------------------------------------------------------------


def test_gk3_zones_and_epsg() -> None:
    assert gk3_zone(118.1) == 39  # Xiamen
    assert gk3_zone(116.4) == 39  # Beijing
    assert gk3_zone(121.47) == 40  # Shanghai
    assert local_gk_crs_for(118.1) == 4548
    assert local_gk_crs_for(116.4) == 4548
    assert local_gk_crs_for(121.47) == 4549
    assert gk3_epsg(39, prefixed=True) == 4527
    assert gk3_epsg(39, prefixed=False) == 4548
    assert gk3_epsg(25, prefixed=True) == 4513 and gk3_epsg(45, prefixed=False) == 4554
    with pytest.raises(ValueError):
        gk3_epsg(24, prefixed=False)


def test_zone_epsg_codes_match_pyproj() -> None:
    for zone in range(25, 46):
        prefixed = pyproj.CRS.from_epsg(gk3_epsg(zone, prefixed=True))
        plain = pyproj.CRS.from_epsg(gk3_epsg(zone, prefixed=False))
        assert prefixed.name == f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
        assert plain.name == f"CGCS2000 / 3-degree Gauss-Kruger CM {3 * zone}E"
    for zone in range(13, 24):
        assert pyproj.CRS.from_epsg(gk6_epsg(zone, prefixed=True)).name == (
            f"CGCS2000 / Gauss-Kruger zone {zone}"
        )
        assert pyproj.CRS.from_epsg(gk6_epsg(zone, prefixed=False)).name == (
            f"CGCS2000 / Gauss-Kruger CM {6 * zone - 3}E"
        )


def test_detect_prefixed_zone() -> None:
    assert detect_prefixed_zone(np.array([39_441_428.0, 39_512_000.0, np.nan])) == 39
    assert detect_prefixed_zone(np.array([441_428.0, 512_000.0])) is None
    assert detect_prefixed_zone(np.array([])) is None
    with pytest.raises(pyproj.exceptions.CRSError):
        detect_prefixed_zone(np.array([39_441_428.0, 441_428.0]))
    with pytest.raises(pyproj.exceptions.CRSError):
        detect_prefixed_zone(np.array([39_441_428.0, 40_441_428.0]))
    # an edit's or a file's absurd easting: the zone number overflowed int64 (a warning, and
    # a zone made of garbage)
    with pytest.raises(pyproj.exceptions.CRSError, match="carry no zone prefix"):
        detect_prefixed_zone(np.array([39_441_428.0, 1e308]))


# --- transform.py: resolve_crs ----------------------------------------------------------


def test_declared_beats_file() -> None:
    src = resolve_crs("EPSG:4490", "EPSG:4326")
    assert src.crs.to_epsg() == 4490 and src.offset is None
    assert resolve_crs(None, "EPSG:4326").crs.to_epsg() == 4326
    assert resolve_crs(None, pyproj.CRS.from_epsg(32650)).crs.to_epsg() == 32650
    gcj = resolve_crs("GCJ-02", "EPSG:4326")
    assert gcj.offset == "gcj02" and gcj.crs.to_epsg() == 4326
    for name in ("GCJ02", "gcj02", "gcj-02"):
        assert resolve_crs(name, None).offset == "gcj02"
    for name in ("BD-09", "BD09", "bd09"):
        assert resolve_crs(name, None).offset == "bd09"


def test_missing_crs_is_source_error() -> None:
    with pytest.raises(SourceError, match="no CRS: the file declares none; set source.crs"):
        resolve_crs(None, None)


def test_garbage_declared_crs_is_source_error() -> None:
    with pytest.raises(SourceError, match="not-a-crs"):
        resolve_crs("not-a-crs", "EPSG:4326")


def test_prefixed_eastings_switch_zone_code() -> None:
    fwd = pyproj.Transformer.from_crs(4326, 4527, always_xy=True)
    x, y = fwd.transform(*XIAMEN)
    assert 39_000_000 < x < 40_000_000
    src = resolve_crs("EPSG:4548", None, sample_x=np.array([x]))
    assert src.crs.to_epsg() == 4527
    back = transform_geometries(np.array([shapely.Point(x, y)]), src, 4326)
    assert _dist_m(np.array(back[0].x), np.array(back[0].y), *map(np.array, XIAMEN)) < 0.001
    # and vice versa: a prefixed code with plain eastings
    assert resolve_crs("EPSG:4527", None, np.array([x - 39e6])).crs.to_epsg() == 4548
    # the pseudo name takes its zone from the eastings
    assert resolve_crs("CGCS2000-GK3", None, np.array([x])).crs.to_epsg() == 4527
    with pytest.raises(SourceError):
        resolve_crs("CGCS2000-GK3", None, np.array([x - 39e6]))
    with pytest.raises(SourceError, match="zone 40"):
        resolve_crs("EPSG:4548", None, np.array([x + 1e6]))


# --- transform.py: geometry -------------------------------------------------------------


def test_gcj_geometry_transform_moves_xiamen_point() -> None:
    gcj = np.array(wgs84_to_gcj02(*XIAMEN))
    geoms = np.array([shapely.Point(*gcj), None], dtype=object)
    out = transform_geometries(geoms, resolve_crs("GCJ-02", None), "EPSG:4326")
    assert out[1] is None
    moved = _dist_m(gcj[0], gcj[1], np.array(out[0].x), np.array(out[0].y))
    assert 300 < moved < 700
    assert _dist_m(np.array(out[0].x), np.array(out[0].y), *map(np.array, XIAMEN)) < 0.5
    # to a projected target in one go, and from BD-09
    proj = transform_geometries(geoms[:1], SourceCRS(pyproj.CRS.from_epsg(4326), "gcj02"), 4548)
    ref = pyproj.Transformer.from_crs(4326, 4548, always_xy=True).transform(*XIAMEN)
    assert np.hypot(proj[0].x - ref[0], proj[0].y - ref[1]) < 0.5
    bd = shapely.Point(*wgs84_to_bd09(*XIAMEN))
    from_bd = transform_geometries(np.array([bd]), resolve_crs("BD09", None), 4326)
    assert _dist_m(np.array(from_bd[0].x), np.array(from_bd[0].y), *map(np.array, XIAMEN)) < 0.5


def test_coordinates_in_range() -> None:
    geoms = np.array(
        [
            shapely.Point(118.1, 24.5),
            shapely.Point(500.0, 24.5),
            shapely.LineString([(118.1, 24.5), (np.inf, 24.5)]),
            shapely.Point(118.1, np.nan),
            None,
        ],
        dtype=object,
    )
    np.testing.assert_array_equal(
        coordinates_in_range(geoms, 4326), [True, False, False, False, True]
    )
    projected = np.array(
        [
            shapely.Point(610_000.0, 2_709_000.0),
            shapely.Point(39_610_000.0, 2_709_000.0),
            shapely.Point(610_000.0, np.inf),
        ],
        dtype=object,
    )
    np.testing.assert_array_equal(coordinates_in_range(projected, 4548), [True, False, False])
    np.testing.assert_array_equal(coordinates_in_range(projected, 4527), [False, True, False])


def test_metric_area_and_length_of_km_square() -> None:
    x0, y0 = pyproj.Transformer.from_crs(4326, 4548, always_xy=True).transform(*XIAMEN)
    square = shapely.box(x0, y0, x0 + 1000.0, y0 + 1000.0)
    area = metric_area(np.array([square]), 4548, 4548)
    assert area[0] == pytest.approx(1e6, rel=1e-9)
    assert metric_length(np.array([square]), 4548, 4548)[0] == pytest.approx(4000.0, rel=1e-9)
    lonlat = transform_geometries(np.array([square]), resolve_crs("EPSG:4548", None), 4326)
    assert geodesic_area(lonlat[0]) == pytest.approx(1e6, rel=0.005)
    # back from lon/lat through the metric CRS gives the square again
    assert metric_area(lonlat, 4326, 4548)[0] == pytest.approx(1e6, rel=1e-6)
    with pytest.raises(ValueError):
        metric_area(lonlat, 4326, 4326)


def test_geodesic_area_ignores_ring_orientation() -> None:
    ccw = shapely.box(118.0, 24.4, 118.01, 24.41)
    cw = shapely.Polygon(list(ccw.exterior.coords)[::-1])
    both = shapely.MultiPolygon([ccw, shapely.affinity.translate(cw, 0.1, 0.0)])
    assert geodesic_area(cw) == pytest.approx(geodesic_area(ccw), rel=1e-12)
    assert geodesic_area(both) == pytest.approx(2 * geodesic_area(ccw), rel=1e-3)


# --- real data: Amap (GCJ-02) district outlines against WGS84 TAZ polygons ----------------


def _iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b)))


def test_gcj_conversion_improves_overlap_with_wgs84_data() -> None:
    data = _data_dir()
    districts = gpd.read_file(
        data / "china_districts" / "derived_xiamen_districts_gcj02_census2020.geojson"
    )
    island = districts[districts["adcode"].isin(["350203", "350206"])]
    assert len(island) == 2
    taz = gpd.read_file(data / "xiamen_island" / "derived_xiamen_island_taz_pop_wgs84.geojson")
    assert len(taz) == 661

    gcj_outline = shapely.union_all(shapely.make_valid(island.geometry.values))
    wgs_outline = transform_geometries(
        np.array([gcj_outline]), resolve_crs("GCJ-02", str(districts.crs)), 4326
    )[0]
    taz_outline = shapely.union_all(shapely.make_valid(taz.geometry.values))

    utm = pyproj.CRS.from_epsg(32650)
    as_is = SourceCRS(pyproj.CRS.from_epsg(4326))
    before_a, after_a, ref = transform_geometries(
        np.array([gcj_outline, wgs_outline, taz_outline]), as_is, utm
    )
    before, after = _iou(before_a, ref), _iou(after_a, ref)
    assert 0.80 < before < 0.88
    assert after > before + 0.03
    assert after > 0.86  # measured 0.835 -> 0.880


def test_a_transformation_proj_leaves_as_it_is_keeps_the_geometries() -> None:
    """WGS 84 into a CGCS2000 city: PROJ's null offset moves nothing, so the geometries are
    the very objects read (the loader then writes their WKB as read); a real transformation
    still moves them."""
    geoms = np.array([shapely.Point(114.3, 30.6), shapely.box(114.0, 30.0, 114.1, 30.1)])
    kept = transform_geometries(geoms, resolve_crs("EPSG:4326", None), "EPSG:4490")
    assert all(a is b for a, b in zip(kept, geoms, strict=True))
    moved = transform_geometries(geoms, resolve_crs("EPSG:4326", None), "EPSG:3857")
    assert not any(a is b for a, b in zip(moved, geoms, strict=True))
    assert abs(shapely.get_x(moved[0]) - 12_723_817.8) < 1  # R × 114.3° in radians
