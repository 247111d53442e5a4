"""The generic identify card, for a city without parcels (Xiamen: census districts), in
headless Chromium: a click shows the feature's visible fields with their titles and units from
its definition, read from the API (not only what the tiles carry); no parcel sections; zh/en.
Facility types take their titles from the city, the package's common list or their layer.

Never skipped: without /usr/bin/chromium these tests error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from test_web_planner import Opened, launched_browser

from digitalcity.catalog.model import CityDef, CityRoles, Titles
from digitalcity.catalog.roles import facility_titles

SIMING = (118.09, 24.46)  # inside 思明区 (Siming district), Xiamen


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched_browser()


@pytest.fixture(scope="module")
def siming(engine, loaded) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT district, population, urban_share FROM xiamen.districts "
                "WHERE ST_Contains(geom, ST_SetSRID(ST_Point(:x, :y), ST_SRID(geom)))"
            ),
            {"x": SIMING[0], "y": SIMING[1]},
        ).one()
    return dict(row._mapping)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_click_in_a_city_without_parcels_shows_the_features_fields(
    browser, live_server, catalog, siming, lang
):
    layer = catalog.layer("xiamen", "districts")
    assert catalog.city("xiamen").roles.parcels is None
    url = f"{live_server}/map?city=xiamen&lang={lang}#c=xiamen&z=11&ll={SIMING[0]},{SIMING[1]}&lang={lang}"
    opened = Opened(browser, url)
    opened.click_lonlat(*SIMING)
    text = opened.card()
    # the name in the page's language: the English form of the Chinese name (romanise)
    title = {"zh": "思明区", "en": "Siming District"}[lang]
    assert siming["district"] == "思明区"
    assert opened.page.inner_text("#card .card-title") == title
    assert layer.title.get(lang) in text
    population = layer.field("population")
    assert population.title.get(lang) in text
    assert f"{siming['population']:,}" in text.replace("\u202f", ",")
    assert ("人" if lang == "zh" else "persons") in text  # the field's unit, in the language
    share = f"{siming['urban_share'] * 100:.1f}".rstrip("0").rstrip(".") + "%"  # a percentage
    assert layer.field("urban_share").title.get(lang) in text and share in text
    for parcel_only in ("Zoning district", "控规分区", "Address", "地址", "FAR", "容积率"):
        assert parcel_only not in text
    # the fields came from the API: no identify request (no parcels), one item read
    urls = [r.url for r in opened.requests]
    assert not [u for u in urls if "/identify" in u]
    assert [u for u in urls if "/collections/xiamen__districts/items/" in u]
    assert not opened.errors
    opened.close()


def test_facility_titles_come_from_the_city_the_package_or_the_layer():
    roles = CityRoles(
        facilities={"school": ("schools",), "clinic": ("clinics",), "depot": ("depots",),
                    "hidden": ("secret",)},  # fmt: skip
        facility_titles={"depot": Titles(zh="车辆段", en="Depot")},
    )
    city = CityDef(id="t", title=Titles(zh="测", en="T"), storage_crs="EPSG:4326",
                   local_crs="EPSG:32650", roles=roles)  # fmt: skip
    visible = {
        "schools": Titles(zh="学校图层", en="Schools layer"),
        "clinics": Titles(zh="诊所图层", en="Clinics layer"),
        "depots": Titles(zh="车辆段图层", en="Depots layer"),
    }
    titles = facility_titles(city, visible)
    assert titles["school"].zh == "学校" and titles["clinic"].en == "Clinic"
    assert titles["depot"].zh == "车辆段"  # the city's own
    assert "hidden" not in titles  # its only layer is not visible: not even its name leaks
    titles = facility_titles(city.model_copy(update={"roles": roles.model_copy(
        update={"facility_titles": {}, "facilities": {"kiosk": ("depots",)}})}), visible)  # fmt: skip
    assert titles["kiosk"].en == "Depots layer"  # no title anywhere: the layer's
