"""The OpenAPI 3.0 document served at ``/api``: FastAPI's description of the routes,
downgraded to 3.0, with what the routes parse themselves (items parameters, ``f``, ``lang``),
the response schemas of the OGC documents and problems, and one items path per collection
the caller may see, listing its queryables as query parameters.

The per-collection paths are what GDAL's OAPIF driver reads to filter ``-where`` on the server
(it looks up ``/collections/<id>/items`` and takes each query parameter named like a field as a
queryable). Built once per role and set of loaded layers, then served from memory.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from digitalcity import __version__
from digitalcity.api import openapi_ogc as ogc
from digitalcity.api.negotiation import language, output_format
from digitalcity.api.openapi_30 import downgrade
from digitalcity.catalog import Role, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.query.items import queryables

MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
ITEMS = "/collections/{collectionId}/items"
FEATURE = "/collections/{collectionId}/items/{featureId}"
_LOCK = threading.Lock()
JSON_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int64"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


def _dependency_calls(route: APIRoute) -> set[Any]:
    calls, stack = set(), [route.dependant]
    while stack:
        dependant = stack.pop()
        calls.add(dependant.call)
        stack.extend(dependant.dependencies)
    return calls


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's API routes, also inside included routers (FastAPI ≥ 0.120 keeps those as
    router objects rather than copying their routes into the app)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes)


def _base(app: FastAPI) -> dict[str, Any]:
    """The role-independent part, cached on the app."""
    cached = getattr(app.state, "openapi_base", None)
    if cached is not None:
        return cached
    doc = downgrade(
        get_openapi(
            title=app.title,
            version=__version__,
            description=app.description,
            routes=app.routes,
        )
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(ogc.SCHEMAS)
    components["parameters"] = ogc.items_parameters(app.state.settings)
    components["securitySchemes"] = ogc.SECURITY_SCHEMES
    for route in _api_routes(app.routes):
        if route.include_in_schema:
            _complete(doc, route)
    app.state.openapi_base = doc
    return doc


def _complete(doc: dict[str, Any], route: APIRoute) -> None:
    """Parameters the route parses itself, responses FastAPI cannot infer, problems."""
    item = doc["paths"].get(route.path_format, {})
    calls = _dependency_calls(route)
    for method in (m.lower() for m in route.methods or ()):
        operation = item.get(method)
        if operation is None:
            continue
        params = operation.setdefault("parameters", [])
        declared = {p.get("name") for p in params}
        names: tuple[str, ...] = ()
        if route.path_format == ITEMS:
            names = ogc.ITEMS_PARAMETERS
        elif route.path_format == FEATURE:
            names = ogc.FEATURE_PARAMETERS
        else:
            names = tuple(
                name
                for name, call in (("f", output_format), ("lang", language))
                if call in calls and name not in declared
            )
        params.extend(ogc.parameter_refs(names))
        if not params:
            del operation["parameters"]
        responses = operation["responses"]
        responses.pop("422", None)
        responses.update(ogc.RESPONSES.get((route.path_format, method), {}))
        if route.path_format.endswith("{tileMatrix}/{tileCol}/{tileRow}"):
            responses.pop("200", None)
            responses.update(ogc.TILE_RESPONSES)
        for status, response in ogc.ERROR_RESPONSES.items():
            responses.setdefault(status, response)


def _collection_paths(app: FastAPI, base: dict[str, Any], role: Role) -> dict[str, Any]:
    """``/collections/<id>/items`` of each loaded layer ``role`` may see, with its queryables."""
    template = base["paths"][ITEMS]["get"]
    loaded = app.state.layers.current()
    paths: dict[str, Any] = {}
    for layer in app.state.catalog:
        if (layer.city, layer.id) not in loaded or not visible_layer(role, layer):
            continue
        cid = collection_id(layer)
        operation = copy.deepcopy(template)
        operation["operationId"] = f"items_{cid}"
        operation["summary"] = f"Features of {layer.title.en}"
        operation["parameters"] = [
            p for p in operation["parameters"] if p.get("name") != "collectionId"
        ] + [
            ogc.queryable_parameter(name, JSON_TYPES[f.type], f.title.en)
            for name, f in queryables(layer, role).items()
            if name not in ogc.ITEMS_PARAMETERS
        ]
        paths[f"/collections/{cid}/items"] = {"get": operation}
    return paths


def document(app: FastAPI, role: Role) -> bytes:
    """The OpenAPI 3.0 document for ``role``, as JSON bytes (cached per role and loaded set)."""
    loaded = tuple(sorted(app.state.layers.current()))
    key = (role, loaded)
    cache: dict[Any, bytes] = app.state.openapi_documents
    found = cache.get(key)
    if found is not None:
        return found
    with _LOCK:
        base = _base(app)
        doc = dict(base)
        doc["paths"] = {**base["paths"], **_collection_paths(app, base, role)}
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        if len(cache) > 64:
            cache.clear()
        cache[key] = body
    return body
