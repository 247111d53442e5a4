"""Population allocation (areal and dasymetric) and district density, against shapely overlays
of the source files and the census totals."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import test_analysis_sources as src

from digitalcity.analysis import district_density, population_by_zone, population_in_polygon

BOX = shapely.box(-71.12, 42.36, -71.10, 42.37)
CHINA = src.SHARED_DATA / "china_districts"


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):
    return src.city(catalog, engine)


def _local_box():
    return gpd.GeoSeries([BOX], crs=4326).to_crs(src.LOCAL).iloc[0]


def test_whole_city_reconciles_with_census(cambridge):
    blocks = src.read("DEMOGRAPHICS_Blocks2000.geojson", crs=None)
    hull = shapely.convex_hull(shapely.union_all(blocks.geometry.values)).buffer(0.01)
    for method in ("areal", "dasymetric"):
        result = population_in_polygon(cambridge, hull, method=method)
        assert result.frame["population"].iloc[0] == pytest.approx(src.CENSUS_TOTAL, rel=1e-9)
        assert result.summary["city_population"] == pytest.approx(src.CENSUS_TOTAL, rel=1e-12)


def test_areal_interpolation_matches_overlay(cambridge):
    result = population_in_polygon(cambridge, BOX)
    (theirs,) = src.areal_population([_local_box()])
    assert result.frame["population"].iloc[0] == pytest.approx(theirs, rel=1e-4)
    assert result.frame["area_m2"].iloc[0] == pytest.approx(_local_box().area, rel=1e-6)
    assert result.units["population"].startswith("persons")
    assert "areal interpolation" in result.provenance["method"]


def test_dasymetric_matches_independent_mask(cambridge, engine):
    result = population_in_polygon(cambridge, BOX, method="dasymetric")
    parcels = src.parcels()
    classes = pd.read_sql("SELECT fid, landuse_l1 FROM cambridge.parcels", engine).set_index("fid")
    residential = parcels[classes["landuse_l1"].reindex(parcels.index) == "07"]
    blocks = src.read("DEMOGRAPHICS_Blocks2000.geojson")
    pairs_b, pairs_r = residential.sindex.query(blocks.geometry.values, predicate="intersects")
    pieces = shapely.intersection(
        residential.geometry.values[pairs_r], blocks.geometry.values[pairs_b]
    )
    areas = shapely.area(pieces)
    res_area = pd.Series(areas).groupby(pairs_b).sum()
    box = _local_box()
    total = 0.0
    fallback = 0.0
    for b, (geom, pop) in enumerate(zip(blocks.geometry.values, blocks["POP_LAB"], strict=True)):
        if res_area.get(b, 0) > 0:
            mine = pairs_b == b
            inside = shapely.area(shapely.intersection(pieces[mine], box))
            total += pop * inside.sum() / res_area[b]
        else:
            fallback += pop
            total += pop * shapely.intersection(geom, box).area / geom.area
    assert result.frame["population"].iloc[0] == pytest.approx(total, rel=1e-3)
    assert result.summary["fallback_population"] == pytest.approx(fallback)
    assert "dasymetric" in result.provenance["method"]


def test_neighbourhoods_reconcile(cambridge):
    result = population_by_zone(cambridge, "neighbourhoods").frame.set_index("zone")
    hoods = src.read("BOUNDARY_CDDNeighborhoods.geojson")
    theirs = src.areal_population(list(hoods.geometry.values))
    for name, pop in zip(hoods["NAME"], theirs, strict=True):
        assert result.loc[name, "population"] == pytest.approx(pop, rel=1e-4, abs=0.5), name
    assert result["population"].sum() == pytest.approx(src.CENSUS_TOTAL, rel=5e-4)
    dasy = population_by_zone(cambridge, "neighbourhoods", method="dasymetric").frame
    assert dasy["population"].sum() == pytest.approx(src.CENSUS_TOTAL, rel=5e-4)


@pytest.mark.parametrize("city_id, total", [("xiamen", 5_163_970), ("beijing", 21_893_095)])
def test_district_density_in_cgcs2000(catalog, engine, loaded, city_id, total):
    city = src.city(catalog, engine, city_id)
    result = district_density(city)
    assert city.definition.storage_crs == "EPSG:4490" and city.local_crs == "EPSG:4548"
    assert result.provenance["crs"] == {"storage": "EPSG:4490", "measurement": "EPSG:4548"}
    assert result.summary["population"] == total
    raw = gpd.read_file(CHINA / f"derived_{city_id}_districts_gcj02_census2020.geojson")
    # GCJ-02 shifts a district by a few hundred metres; its area changes far less than 0.5%
    geodesic = {
        str(a): src.geodesic_area(g) / 1e6 for a, g in zip(raw["adcode"], raw.geometry, strict=True)
    }
    ours = result.frame.set_index(result.frame["fid"].astype(str))
    for adcode, area in geodesic.items():
        assert ours.loc[adcode, "area_km2"] == pytest.approx(area, rel=0.005), adcode
    pops = dict(zip(raw["adcode"].astype(str), raw["POPU"], strict=True))
    for adcode, row in ours.iterrows():
        assert row["population"] == pops[adcode]
        assert row["density_per_km2"] == pytest.approx(pops[adcode] / geodesic[adcode], rel=0.005)
    assert result.frame["density_per_km2"].is_monotonic_decreasing
    assert np.isclose(result.frame["share_of_population"].sum(), 1.0)
    assert result.frame.crs.to_epsg() == 4490


def test_gcj02_polygon_in_xiamen(catalog, engine, loaded):
    """A polygon drawn on a GCJ-02 map (Amap) is converted like the layers were: the island
    districts' own outline gets back their census residents."""
    xiamen = src.city(catalog, engine, "xiamen")
    raw = gpd.read_file(CHINA / "derived_xiamen_districts_gcj02_census2020.geojson")
    island = raw[raw["adcode"].astype(str).isin(["350203", "350206"])]
    outline = shapely.make_valid(shapely.union_all(island.geometry.values))
    result = population_in_polygon(xiamen, outline, polygon_crs="GCJ-02")
    assert result.frame["population"].iloc[0] == pytest.approx(island["POPU"].sum(), rel=0.01)
    assert result.summary["city_population"] == 5_163_970
