"""Search that finds what people mean: real queries against the demo cities, each with the
first hit a person expects (layer and label), street segments merged, layer titles in zh and
en, never a "None" label."""

from __future__ import annotations

import pytest

# (city, query, expected first hit's layer, text its label must contain)
QUERIES = [
    ("cambridge", "maple", "street_centerlines", "Maple Ave"),
    ("cambridge", "38 maple", "parcels", "38 MAPLE AVE"),
    ("cambridge", "Harvard", "subway_stations", "HARVARD"),
    ("cambridge", "Massachusetts Ave", "street_centerlines", "Massachusetts Ave"),
    ("cambridge", "Main St", "street_centerlines", "Main St"),
    ("cambridge", "Broadway", "street_centerlines", "Broadway"),
    ("cambridge", "Porter", "subway_stations", "PORTER"),
    ("cambridge", "Cambridgeport", "neighbourhoods", "Cambridgeport"),
    ("cambridge", "Mount Auburn Hospital", "hospitals", "Mount Auburn Hospital"),
    ("cambridge", "Central Square Branch Library", "libraries", "Central Square Branch Library"),
    ("cambridge", "C-1", "zoning_districts", "C-1"),
    ("xiamen", "思明", "districts", "思明区"),
    ("xiamen", "湖里", "districts", "湖里区"),
    ("beijing", "海淀", "districts", "海淀区"),
    ("shanghai", "浦东", "districts", "浦东新区"),
]
FURNITURE = {"street_lights", "utility_poles", "hydrants", "bus_shelters"}


@pytest.mark.parametrize(("city", "q", "layer", "label"), QUERIES)
def test_first_hit_is_what_people_mean(client, city: str, q: str, layer: str, label: str) -> None:  # noqa: ANN001
    hits = client.get(f"/cities/{city}/search", params={"q": q, "limit": 10}).json()["hits"]
    assert hits, q
    first = hits[0]
    assert (first["layer"], label in first["label"]) == (layer, True), [
        (h["layer"], h["label"]) for h in hits[:4]
    ]
    assert not {h["layer"] for h in hits[:3]} & FURNITURE, q


def test_a_street_is_one_result_over_its_whole_extent(client) -> None:  # noqa: ANN001
    hits = client.get("/cities/cambridge/search", params={"q": "Massachusetts Ave"}).json()["hits"]
    streets = [
        h for h in hits if h["layer"] == "street_centerlines" and h["label"] == "Massachusetts Ave"
    ]
    assert len(streets) == 1
    street = streets[0]
    assert street["parts"] > 10
    west, south, east, north = street["bbox"]
    assert east - west > 0.03 and north - south > 0.02  # Harvard Bridge to Arlington


def test_results_grouped_by_layer_with_titles_and_no_none(client) -> None:  # noqa: ANN001
    body = client.get("/cities/cambridge/search", params={"q": "Harvard", "limit": 20}).json()
    assert all(h["label"] and h["label"] != "None" for h in body["hits"])
    groups = body["groups"]
    assert [g["layer"] for g in groups] == list(dict.fromkeys(h["layer"] for h in body["hits"]))
    for group in groups:
        assert (
            group["title"]["zh"] and group["title"]["en"] and group["title"]["en"] != group["layer"]
        )
        assert all(h["layer"] == group["layer"] for h in group["hits"])


def test_like_wildcards_in_a_query_are_literal(client) -> None:  # noqa: ANN001
    """``_`` and ``%`` are text, not LIKE wildcards: "a_b" finds only values holding "a_b"
    (unescaped, "a_b" would match any "a?b": "cab", "harvard"…) and "%" nothing at all."""
    hits = client.get("/cities/cambridge/search", params={"q": "a_b", "limit": 50}).json()["hits"]
    assert hits
    substring = [h for h in hits if h["score"] >= 0.6]
    assert substring and all("a_b" in h["value"].lower() for h in substring), [
        h["value"] for h in substring
    ]
    none = client.get("/cities/cambridge/search", params={"q": "%", "limit": 50}).json()["hits"]
    assert none == []


def test_a_layer_defined_but_not_loaded_yet_is_left_out(settings, catalog, loaded) -> None:  # noqa: ANN001
    """A definition added (and its definitions reloaded) before its data is loaded has no
    table: search read every searchable layer of the city, so it answered 500 to everyone,
    now and as of any date, until the layer was loaded."""
    from fastapi.testclient import TestClient

    from digitalcity.api import create_app
    from digitalcity.api.reload import Definitions, install
    from digitalcity.catalog.model import LayerDef

    app = create_app(settings)
    data = catalog.layer("cambridge", "fire_stations").model_dump(mode="python", exclude_none=True)
    unloaded = LayerDef.model_validate({**data, "id": "new_fire_stations"})
    assert unloaded.search_fields
    with TestClient(app, raise_server_exceptions=False) as client:
        before = client.get("/cities/cambridge/search", params={"q": "Harvard"}).json()
        defs = app.state.definitions
        install(app, Definitions(catalog.with_layer(unloaded), defs.codes, defs.descriptions))
        for params in ({"q": "Harvard"}, {"q": "Harvard", "as-of": "2026-12-01T00:00:00Z"}):
            response = client.get("/cities/cambridge/search", params=params)
            assert response.status_code == 200, response.text
        assert client.get("/cities/cambridge/search", params={"q": "Harvard"}).json() == before


def test_coordinates_typed_are_a_place_first(client) -> None:  # noqa: ANN001
    """坐标定位: a pair of coordinates comes back first as a hit of kind "coordinates" with the
    point in lon/lat and what was read (CRS, axes); identifying there finds the parcel at it
    (38 Maple Ave, typed in Massachusetts Mainland metres). Feature hits say their kind."""
    import pyproj

    lonlat = (-71.1039, 42.37295)
    east, north = pyproj.Transformer.from_crs(4326, 26986, always_xy=True).transform(*lonlat)
    body = client.get(
        "/cities/cambridge/search", params={"q": f"{east:.2f}, {north:.2f}", "lang": "en"}
    ).json()
    first = body["hits"][0]
    assert first["kind"] == "coordinates" and first["crs"] == "EPSG:26986"
    assert first["label"] == f"X {east:.2f}, Y {north:.2f}"
    assert first["layer_title"]["en"] == "Coordinates · NAD83 / Massachusetts Mainland"
    assert first["layer_title"]["zh"] == "坐标 · EPSG:26986"
    assert abs(first["lon"] - lonlat[0]) < 1e-6 and abs(first["lat"] - lonlat[1]) < 1e-6
    assert all(g["layer"] for g in body["groups"])  # groups hold features only
    card = client.get(
        "/cities/cambridge/identify", params={"lon": first["lon"], "lat": first["lat"]}
    ).json()
    assert card["label"] == "38 MAPLE AVE"
    words = client.get("/cities/cambridge/search", params={"q": "38 maple"}).json()["hits"]
    assert words and {h["kind"] for h in words} == {"feature"}
    elsewhere = client.get("/cities/cambridge/search", params={"q": "118.0894, 24.4798"})
    assert all(h["kind"] == "feature" for h in elsewhere.json()["hits"])


def test_lon_lat_in_a_chinese_city_is_offered_as_each_map_app_writes_it(client) -> None:  # noqa: ANN001
    """In Xiamen a lon/lat pair is a place in WGS 84 (first: picked at once), then as Amap's
    and Tencent's GCJ-02 and Baidu's BD-09 would have it, each hit saying which in zh and en."""
    hits = client.get("/cities/xiamen/search", params={"q": "118.0894, 24.4798"}).json()["hits"]
    placed = [h for h in hits if h["kind"] == "coordinates"]
    assert [h["crs"] for h in placed] == ["EPSG:4326", "GCJ-02", "BD-09"]
    assert hits[: len(placed)] == placed
    assert placed[1]["layer_title"] == {
        "zh": "经纬度 · GCJ-02（高德、腾讯地图）",
        "en": "Longitude, latitude · GCJ-02 (Amap, Tencent Maps)",
    }
    assert placed[1]["label"] == "118.089400, 24.479800"
    # the place Amap means lies 300-800 m from the same numbers read as WGS 84
    from pyproj import Geod

    apart = Geod(ellps="WGS84").inv(
        placed[0]["lon"], placed[0]["lat"], placed[1]["lon"], placed[1]["lat"]
    )[2]
    assert 300 < apart < 800, apart


def test_a_statement_is_built_once_per_shape_and_the_query_is_bound(
    catalog, engine, loaded
) -> None:  # noqa: ANN001
    """The union of every searchable field's branch is compiled once per shape (city, role,
    language, limit, layers, catalog) and reused with the query bound: the same hits as a
    statement built afresh, and text that looks like SQL or a placeholder is only text."""
    from digitalcity import search as module
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "anonymous")
    for q in ("Harvard", "38 maple", "a_b", "o'brien", "%(needle)s", "50%", "x' OR '1'='1"):
        module._STATEMENTS.clear()
        cached = module.search(city, q)
        assert _shapes() == 1, q
        module._STATEMENTS.clear()
        assert module.search(city, q) == cached, q
    # queries of as many words tested in any order (``search.query_words``) share one shape
    for same in (("Harvard", "a_b", "50%", "main st 12"), ("ave mass", "maple ave", "oak street")):
        module._STATEMENTS.clear()
        for q in same:
            module.search(city, q)
        assert _shapes() == 1, same
    for text in ("%(needle)s", "x' OR '1'='1"):  # fuzzy neighbours at most, never everything
        assert all(h.score < 0.6 for h in module.search(city, text, limit=100)), text

    module._STATEMENTS.clear()
    module.search(city, "Harvard")
    others = [
        (City(catalog, catalog.city("cambridge"), engine, "land_bureau"), {}),
        (city, {"lang": "en"}),
        (city, {"limit": 3}),
        (city, {"layers": ["parcels"]}),
        (City(catalog.with_layer(catalog.layer("cambridge", "parcels")), city.definition,
              engine, "anonymous"), {}),
    ]  # fmt: skip
    for n, (other, options) in enumerate(others, start=2):
        module.search(other, "Harvard", **options)
        assert _shapes() == n, options


def _shapes() -> int:
    """Search statements built (one per shape; each compiled once per set of branches)."""
    from digitalcity import search as module

    return sum(key[0] == "branches" for key in module._STATEMENTS)


# Queries for the two steps of a big layer's fuzzy arm (``search.FIRST_PASS``): addresses and
# ids as typed, typos, words out of order, short and common ones, Chinese and pinyin
STEP_QUERIES = [
    *((city, q) for city, q, _, _ in QUERIES),
    ("cambridge", "main st 12"),
    ("cambridge", "harvrd st"),
    ("cambridge", "massachussets av"),
    ("cambridge", "ave mass"),
    ("cambridge", "1 brattle"),
    ("cambridge", "st"),
    ("cambridge", "10"),
    ("cambridge", "central sq"),
    ("cambridge", "kendal"),
    ("cambridge", "163-15"),
    ("xiamen", "siming"),
    ("xiamen", "厦门"),
    ("shanghai", "pd"),
    ("beijing", "朝阳区"),
]


@pytest.mark.parametrize("limit", [1, 10, 50])
def test_big_layers_searched_in_two_steps_give_the_hits_of_one(
    catalog, engine, loaded, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:  # noqa: ANN001
    """Every layer taken as big (its fields' close fuzzy matches asked first, the others only
    for fields that found too few) gives exactly the hits of one step: the same features,
    order, scores and merged extents. And the first step is enough for some fields."""
    from digitalcity import search as module
    from digitalcity.city import City

    settled_somewhere = False
    for city_id, q in STEP_QUERIES:
        for role in ("anonymous", "land_bureau"):
            city = City(catalog, catalog.city(city_id), engine, role)
            monkeypatch.setattr(module, "BIG_LAYER_ROWS", 10**12)
            one_step = module.search(city, q, limit=limit)
            monkeypatch.setattr(module, "BIG_LAYER_ROWS", 1)
            two_steps, statements = _statements_run(
                city, lambda c=city, q=q: module.search(c, q, limit=limit)
            )
            assert two_steps == one_step, (city_id, q, role)
            steps = [s for s in statements if "UNION ALL" in s or "similarity(" in s]
            assert len(steps) in (1, 2), (city_id, q)
            settled_somewhere |= len(steps) == 2 and steps[1].count("UNION ALL") < steps[0].count(
                "UNION ALL"
            )
    assert settled_somewhere


def _statements_run(city, call) -> tuple[object, list[str]]:  # noqa: ANN001
    """What ``call()`` returns, and the SQL statements it runs on ``city``'s engine."""
    import sqlalchemy as sa

    seen: list[str] = []

    def record(conn, cursor, statement, *_):  # noqa: ANN001, ANN002, ANN202
        seen.append(statement)

    sa.event.listen(city.engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        sa.event.remove(city.engine, "before_cursor_execute", record)
    return result, seen


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("ave mass", ["ave", "mass"]),
        ("Harvard", []),  # one word: the substring arm tests it
        ("main st 12", []),  # "st" and "12" have no trigram: one word left
        ("main,street", ["main", "street"]),
        ("oak oak", []),  # one word, twice
        ("ave mass cambridge 1000 north", ["mass", "cambridge", "1000", "north"]),  # 4 longest
        ("思明 区", []),
    ],
)
def test_the_words_tested_in_any_order(q: str, words: list[str]) -> None:
    from digitalcity.search import query_words

    assert query_words(q) == words


def test_words_out_of_order_find_what_holds_them_all(client) -> None:  # noqa: ANN001
    """"ave mass" is Massachusetts Ave typed backwards: the hits that hold both words come
    first (by trigram similarity alone they were Max Ave, Manassas Ave, Maple Ave…)."""
    hits = client.get("/cities/cambridge/search", params={"q": "ave mass", "limit": 10}).json()
    values = [h["value"].lower() for h in hits["hits"][:6]]
    assert all("ave" in v and "mass" in v for v in values), values


def test_words_out_of_order_settle_a_big_layers_field_in_the_first_step(
    catalog, engine, loaded, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """Every word in any order scores above ``search.FIRST_PASS``, so the parcels' addresses
    (the layer taken as big) have their hits for "ave mass" from the first step: only the
    map-lot field, which has none, is asked again (before, both were, and over 1.3 million
    SYNTHETIC addresses the second step rechecked most of them: ``bench.search``)."""
    from digitalcity import search as module
    from digitalcity.city import City

    city = City(catalog, catalog.city("cambridge"), engine, "land_bureau")
    monkeypatch.setattr(module, "BIG_LAYER_ROWS", 1)
    hits, statements = _statements_run(
        city, lambda: module.search(city, "ave mass", layers=["parcels"], limit=10)
    )
    steps = [s for s in statements if "similarity(" in s]
    assert [s.count("UNION ALL") for s in steps] == [1, 0]  # address and map-lot; map-lot
    assert hits and all("ave" in h.value.lower() and "mass" in h.value.lower() for h in hits)


def test_an_id_or_number_is_matched_by_nearly_its_characters(client) -> None:  # noqa: ANN001
    """A query without letters (``search.is_letterless``) is an id or a number: it finds the
    values holding it, and fuzzily only values of nearly its characters ("163 15" finds the
    street light 163-15), never an address sharing a "15" (at 0.3 "163-15" listed 5 BREWER ST
    and 112 MT AUBURN ST after its one hit)."""

    def hits(q: str) -> list[dict]:
        return client.get("/cities/cambridge/search", params={"q": q, "limit": 10}).json()["hits"]

    for q in ("163-15", "163 15"):
        found = hits(q)
        assert found and found[0]["value"] == "163-15", (q, found[:3])
        assert all("163-15" in h["value"] or h["score"] >= 0.8 for h in found), found
    numbers = hits("4999")
    assert numbers and all("4999" in h["value"] for h in numbers), numbers
    assert hits("02139") == []  # no hydrant "2139" by three shared trigrams
