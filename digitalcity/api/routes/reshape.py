"""Edits of more than one feature at a time: a feature split along a line, neighbouring
features merged (地块分割与合并), the neighbours a feature may be merged with, and one change
to every feature a query matches (批量修改). Reasons, CRS and read-your-writes as for the Part 4
edits (``edits``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from digitalcity.api.deps import CatalogDep, RoleDep, visible_layer_or_404
from digitalcity.api.openapi_ogc import CollectionIdPath, FeatureIdPath
from digitalcity.api.params import items_query, parse_int
from digitalcity.api.routes.edits import (
    REASON_HEADER,
    change_reason,
    edit_context,
    editable_layer,
    feature_id_of,
    remember_write,
)
from digitalcity.catalog.model import LayerDef
from digitalcity.editing.bulk import bulk_patch
from digitalcity.editing.reshape import (
    MAX_MERGED,
    Reshaped,
    merge_candidates,
    merge_features,
    preview_split,
    split_feature,
)
from digitalcity.errors import NotFound
from digitalcity.query.items import QueryError

router = APIRouter(tags=["editing"])


class ReshapeResult(BaseModel):
    """What a split or merge did: its change set, the id kept, the features after it (the kept
    one first), those it created and removed, each part's share of the whole (split), and each
    feature's area in m² or length in m after it."""

    changeset: int
    id: int
    ids: list[int]
    created: list[int]
    removed: list[int]
    shares: dict[str, float]
    measures: dict[str, float]


class BulkResult(BaseModel):
    """What a bulk change did: its change set (null when every match already held the
    values), the features matched, and the ids changed."""

    changeset: int | None
    matched: int
    changed: int
    ids: list[int]


# items parameters that choose no features, refused on a bulk change rather than ignored
_NOT_FOR_BULK = ("as-of", "limit", "offset", "after", "sortby", "properties", "crs", "f")


@router.patch(
    "/collections/{collectionId}/items",
    response_model=BulkResult,
    summary="Set fields on every feature a query matches (bbox, filter; expected=N)",
)
async def bulk_update(
    collection_id: CollectionIdPath,
    request: Request,
    role: RoleDep,
    body: Annotated[dict[str, Any], Body(description='{"properties": {...}} (a merge patch)')],
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    given = request.query_params
    refused = sorted(k for k in given if k in _NOT_FOR_BULK)
    if refused:
        raise QueryError(f"{refused} choose no features: not for a change to many")
    expected = given.get("expected")
    selecting = QueryParams([(k, v) for k, v in given.multi_items() if k != "expected"])
    city = request.app.state.definitions.catalog.city(layer.city)
    query = items_query(selecting, layer, city, role, request.app.state.settings)
    ctx = edit_context(request, layer, role, change_reason(reason, body), None)
    count = parse_int(expected, "expected", 0, 0, 2**31) if expected is not None else None
    outcome = await run_in_threadpool(bulk_patch, ctx, query, count, body)
    headers = {}
    if outcome.changeset is not None:
        headers["X-Changeset"] = str(outcome.changeset)
        lsn = remember_write(request, layer, outcome.layer_state)
        if lsn:
            headers["X-Commit-LSN"] = lsn
    result = {
        "changeset": outcome.changeset,
        "matched": outcome.matched,
        "changed": len(outcome.changed),
        "ids": outcome.changed,
    }
    return JSONResponse(result, headers=headers)


def _reshaped(request: Request, layer: LayerDef, outcome: Reshaped) -> JSONResponse:
    headers = {"X-Changeset": str(outcome.changeset), "ETag": f'"{outcome.etags[outcome.kept]}"'}
    lsn = remember_write(request, layer, outcome.layer_state)
    if lsn:
        headers["X-Commit-LSN"] = lsn
    body = {
        "changeset": outcome.changeset,
        "id": outcome.kept,
        "ids": outcome.fids,
        "created": outcome.created,
        "removed": outcome.removed,
        "shares": {str(k): v for k, v in outcome.shares.items()},
        # each feature after it: area in m² (polygons) or length in m (lines)
        "measures": {str(k): round(v, 2) for k, v in (outcome.measures or {}).items()},
    }
    return JSONResponse(body, headers=headers)


@router.post(
    "/collections/{collectionId}/items/{featureId}/split",
    response_model=ReshapeResult,
    summary="Split a feature along a line (its largest part keeps the id)",
)
async def split(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    body: Annotated[
        dict[str, Any],
        Body(description='{"line": GeoJSON LineString, "reason": "..."} or the line itself'),
    ],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
    content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    ctx = edit_context(request, layer, role, change_reason(reason, body), content_crs)
    outcome = await run_in_threadpool(split_feature, ctx, fid, if_match, _line_of(body))
    return _reshaped(request, layer, outcome)


class SplitPart(BaseModel):
    """One part a split would make: whether it keeps the feature's id, its share of the whole,
    its area in m² (length in m for lines) and its shape in lon/lat."""

    keeps_id: bool
    share: float
    measure: float
    geometry: dict[str, Any]


class SplitPreview(BaseModel):
    parts: list[SplitPart]


@router.post(
    "/collections/{collectionId}/items/{featureId}/split/preview",
    response_model=SplitPreview,
    summary="The parts a split along a line would make (nothing written)",
)
async def split_preview(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    body: Annotated[
        dict[str, Any],
        Body(description='{"line": GeoJSON LineString} or the line itself'),
    ],
    content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
) -> dict[str, Any]:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    ctx = edit_context(request, layer, role, "", content_crs)
    parts = await run_in_threadpool(preview_split, ctx, fid, _line_of(body))
    return {"parts": parts}


def _line_of(body: dict[str, Any]) -> Any:
    """A split request's line: the body itself when it is one (or a Feature), else its
    ``line``."""
    return (
        body
        if body.get("type") in ("LineString", "MultiLineString", "Feature")
        else body.get("line")
    )


class Neighbour(BaseModel):
    """A feature next to the one asked about: id, shape (lon/lat), label and ETag."""

    type: str = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class Neighbours(BaseModel):
    type: str = "FeatureCollection"
    features: list[Neighbour]


FeatureId = Annotated[int, Field(ge=1, lt=2**63)]


class MergeRequest(BaseModel):
    """The features to merge (ids), the id the merged one keeps (default: the largest's) and
    why."""

    ids: list[FeatureId] = Field(max_length=MAX_MERGED)
    keep: FeatureId | None = None
    reason: str | None = None


@router.post(
    "/collections/{collectionId}/merge",
    response_model=ReshapeResult,
    summary="Merge neighbouring features into one (If-Match lists every feature's ETag)",
)
async def merge(
    collection_id: CollectionIdPath,
    request: Request,
    role: RoleDep,
    body: MergeRequest,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    ctx = edit_context(request, layer, role, change_reason(reason, {"reason": body.reason}), None)
    outcome = await run_in_threadpool(merge_features, ctx, body.ids, if_match, body.keep)
    return _reshaped(request, layer, outcome)


@router.get(
    "/collections/{collectionId}/items/{featureId}/neighbours",
    response_model=Neighbours,
    summary="The features next to a feature (sharing a boundary): what it may be merged with",
)
def neighbours(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
) -> Response:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    with request.app.state.router.reader().connect() as conn:
        found = merge_candidates(conn, layer, catalog.city(layer.city), role, fid)
    if found is None:
        raise NotFound(f"no feature {fid} in {collection_id!r}")
    features = [
        {
            "type": "Feature",
            "id": n["id"],
            "geometry": json.loads(n["geometry"]) if n["geometry"] else None,
            "properties": {"label": n["label"], "etag": n["etag"]},
        }
        for n in found
    ]
    body = {"type": "FeatureCollection", "features": features}
    return JSONResponse(body, media_type="application/geo+json")
