"""API keys never leak: not into links, pages or cached bodies; revocation is immediate on
every worker; invalid keys are refused on every route; keyed answers stay private."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from digitalcity.db.keys import create_key, list_keys, revoke_key

PARCELS = "/collections/cambridge__parcels/items"
BBOX = "-71.11,42.37,-71.10,42.375"


@pytest.fixture(scope="module")
def two_planners(engine, loaded) -> tuple[str, str]:  # noqa: ANN001
    return create_key(engine, "planner", "keys-a").key, create_key(engine, "planner", "keys-b").key


def test_query_key_never_written_into_links(client, two_planners) -> None:  # noqa: ANN001
    key_a, _ = two_planners
    for params in (
        {"bbox": BBOX, "limit": 5, "api_key": key_a},
        {"bbox": BBOX, "limit": 5, "api_key": key_a, "f": "html"},
        {"bbox": BBOX, "limit": 5, "api_key": key_a, "offset": 5},
    ):
        response = client.get(PARCELS, params=params)
        assert response.status_code == 200, response.text
        assert key_a not in response.text
        if params.get("f") != "html":
            rels = {link["rel"] for link in response.json()["links"]}
            assert {"self", "next", "alternate"} <= rels
    tilejson = client.get("/tiles/cambridge/tilejson.json", params={"api_key": key_a})
    assert tilejson.status_code == 200 and key_a not in tilejson.text


def test_cached_page_never_carries_another_callers_key(client, two_planners) -> None:  # noqa: ANN001
    key_a, key_b = two_planners
    params = {"bbox": "-71.105,42.372,-71.1,42.374", "limit": 7}
    first = client.get(PARCELS, params={**params, "api_key": key_a})
    assert first.status_code == 200
    # The same page for planner B, by header: served from the page cache (same role).
    second = client.get(PARCELS, params=params, headers={"X-API-Key": key_b})
    assert second.status_code == 200
    assert second.json()["features"] == first.json()["features"]
    assert key_a not in second.text and key_b not in second.text
    assert key_a not in first.text
    # And the anonymous caller gets neither key, nor the planner's fields.
    anonymous = client.get(PARCELS, params=params)
    assert key_a not in anonymous.text and key_b not in anonymous.text
    hidden = set(first.json()["features"][0]["properties"]) - set(
        anonymous.json()["features"][0]["properties"]
    )
    assert hidden, "the planner sees internal fields the anonymous caller does not"


def test_revocation_takes_effect_at_once_on_every_worker(app, settings, engine) -> None:  # noqa: ANN001
    from digitalcity.api import create_app

    new = create_key(engine, "planner", "keys-revoked")
    headers = {"Authorization": f"Bearer {new.key}"}
    poles = "/collections/cambridge__utility_poles"
    with TestClient(app) as worker_1, TestClient(create_app(settings)) as worker_2:
        assert worker_1.get(poles, headers=headers).status_code == 200
        assert worker_2.get(poles, headers=headers).status_code == 200
        assert revoke_key(engine, new.id)
        assert worker_1.get(poles, headers=headers).status_code == 401
        assert worker_2.get(poles, headers=headers).status_code == 401
    assert any(k["id"] == new.id and k["revoked_at"] for k in list_keys(engine))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/cities",
        "/cities/cambridge",
        "/map",
        "/public",
        "/api",
        "/static/js/common.js",
        "/collections",
        "/tiles/cambridge/tilejson.json",
        "/styles/cambridge/legend",
        "/health",
    ],
)
def test_invalid_key_is_refused_on_every_route(client, path: str) -> None:  # noqa: ANN001
    for how in (
        {"headers": {"X-API-Key": "dc_not-a-key"}},
        {"headers": {"Authorization": "Bearer dc_not-a-key"}},
        {"params": {"api_key": "dc_not-a-key"}},
    ):
        response = client.get(path, **how)
        assert response.status_code == 401, (path, how, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/collections",
        "/collections/cambridge__parcels",
        "/cities/cambridge",
        "/tiles/cambridge/tilejson.json",
        "/styles/cambridge/legend",
        "/collections/cambridge__parcels/items/1",
        "/collections/cambridge__parcels/items?limit=3&f=csv",
        "/collections/cambridge__parcels/items?limit=3",
        "/tiles/cambridge/14/4956/6060",
    ],
)
def test_role_dependent_answers_are_private_and_vary_on_the_key(
    client, planner_key: str, path: str
) -> None:  # noqa: ANN001
    keyed = client.get(path, headers={"X-API-Key": planner_key})
    assert keyed.status_code in (200, 204), (path, keyed.status_code)
    control = keyed.headers["cache-control"].lower()
    assert "private" in control or "no-store" in control, (path, control)
    assert "public" not in control
    anonymous = client.get(path)
    for response in (keyed, anonymous):
        vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
        assert {"authorization", "x-api-key", "accept-encoding"} <= vary, (path, vary)
    assert "private" not in anonymous.headers.get("cache-control", "")
