"""``analysis.zoning_in_polygon`` (and ``POST /cities/{city}/analysis/zoning_in_polygon``): the
zoning districts a polygon falls in, the same figures the planner map's area statistics give,
with their units and provenance."""

from __future__ import annotations

import pytest

from digitalcity.analysis import InvalidParameter, zoning_in_polygon
from digitalcity.city import City

SITE = {
    "type": "Polygon",
    "coordinates": [
        [[-71.106, 42.371], [-71.101, 42.371], [-71.101, 42.375], [-71.106, 42.375],
         [-71.106, 42.371]]
    ],
}  # fmt: skip


def test_the_analysis_gives_what_the_map_s_statistics_give(client, catalog, engine):
    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    result = zoning_in_polygon(city, SITE, lang="zh")
    stats = client.post("/cities/cambridge/stats?lang=zh", json=SITE).json()["zoning"]["zones"]
    frame = result.frame
    assert list(frame["zone_code"]) == [z["zone_code"] for z in stats]
    assert list(frame["area_m2"]) == [z["area_m2"] for z in stats]
    assert list(frame["zone_name"]) == [z["zone_name"] for z in stats]
    for (_, row), zone in zip(frame.iterrows(), stats, strict=True):
        for control in zone["controls"]:
            value = row[control["control"]]
            assert (
                (value is None or value != value)
                if control["value"] is None
                else (value == control["value"])
            )
        open_limits = {c["control"] for c in zone["controls"] if c["status"] == "no_limit"}
        assert set(filter(None, row["no_limit"].split(";"))) == open_limits
    assert result.summary["zoned_m2"] == pytest.approx(frame["area_m2"].sum())
    assert result.summary["zoned_m2"] <= result.summary["area_m2"]
    assert result.units["area_m2"] == "m²" and result.units["max_height"] == "ft"
    [read] = result.provenance["inputs"]
    assert read["layer"] == "cambridge.zoning_districts" and read["version"] >= 1


def test_over_http_and_where_there_is_no_zoning(client):
    answer = client.post("/cities/cambridge/analysis/zoning_in_polygon", json={"polygon": SITE})
    assert answer.status_code == 200
    assert answer.json()["data"][0]["zone_code"] == "C-1"
    listed = client.get("/cities/cambridge/analysis").json()["analyses"]
    assert "zoning_in_polygon" in {a["name"] for a in listed}
    far = {"type": "Polygon", "coordinates": [[[118.08, 24.45], [118.12, 24.45],
           [118.12, 24.48], [118.08, 24.45]]]}  # fmt: skip
    none = client.post("/cities/xiamen/analysis/zoning_in_polygon", json={"polygon": far})
    assert none.status_code == 400 and "zoning" in none.json()["detail"]
    bad = client.post(
        "/cities/cambridge/analysis/zoning_in_polygon", json={"polygon": SITE, "lang": "fr"}
    )
    assert bad.status_code == 400


def test_a_bad_language_is_refused(catalog, engine):
    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    with pytest.raises(InvalidParameter):
        zoning_in_polygon(city, SITE, lang="fr")
