"""Search by pinyin: a query in Latin letters finds Chinese names by their full pinyin or their
initials, as Chinese map search boxes do, on the real district layers of the demo cities;
keys follow loads and edits, and cities without Chinese names search as before."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.ingest.loader import load_layer
from digitalcity.pinyin_keys import keys, remember_layer, spelled_fields, spelling
from digitalcity.search import search

EDITABLE = "pinyin_districts"


def test_keys_read_words_then_other_readings():
    assert keys("朝阳区") == ("chaoyangqu", "cyq")  # a word: not zhaoyang
    assert keys("厦门市")[0].split()[0] == "xiamenshi"  # not shamen
    spelled, initials = keys("长宁区")  # 长 outside a known word: both readings,
    assert spelled.split()[:2] == ["changningqu", "zhangningqu"]  # a place name first
    assert "cnq" in initials.split()
    assert keys("A1地块") == ("a1dikuai", "a1dk")  # other text kept as written


@pytest.mark.parametrize(
    ("q", "key"),
    [("Si Ming", "siming"), ("xi'an", "xian"), ("hu-li", "huli"), ("s", None), ("思明", None),
     ("38 maple", None), ("", None)],
)  # fmt: skip
def test_what_a_query_spelled_in_pinyin_may_be(q, key):
    assert spelling(q) == key


@pytest.fixture(scope="module")
def cities(catalog, engine, loaded):  # noqa: ANN001, ANN201
    return {c: City(catalog, catalog.city(c), engine, "anonymous") for c in catalog.cities}


@pytest.mark.parametrize(
    ("city", "q", "found", "score"),
    [
        ("xiamen", "siming", "思明区", 0.85),
        ("xiamen", "simingqu", "思明区", 0.95),
        ("xiamen", "sm", "思明区", 0.75),
        ("xiamen", "hlq", "湖里区", 0.9),
        ("beijing", "chaoyang", "朝阳区", 0.85),
        ("beijing", "Hai Dian", "海淀区", 0.85),
        ("shanghai", "changning", "长宁区", 0.85),
    ],
)
def test_a_chinese_name_is_found_by_its_pinyin(cities, city, q, found, score):
    hits = search(cities[city], q, limit=5)
    assert hits and hits[0].label == found, [h.label for h in hits]
    assert hits[0].score == score and hits[0].value == found


def test_two_letters_match_starts_only(cities):
    assert search(cities["xiamen"], "qu", limit=10) == []  # inside every district's spelling
    assert [h.label for h in search(cities["xiamen"], "mingqu")] == ["思明区"]


def test_a_city_without_chinese_names_searches_as_before(cities, engine, catalog, client):
    demo = {x.id for x in catalog.city_layers("cambridge")}
    with engine.connect() as conn:
        assert not {layer for layer, _ in spelled_fields(conn, "cambridge")} & demo
        assert ("districts", "district") in spelled_fields(conn, "xiamen")
    found = client.get("/cities/xiamen/search", params={"q": "siming"}).json()
    assert [h["label"] for h in found["hits"]][:1] == ["思明区"]
    hits = search(cities["cambridge"], "maple", limit=5)
    assert hits and all("maple" in h.value.lower() for h in hits)


def test_keys_follow_edits(catalog, engine, settings, loaded):
    base = catalog.layer("xiamen", "districts")
    data = base.model_dump(mode="python", exclude_none=True)
    data["id"] = EDITABLE
    data["editing"] = {"enabled": True, "roles": ["land_bureau", "admin"]}
    layer = LayerDef.model_validate(data)
    city_def = catalog.city("xiamen")
    report = load_layer(layer, city_def, engine, settings, force=True)
    assert remember_layer(engine, layer, city_def, int(report.version or 0)) == 0  # all known
    assert remember_layer(engine, layer, city_def, int(report.version or 0)) == 0  # read once
    editor = City(catalog.with_layer(layer), city_def, engine, "land_bureau")
    with engine.connect() as conn:
        fid, old = conn.execute(
            sa.text(f"SELECT fid, district FROM xiamen.{EDITABLE} ORDER BY fid LIMIT 1")  # noqa: S608
        ).one()
    before = dt.datetime.now(dt.UTC)
    assert not search(editor, "jimeixinqu", layers=[EDITABLE])
    editor.update(
        EDITABLE, fid, {"properties": {"district": "集美新区"}},
        etag=editor.etag(EDITABLE, fid) or "", reason="pinyin test",
    )  # fmt: skip
    hits = search(editor, "jimeixinqu", layers=[EDITABLE])
    assert [(h.fid, h.label) for h in hits] == [(fid, "集美新区")]
    with engine.connect() as conn:
        spelled = conn.execute(
            sa.text("SELECT spelled FROM digitalcity.pinyin_keys WHERE value = '集美新区'")
        ).scalar_one()
    assert spelled.split()[0] == "jimeixinqu"
    # as of before the edit: the old name by its pinyin, not the new one (keys are per value)
    past = editor.at(before)
    assert not search(past, "jimeixinqu", layers=[EDITABLE])
    assert [h.label for h in search(past, spelling_of(old), layers=[EDITABLE])] == [old]


def spelling_of(name: str) -> str:
    """The first full pinyin of ``name``."""
    return keys(name)[0].split()[0]
