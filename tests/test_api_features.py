"""OGC API – Features on the demo data: every parameter, checked against geopandas on the sources."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit

import geopandas as gpd
import pytest
import shapely

from tests.conftest import SHARED_DATA

BLOCKS = "/collections/cambridge__census_blocks_2000"
PARCELS = "/collections/cambridge__parcels"
ZONING = "/collections/cambridge__zoning_districts"
HYDRANTS = "/collections/cambridge__hydrants"
BOX = (-71.115, 42.365, -71.095, 42.375)


@pytest.fixture(scope="module")
def blocks_src() -> gpd.GeoDataFrame:
    return gpd.read_file(SHARED_DATA / "cambridge_ma/DEMOGRAPHICS_Blocks2000.geojson")


def matched(client, path, **params) -> int:
    response = client.get(f"{path}/items", params={"limit": 1, **params})
    assert response.status_code == 200, response.text
    return response.json()["numberMatched"]


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def test_landing_conformance_and_openapi(client):
    landing = client.get("/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"service-desc", "conformance", "data"} <= rels
    conforms = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conforms
    api = client.get("/api").json()
    assert api["openapi"].startswith("3.") and "/collections/{collectionId}/items" in api["paths"]
    assert "<html" in client.get("/", params={"f": "html"}).text


def test_collections_list_only_public_layers_for_anonymous(client, catalog):
    ids = {c["id"] for c in client.get("/collections").json()["collections"]}
    assert "cambridge__parcels" in ids and "xiamen__districts" in ids
    hidden = {f"{layer.city}__{layer.id}" for layer in catalog if layer.access != "public"}
    assert hidden and not ids & hidden


def test_collection_document(client):
    doc = client.get(PARCELS, params={"lang": "zh"}).json()
    assert doc["title"].startswith("地块")
    minx, miny, maxx, maxy = doc["extent"]["spatial"]["bbox"][0]
    assert -71.17 < minx < maxx < -71.05 and 42.34 < miny < maxy < 42.41
    assert "http://www.opengis.net/def/crs/EPSG/0/26986" in doc["crs"]
    legend = {e["code"]: e for e in doc["legend"]["entries"]}
    assert legend["07"]["colour"].startswith("#") and doc["legend"]["field"] == "landuse_l1"
    english = client.get(PARCELS, headers={"Accept-Language": "en-US,en"}).json()
    assert english["title"].startswith("Parcels")


def test_bbox_count_matches_geopandas(client, blocks_src):
    expected = int(blocks_src.intersects(shapely.box(*BOX)).sum())
    assert matched(client, BLOCKS, bbox=",".join(map(str, BOX))) == expected > 20


def test_bbox_crs_latlon_axis_order(client):
    crs84 = matched(client, BLOCKS, bbox=",".join(map(str, BOX)))
    latlon = ",".join(map(str, (BOX[1], BOX[0], BOX[3], BOX[2])))
    assert (
        matched(
            client,
            BLOCKS,
            bbox=latlon,
            **{"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
        )
        == crs84
    )


def test_cql2_text_filters_match_pandas(client, blocks_src):
    assert matched(client, BLOCKS, filter="population > 200") == int(
        (blocks_src.POP_LAB > 200).sum()
    )
    assert matched(client, BLOCKS, filter="population BETWEEN 50 AND 100") == int(
        blocks_src.POP_LAB.between(50, 100).sum()
    )
    poly = shapely.box(*BOX)
    both = int(((blocks_src.POP_LAB >= 100) & blocks_src.intersects(poly)).sum())
    assert (
        matched(client, BLOCKS, filter=f"population >= 100 AND S_INTERSECTS(geometry, {poly.wkt})")
        == both
    )
    zones = gpd.read_file(SHARED_DATA / "cambridge_ma/CDD_ZoningDistricts.geojson")
    expected = int(zones.ZONE_TYPE.str.startswith("C-").sum())
    assert matched(client, ZONING, filter="zone_code LIKE 'C-%'") == expected
    assert matched(client, ZONING, filter="zone_code IN ('C-1', 'B')") == int(
        zones.ZONE_TYPE.isin(["C-1", "B"]).sum()
    )
    assert matched(client, ZONING, filter="NOT zone_code LIKE 'C-%'") == len(zones) - expected


def test_cql2_json_equals_text(client):
    text = matched(client, BLOCKS, filter="population > 150 OR population IS NULL")
    cql_json = json.dumps(
        {
            "op": "or",
            "args": [
                {"op": ">", "args": [{"property": "population"}, 150]},
                {"op": "isNull", "args": [{"property": "population"}]},
            ],
        }
    )
    assert matched(client, BLOCKS, filter=cql_json, **{"filter-lang": "cql2-json"}) == text


def test_cql2_arithmetic_far_filter(client, engine):
    import sqlalchemy as sa

    with engine.connect() as conn:
        expected = conn.execute(
            sa.text(
                "SELECT count(*) FROM cambridge.parcels WHERE gross_area_sqft / nullif(land_area_sqft, 0) > 2"
            )
        ).scalar_one()
    assert matched(client, PARCELS, filter="gross_area_sqft / land_area_sqft > 2") == expected > 100


def test_temporal_filter_and_datetime(client):
    source = json.loads((SHARED_DATA / "cambridge_ma/INFRA_Hydrants.geojson").read_text())
    dates = [f["properties"].get("INSTALLDATE") for f in source["features"]]
    cutoff = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp() * 1000
    after = sum(1 for d in dates if d is not None and d >= cutoff + 86_400_000)
    assert matched(client, HYDRANTS, filter="T_AFTER(install_date, DATE('2000-01-01'))") == after
    since = sum(1 for d in dates if d is not None and d >= cutoff)
    assert matched(client, HYDRANTS, datetime="2000-01-01T00:00:00Z/..") == since


def test_paging_links_and_offset(client):
    first = client.get(f"{BLOCKS}/items", params={"limit": 100}).json()
    assert first["numberReturned"] == 100 and first["numberMatched"] == 886
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(next_link.replace("http://testserver", "")).json()
    assert {f["id"] for f in first["features"]}.isdisjoint({f["id"] for f in second["features"]})
    # `next` pages by key (after the last id): no `prev` there; offset pages keep theirs
    assert not any(link["rel"] == "prev" for link in second["links"])
    last = client.get(f"{BLOCKS}/items", params={"limit": 100, "offset": 800}).json()
    assert last["numberReturned"] == 86 and not any(lk["rel"] == "next" for lk in last["links"])
    assert any(link["rel"] == "prev" for link in last["links"])


def test_properties_and_sortby(client):
    page = client.get(
        f"{BLOCKS}/items", params={"limit": 5, "sortby": "-population", "properties": "population"}
    ).json()
    values = [f["properties"]["population"] for f in page["features"]]
    assert values == sorted(values, reverse=True)
    assert all(set(f["properties"]) == {"population"} for f in page["features"])


def test_output_crs_and_content_crs_header(client):
    fid = client.get(f"{BLOCKS}/items", params={"limit": 1}).json()["features"][0]["id"]
    assert fid > 250_000_000_000_000  # the block's FIPS code is its stable feature id
    response = client.get(
        f"{BLOCKS}/items/{fid}", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/26986"}
    )
    assert response.status_code == 200
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/26986>"
    x, y = response.json()["geometry"]["coordinates"][0][0][0]
    assert 220_000 < x < 240_000 and 890_000 < y < 910_000  # Massachusetts Mainland metres
    latlon = client.get(
        f"{BLOCKS}/items/{fid}", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    )
    lat, lon = latlon.json()["geometry"]["coordinates"][0][0][0]
    assert 42.3 < lat < 42.45 and -71.2 < lon < -71.0


def test_csv_and_html_outputs(client, catalog):
    csv_text = client.get(f"{BLOCKS}/items", params={"f": "csv", "limit": 3}).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,wkt,") and len(lines) == 4
    html = client.get(f"{BLOCKS}/items", headers={"Accept": "text/html"}).text
    field = next(f for f in catalog.layer("cambridge", "census_blocks_2000").fields
                 if f.name == "population")  # fmt: skip
    assert "<table>" in html and f"<th>{field.title.en} (persons)</th>" in html


def test_single_feature_and_unknown_feature(client):
    feature = client.get(f"{PARCELS}/items/13").json()
    assert feature["properties"]["ml"] == "113-27" and feature["id"] == 13
    problem(client.get(f"{PARCELS}/items/99999999"), 404)
    problem(client.get(f"{PARCELS}/items/abc"), 404)
    problem(client.get("/collections/cambridge__nope/items"), 404)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "10,10,0,0"}, "bbox"),
        ({"filter": "population >"}, "filter"),
        ({"filter": "nosuchfield = 1"}, "nosuchfield"),
        ({"filter": "population = 'many'"}, "compare"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "JSON"),
        ({"filter-lang": "sql", "filter": "1=1"}, "filter-lang"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"crs": "EPSG:999999"}, "CRS"),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/2000"}, "not offered"),
        ({"properties": "nosuch"}, "nosuch"),
        ({"sortby": "nosuch"}, "nosuch"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"unknownparam": "1"}, "unknownparam"),
        ({"f": "xml"}, "f must be"),
    ],
)
def test_bad_parameters_are_400_problems(client, params, fragment):
    body = problem(client.get(f"{BLOCKS}/items", params=params), 400)
    assert fragment.lower() in body["detail"].lower()


def test_internal_layers_hidden_from_anonymous_on_every_endpoint(client, planner_key):
    poles = "/collections/cambridge__utility_poles"
    for path in (
        poles,
        f"{poles}/items",
        f"{poles}/items/1",
        f"{poles}/queryables",
        f"{poles}/sortables",
        f"{poles}/schema",
        f"{poles}/schema/geojson",
    ):
        problem(client.get(path), 404)
        assert (
            client.get(path, headers={"Authorization": f"Bearer {planner_key}"}).status_code == 200
        )
    problem(client.get(poles, headers={"X-API-Key": "dc_wrong"}), 401)


def test_internal_fields_hidden_from_anonymous(client, planner_key):
    anonymous = client.get(f"{PARCELS}/items/13").json()["properties"]
    assert "total_value" not in anonymous and "land_value" not in anonymous
    assert "total_value" not in client.get(f"{PARCELS}/queryables").json()["properties"]
    problem(client.get(f"{PARCELS}/items", params={"filter": "total_value > 0"}), 400)
    problem(client.get(f"{PARCELS}/items", params={"properties": "total_value"}), 400)
    keyed = client.get(f"{PARCELS}/items/13", headers={"X-API-Key": planner_key}).json()
    assert keyed["properties"]["total_value"] > 0


def test_feature_schemas_list_the_fields_the_caller_may_read(client, planner_key):
    """Two JSON Schemas of a collection's features, internal fields for keyed callers only:
    OGC API - Features Part 5's flat one (``schema``, its conformance class declared, as
    QGIS 3.44+ requires before reading it; roles, order, read-only fields) and a GeoJSON
    feature's (``describedBy``, which GDAL 3.6 reads)."""
    links = {x["rel"]: x for x in client.get(PARCELS).json()["links"]}
    conforms = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas" in conforms
    flat_link = links["http://www.opengis.net/def/rel/ogc/1.0/schema"]
    nested_link = links["describedBy"]
    assert flat_link["href"].endswith(f"{PARCELS}/schema")
    assert nested_link["href"].endswith(f"{PARCELS}/schema/geojson")
    feature = client.get(f"{PARCELS}/items/13").json()
    for link in (flat_link, nested_link):
        assert link["type"] == "application/schema+json"
        answer = client.get(urlsplit(link["href"]).path)
        assert answer.headers["content-type"].startswith("application/schema+json")
    flat = client.get(f"{PARCELS}/schema").json()["properties"]
    assert list(flat) == ["geometry", "id", *feature["properties"]]
    assert flat["geometry"]["x-ogc-role"] == "primary-geometry"
    assert (
        flat["geometry"]["format"] == "geometry-multipolygon" and flat["id"]["x-ogc-role"] == "id"
    )
    assert [v["x-ogc-propertySeq"] for v in flat.values()] == list(range(1, len(flat) + 1))
    assert flat["land_area_sqft"]["type"] == "number" and flat["land_area_sqft"]["readOnly"]
    nested = client.get(f"{PARCELS}/schema/geojson").json()
    assert nested["properties"]["type"]["enum"] == ["Feature"]
    fields = nested["properties"]["properties"]["properties"]
    assert list(fields) == list(feature["properties"]) and "total_value" not in fields
    assert fields["land_area_sqft"]["type"] == "number"
    keyed = {"X-API-Key": planner_key}
    assert client.get(f"{PARCELS}/schema", headers=keyed).json()["properties"]["total_value"]
    keyed_nested = client.get(f"{PARCELS}/schema/geojson", headers=keyed).json()
    assert keyed_nested["properties"]["properties"]["properties"]["total_value"]["type"] == "number"
    for path in (
        "/collections/nowhere__nothing/schema",
        "/collections/nowhere__nothing/schema/geojson",
    ):
        problem(client.get(path), 404)


def test_queryables_schema(client):
    schema = client.get(f"{BLOCKS}/queryables").json()
    assert schema["properties"]["population"]["type"] == "integer"
    assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"


def test_property_equality_query_parameter(client, blocks_src):
    block = blocks_src.iloc[0]
    assert matched(client, BLOCKS, block_id=block.STFID) == 1


def test_large_pages_stream_and_match_small_pages(client):
    big = client.get(f"{PARCELS}/items", params={"limit": 5000, "properties": "ml"}).json()
    assert big["numberReturned"] == 5000 and big["numberMatched"] == 13116
    assert any(link["rel"] == "next" for link in big["links"])
    small = client.get(f"{PARCELS}/items", params={"limit": 1000, "properties": "ml"}).json()
    assert [f["id"] for f in big["features"][:1000]] == [f["id"] for f in small["features"]]


def _feature_texts(body: str) -> list[str]:
    """The features of a page exactly as written: the text of each, split at the top level."""
    array = body[body.index('"features":[') + len('"features":[') :]
    texts, depth, start, quoted, escaped = [], 0, 0, False, False
    for i, char in enumerate(array):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            if depth == 0:
                return texts
            depth -= 1
            if depth == 0:
                texts.append(array[start : i + 1].lstrip(","))
                start = i + 1
    raise AssertionError("unterminated features array")


def test_streamed_and_buffered_pages_write_the_same_features(client):
    """A page above ``items_stream_above`` (2,000) goes out as the database yields it, a
    smaller one gzipped whole: the same feature texts, byte for byte, on a first page (nulls
    listed) and on a page by key (nulls left out)."""
    sparse = "/collections/cambridge__street_centerlines/items"
    for params in ({}, {"after": 40}):
        streamed = client.get(sparse, params={**params, "limit": 2500})
        assert "content-length" not in streamed.headers  # sent as produced
        whole = _feature_texts(streamed.text)
        first = client.get(sparse, params={**params, "limit": 1250})
        rest = client.get(
            sparse, params={"after": json.loads(first.text)["features"][-1]["id"], "limit": 1250}
        )
        buffered = _feature_texts(first.text) + _feature_texts(rest.text)
        assert len(whole) == 2500
        assert json.loads(whole[0])["id"] > params.get("after", 0)
        if params:  # a page by key: both by key, both without nulls
            assert whole == buffered
        else:  # the streamed first page lists nulls, as the first buffered page does
            assert whole[:1250] == _feature_texts(first.text)
            assert "null" in "".join(whole[:1250])


def test_page_cache_etag_and_reload_invalidation(client, catalog, engine, settings):
    from digitalcity.ingest import load_layer

    url = f"{BLOCKS}/items"
    first = client.get(url, params={"limit": 3})
    etag = first.headers["etag"]
    assert client.get(url, params={"limit": 3}, headers={"If-None-Match": etag}).status_code == 304
    load_layer(
        catalog.layer("cambridge", "census_blocks_2000"),
        catalog.city("cambridge"),
        engine,
        settings,
        force=True,
    )
    client.app.state.layers.versions.load(engine)  # what the LISTEN thread does on NOTIFY
    after = client.get(url, params={"limit": 3})
    assert after.headers["etag"] != etag
    assert after.json()["features"] == first.json()["features"]
