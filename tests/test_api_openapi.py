"""The OpenAPI 3.0 document at /api: valid, complete for the OGC operations, served with the
media type the landing page announces, and /api.html still renders it."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

ITEMS = "/collections/{collectionId}/items"
MEDIA = "application/vnd.oai.openapi+json;version=3.0"


@pytest.fixture(scope="module")
def api(client) -> dict:  # noqa: ANN001
    response = client.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA
    return response.json()


def _param(doc: dict, param: dict) -> dict:
    ref = param.get("$ref")
    if ref:
        return doc["components"]["parameters"][ref.rsplit("/", 1)[1]]
    return param


def test_document_is_valid_openapi_30(api):
    assert api["openapi"] == "3.0.3"
    validate(api)


def test_landing_announces_the_document_type(client):
    links = client.get("/").json()["links"]
    desc = [link for link in links if link["rel"] == "service-desc"]
    assert desc and desc[0]["type"] == MEDIA


def test_items_declares_every_ogc_parameter(api, settings):
    operation = api["paths"][ITEMS]["get"]
    params = {p["name"]: p for p in (_param(api, q) for q in operation["parameters"])}
    expected = {
        "collectionId", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter",
        "filter-lang", "filter-crs", "properties", "sortby", "after", "f",
    }  # fmt: skip
    assert expected <= set(params)
    assert params["collectionId"]["in"] == "path"
    limit = params["limit"]["schema"]
    assert limit["default"] == settings.items_default_limit
    assert limit["minimum"] == 1 and limit["maximum"] == settings.items_max_limit
    assert set(params["filter-lang"]["schema"]["enum"]) == {"cql2-text", "cql2-json"}
    assert "/collections/{collectionId}/items/{featureId}" in api["paths"]
    assert not any("{collection_id}" in path for path in api["paths"])


def test_every_operation_declares_its_responses(api):
    problem = "#/components/schemas/Problem"
    for path, item in api["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert responses["default"]["content"]["application/problem+json"]["schema"] == {
                "$ref": problem
            }, (path, method)
            ok = [s for s in responses if s.startswith("2")]
            assert ok, (path, method)
            for status in ok:
                for media, body in responses[status].get("content", {}).items():
                    assert body.get("schema"), (path, method, status, media)


def test_collection_paths_list_their_queryables(client, api, planner_key):
    hydrants = api["paths"]["/collections/cambridge__hydrants/items"]["get"]
    names = {_param(api, p)["name"] for p in hydrants["parameters"]}
    assert "hydrant_id" in names and "limit" in names and "collectionId" not in names
    assert "/collections/cambridge__utility_poles/items" not in api["paths"]  # internal
    planner = client.get("/api", headers={"X-API-Key": planner_key}).json()
    assert "/collections/cambridge__utility_poles/items" in planner["paths"]


def test_swagger_page_renders(client):
    page = client.get("/api.html")
    assert page.status_code == 200 and "swagger" in page.text.lower() and "/api" in page.text


def test_tile_paths_use_ogc_names(api):
    tile = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}"
    responses = api["paths"][tile]["get"]["responses"]
    assert {"200", "204"} <= set(responses)
    assert "application/vnd.mapbox-vector-tile" in responses["200"]["content"]
    assert not any("{z}" in path for path in api["paths"])
