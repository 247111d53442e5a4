"""Chinese place names for English readers (``romanise``): the rules, the loaded districts of
the Chinese cities, their English map labels, and edits that rename a district."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.editing.service import EditRejected
from digitalcity.ingest.loader import load_layer
from digitalcity.romanise import romanise, romanise_column

CHINESE_CITIES = ("beijing", "shanghai", "shenzhen", "xiamen")


@pytest.mark.parametrize(
    ("name", "english"),
    [
        ("思明区", "Siming District"),
        ("浦东新区", "Pudong New Area"),  # the generic term read as the city writes it
        ("朝阳区", "Chaoyang District"),  # pypinyin reads 朝阳 alone as zhaoyang (morning sun)
        ("长宁区", "Changning District"),  # 长 outside a known word: chang in place names
        ("闵行区", "Minhang District"),  # a name pypinyin misreads (xing)
        ("长沙市", "Changsha City"),
        ("西安", "Xi'an"),  # an apostrophe where a syllable starts with a vowel
        ("翔安区", "Xiang'an District"),
        ("鼓浪屿", "Gulangyu"),
        ("A区", "A District"),
        ("区", "Qu"),  # a generic term alone is a name
        ("Harvard Sq", "Harvard Sq"),
        ("  ", None),
        (None, None),
    ],
)
def test_names_for_english_readers(name, english):
    assert romanise(name) == english


def test_a_column_is_romanised_value_by_value():
    column = pa.array(["湖里区", None, "湖里区", "同安区"])
    assert romanise_column(column).to_pylist() == [
        "Huli District",
        None,
        "Huli District",
        "Tong'an District",
    ]


@pytest.mark.parametrize("city", CHINESE_CITIES)
def test_loaded_districts_carry_their_english_names(engine, loaded, city):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT district, district_en FROM {city}.districts")  # noqa: S608
        ).all()
    assert rows and all(en == romanise(zh) and en.endswith(("District", "New Area"))
                        for zh, en in rows)  # fmt: skip


def test_english_maps_label_districts_in_english(client, loaded):
    for lang, field in (("en", "district_en"), ("zh", "district")):
        style = client.get(f"/styles/xiamen/public?lang={lang}").json()
        label = next(x for x in style["layers"] if x["id"] == "districts-label")
        text = label["layout"]["text-field"]  # the language's field first, the other after
        assert (text[1] if text[0] == "coalesce" else text) == ["get", field]
    tilejson = client.get("/tiles/xiamen/tilejson.json").json()
    points = next(v for v in tilejson["vector_layers"] if v["id"] == "districts-label")
    assert {"district", "district_en"} <= set(points["fields"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"romanise": "no_such_field"}, "romanises"),
        ({"romanise": "population"}, "romanises"),  # a number
        ({"romanise": "district", "source": "district"}, "reads no source column"),
    ],
)
def test_a_romanised_field_must_name_a_text_field(catalog, change, message):
    data = catalog.layer("xiamen", "districts").model_dump(mode="python", exclude_none=True)
    data["fields"] = [{**f, **change} if f["name"] == "district_en" else f for f in data["fields"]]
    with pytest.raises(ValidationError, match=message):
        LayerDef.model_validate(data)


def test_renaming_a_district_renames_it_in_english(catalog, engine, settings, loaded):
    base = catalog.layer("xiamen", "districts")
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = "edit_districts"
    data["editing"] = {"enabled": True, "roles": ["land_bureau", "admin"]}
    layer = LayerDef.model_validate(data)
    load_layer(layer, catalog.city("xiamen"), engine, settings, force=True)
    city = City(catalog.with_layer(layer), catalog.city("xiamen"), engine, "land_bureau")
    fid = int(city.read("edit_districts").query("district == '湖里区'").index[0])
    city.update("edit_districts", fid, {"properties": {"district": "长宁区"}},
                etag=str(city.etag("edit_districts", fid)), reason="test")  # fmt: skip
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT district, district_en FROM xiamen.edit_districts WHERE fid = :f"),
            {"f": fid},
        ).one()
    assert tuple(row) == ("长宁区", "Changning District")
    with pytest.raises(EditRejected, match="district_en"):
        city.update("edit_districts", fid, {"properties": {"district_en": "Somewhere"}},
                    etag=str(city.etag("edit_districts", fid)), reason="test")  # fmt: skip


def test_search_hits_are_named_in_the_readers_language(client, loaded):
    for lang, name in (("en", "Siming District"), ("zh", "思明区")):
        hits = client.get(f"/cities/xiamen/search?q=siming&lang={lang}").json()["hits"]
        assert hits and hits[0]["label"] == name
    assert client.get("/cities/xiamen/search?q=siming").json()["hits"][0]["label"] == "思明区"
    assert client.get("/cities/xiamen/search?q=siming&lang=fr").status_code in (400, 422)
