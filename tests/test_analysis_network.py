"""Walking service areas (pgRouting in PostGIS) against networkx shortest paths on the street
graph rebuilt independently from the GeoJSON with shapely noding, and the 15-minute life circle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import test_analysis_sources as src

from digitalcity.analysis import life_circle, service_areas, street_network


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):
    return src.city(catalog, engine)


@pytest.fixture(scope="module")
def graph():
    return src.StreetGraph()


def test_street_graph_matches_shapely_noding(cambridge, graph, engine):
    result = street_network(cambridge)
    assert result.summary["edges"] == len(graph.lines) == 2659
    assert result.summary["vertices"] == len(graph.vertices) == 1875
    assert result.summary["length_m"] == pytest.approx(sum(g.length for g in graph.lines), rel=1e-9)
    assert result.summary["components"] == 2
    again = street_network(cambridge)  # served from the cache, keyed by the layer version
    assert again.provenance["cache_key"] == result.provenance["cache_key"]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT key, inputs FROM digitalcity_cache.entries "
                "WHERE city = 'cambridge' AND kind = 'graph'"
            )
        ).all()
    (version,) = (i["version"] for i in result.provenance["inputs"])
    assert [r.key for r in rows] == [result.provenance["cache_key"]]
    # keyed by version and edit revision, so an edit to the streets rebuilds the graph
    assert rows[0].inputs.startswith(f"street_centerlines:{version}.")


@pytest.mark.parametrize(
    "layer, source",
    [
        ("fire_stations", "PUBLICSAFETY_FireStations.geojson"),
        ("subway_stations", "TRANS_SubwayStations.geojson"),
    ],
)
def test_catchments_match_networkx(cambridge, graph, layer, source):
    result = service_areas(cambridge, layer, minutes=(5, 10, 15))
    ours = result.frame.set_index(["fid", "minutes"])
    facilities = src.read(source).reset_index(drop=True)
    assert len(ours) == 3 * len(facilities)
    checked = 0
    for i, point in enumerate(facilities.geometry):
        fid = i + 1  # the loader numbers features in source order
        for minutes in (5, 10, 15):
            theirs = graph.catchment(point, minutes * 80.0, 50.0)
            row = ours.loc[(fid, float(minutes))]
            assert row["area_m2"] == pytest.approx(theirs.area, rel=0.005), (fid, minutes)
            (population,) = src.areal_population([theirs])
            assert row["population"] == pytest.approx(population, rel=0.005, abs=1.0)
            checked += 1
    assert checked == len(ours)
    assert (ours["walk_m"] == ours.index.get_level_values("minutes") * 80).all()
    # catchments grow with time
    for fid in ours.index.get_level_values("fid").unique():
        areas = ours.loc[fid, "area_m2"].to_numpy()
        assert (areas[1:] > areas[:-1]).all()


def test_life_circle_shares(cambridge, graph):
    result = life_circle(cambridge, minutes=15)
    frame = result.frame
    assert result.summary["city_population"] == src.CENSUS_TOTAL
    kinds = frame[frame["layer"].notna()].set_index("layer")
    assert set(kinds.index) == {"public_schools", "fire_stations", "subway_stations"}
    schools = src.read("LANDMARK_PublicSchools.geojson").geometry
    union = src.shapely.union_all([graph.catchment(p, 1200.0) for p in schools])
    (covered,) = src.areal_population([union])
    assert kinds.loc["public_schools", "population"] == pytest.approx(covered, rel=0.005)
    assert kinds.loc["public_schools", "share"] == pytest.approx(
        covered / src.CENSUS_TOTAL, rel=0.005
    )
    everything = frame[frame["layer"].isna()].iloc[0]
    assert 0 < everything["share"] <= kinds["share"].min()
    assert result.summary["all_kinds"]["15.0"] == pytest.approx(everything["share"])
    assert "pgr_drivingDistance" in result.provenance["method"]
    assert "buffered by 50 m" in result.provenance["method"]
