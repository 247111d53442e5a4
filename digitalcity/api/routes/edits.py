"""OGC API – Features Part 4 (create, replace, update, delete) and the history endpoints.

A change's reason travels in the ``X-Change-Reason`` header (percent-encoded UTF-8 allowed,
so 中文 reasons pass through HTTP/1.1 headers) or, for POST, as a top-level ``reason`` member
of the body. Geometry is in CRS84 unless ``Content-Crs`` names another CRS the API offers.
Every write goes to the primary; the caller's next reads wait for it (read-your-writes).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import unquote

import sqlalchemy as sa
from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from digitalcity.api.caller import KEY_ID_STATE
from digitalcity.api.deps import BaseUrlDep, CatalogDep, RoleDep, visible_layer_or_404
from digitalcity.api.openapi_ogc import CollectionIdPath, FeatureIdPath
from digitalcity.api.params import parse_as_of
from digitalcity.catalog.access import Role
from digitalcity.catalog.model import MAX_SNAP_M, LayerDef
from digitalcity.db.routing import commit_lsn, lsn_int
from digitalcity.editing import (
    EditRejected,
    create_features,
    delete_feature,
    patch_feature,
    replace_feature,
)
from digitalcity.editing.attachments import attachment_record
from digitalcity.editing.lineage import lineage_of
from digitalcity.editing.service import (
    EditContext,
    Forbidden,
    Outcome,
    check_rights,
    restore_reason,
    restore_version,
)
from digitalcity.errors import NotFound
from digitalcity.history.changesets import Author
from digitalcity.history.reads import changes, feature_history, revert_changeset
from digitalcity.query.crs_ref import CRS84, parse_crs, supported_crs
from digitalcity.query.items import QueryError

router = APIRouter(tags=["editing"])


class EditResult(BaseModel):
    """What an edit did: its change set, the feature ids written, those repaired and those
    whose shape was snapped to their neighbours."""

    changeset: int
    ids: list[int]
    repaired: list[int]
    snapped: list[int]


class FeatureHistory(BaseModel):
    id: int
    collection: str
    versions: list[dict[str, Any]]
    lineage: list[dict[str, Any]]
    files: list[dict[str, Any]]


class LayerChanges(BaseModel):
    collection: str
    since: str
    until: str
    added: list[int]
    modified: list[dict[str, Any]]
    deleted: list[int]


class Reverted(BaseModel):
    changeset: int
    reverts: int


REASON_HEADER = "X-Change-Reason"
MAX_REASON = 2000


def change_reason(header: str | None, body: Any) -> str:
    text = unquote(header) if header else ""
    if not text and isinstance(body, dict) and isinstance(body.get("reason"), str):
        text = body["reason"]
    return text[:MAX_REASON]


def request_author(request: Request, role: Role, reason: str = "") -> Author:
    """Who makes a change through this request: the role, the API key's id, the reason."""
    return Author(role=role, key_id=getattr(request.state, KEY_ID_STATE, None), reason=reason)


def edit_context(
    request: Request,
    layer: LayerDef,
    role: Role,
    reason: str,
    content_crs: str | None,
    snap_m: float | None = None,
) -> EditContext:
    city = request.app.state.definitions.catalog.city(layer.city)
    crs = parse_crs(content_crs.strip().strip("<>") if content_crs else CRS84, supported_crs(city))
    author = request_author(request, role, reason)
    return EditContext(
        request.app.state.engine,
        layer,
        city,
        author,
        request.app.state.definitions.codes,
        crs,
        request.app.state.settings.layers_dir,
        snap_m,
    )


SnapQuery = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_SNAP_M,
        description="snapping tolerance in metres: drawn vertices this close to another "
        "feature's vertex are put exactly on it (0: none; default: the layer's snap_m)",
    ),
]


def editable_layer(collection: str, request: Request, role: Role) -> LayerDef:
    layer = visible_layer_or_404(collection, request.app.state.definitions.catalog, role)
    if role == "anonymous":
        raise Forbidden("sign in with an API key that may edit this layer")
    return layer


def remember_write(request: Request, layer: LayerDef, state: tuple[int, int] | None) -> str | None:
    """This process's caches move on at once (others on the NOTIFY or their next poll). With
    standbys, the primary's WAL position after the write: this caller's next reads wait for
    it (without, every read is on the primary and sees the write: no round trip for it)."""
    versions = request.app.state.layers.versions
    try:
        if state is not None:  # the edit's own figures: no round trip
            versions.advance(layer.city, layer.id, *state)
        else:
            versions.load(request.app.state.engine)
    except sa.exc.DBAPIError:
        pass  # the poller catches up
    if not request.app.state.router.standbys:
        return None
    key_id = getattr(request.state, KEY_ID_STATE, None)
    try:
        with request.app.state.engine.connect() as conn:
            lsn = commit_lsn(conn)
    except sa.exc.DBAPIError:
        return None
    if key_id is not None:
        if len(request.app.state.writes) > 100_000:
            request.app.state.writes.clear()
        request.app.state.writes[key_id] = lsn_int(lsn)
    return str(lsn)


def _headers(
    request: Request, layer: LayerDef, outcome: Outcome, fid: int | None = None
) -> dict[str, str]:
    headers = {"X-Changeset": str(outcome.changeset)}
    lsn = remember_write(request, layer, outcome.layer_state)
    if lsn:
        headers["X-Commit-LSN"] = lsn
    if fid is not None and fid in outcome.etags:
        headers["ETag"] = f'"{outcome.etags[fid]}"'
    return headers


def _body(outcome: Outcome) -> dict[str, Any]:
    return {
        "changeset": outcome.changeset,
        "ids": outcome.fids,
        "repaired": outcome.repaired,
        "snapped": outcome.snapped,
    }


@router.post(
    "/collections/{collectionId}/items",
    status_code=201,
    response_model=EditResult,
    summary="Add features (a Feature, or a FeatureCollection: all or none)",
)
async def create(
    collection_id: CollectionIdPath,
    request: Request,
    role: RoleDep,
    base: BaseUrlDep,
    body: Annotated[dict[str, Any], Body(description="GeoJSON Feature or FeatureCollection")],
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
    content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
    snap: SnapQuery = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    ctx = edit_context(request, layer, role, change_reason(reason, body), content_crs, snap)
    if body.get("type") == "FeatureCollection":
        features = body.get("features")
        if not isinstance(features, list):
            raise EditRejected.of("features must be a list", "features 必须是列表")
    else:
        features = [body]
    outcome = await run_in_threadpool(create_features, ctx, features)
    headers = _headers(request, layer, outcome, outcome.fids[0] if len(outcome.fids) == 1 else None)
    if len(outcome.fids) == 1:
        headers["Location"] = f"{base}/collections/{collection_id}/items/{outcome.fids[0]}"
    return JSONResponse(_body(outcome), status_code=201, headers=headers)


def id_in_path(text: str, what: str, where: str = "") -> int:
    """A whole-number id from a path (``what`` and ``where`` name it in the 404 otherwise)."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"no {what} {text[:40]!r}{where}")
    return int(text)


def feature_id_of(text: str, collection: str) -> int:
    return id_in_path(text, "feature", f" in {collection!r}")


@router.put(
    "/collections/{collectionId}/items/{featureId}",
    response_model=EditResult,
    summary="Replace a feature",
)
async def replace(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    body: Annotated[dict[str, Any], Body(description="GeoJSON Feature")],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
    content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
    snap: SnapQuery = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    ctx = edit_context(request, layer, role, change_reason(reason, body), content_crs, snap)
    outcome = await run_in_threadpool(replace_feature, ctx, fid, if_match, body)
    return JSONResponse(_body(outcome), headers=_headers(request, layer, outcome, fid))


@router.patch(
    "/collections/{collectionId}/items/{featureId}",
    response_model=EditResult,
    summary="Update a feature (JSON merge patch)",
)
async def update(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    body: Annotated[dict[str, Any], Body(description="JSON merge patch of a GeoJSON Feature")],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
    content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
    snap: SnapQuery = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    ctx = edit_context(request, layer, role, change_reason(reason, body), content_crs, snap)
    outcome = await run_in_threadpool(patch_feature, ctx, fid, if_match, body)
    return JSONResponse(_body(outcome), headers=_headers(request, layer, outcome, fid))


@router.post(
    "/collections/{collectionId}/items/{featureId}/restore",
    response_model=EditResult,
    summary="Restore a past version of a feature (its shape and the fields the caller may write)",
)
async def restore(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    as_of: Annotated[
        str,
        Query(
            alias="as-of",
            description="an instant (RFC 3339) inside the version to restore: "
            "its valid_from in the feature's history",
        ),
    ],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> JSONResponse:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    instant = parse_as_of(as_of)
    assert instant is not None
    text = restore_reason(change_reason(reason, None), instant)
    ctx = edit_context(request, layer, role, text, None)
    outcome = await run_in_threadpool(restore_version, ctx, fid, if_match, instant)
    return JSONResponse(_body(outcome), headers=_headers(request, layer, outcome, fid))


@router.delete(
    "/collections/{collectionId}/items/{featureId}", status_code=204, summary="Delete a feature"
)
async def delete(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    role: RoleDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> Response:
    layer = editable_layer(collection_id, request, role)
    fid = feature_id_of(feature_id, collection_id)
    ctx = edit_context(request, layer, role, change_reason(reason, None), None)
    outcome = await run_in_threadpool(delete_feature, ctx, fid, if_match)
    return Response(status_code=204, headers=_headers(request, layer, outcome))


@router.get(
    "/collections/{collectionId}/items/{featureId}/history",
    response_model=FeatureHistory,
    summary="A feature's versions",
)
def history(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
) -> dict[str, Any]:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    with request.app.state.router.reader().connect() as conn:
        versions = feature_history(conn, layer, catalog.city(layer.city), role, fid)
        lineage = lineage_of(conn, layer, fid)
        files = attachment_record(conn, layer, role, fid)
    return {
        "id": fid,
        "collection": collection_id,
        "versions": versions,
        "lineage": lineage,
        "files": files,
    }


@router.get(
    "/collections/{collectionId}/changes",
    response_model=LayerChanges,
    summary="Features added, modified and deleted in a period",
)
def layer_changes(
    collection_id: CollectionIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    since: str,
    until: str | None = None,
) -> dict[str, Any]:
    layer = visible_layer_or_404(collection_id, catalog, role)
    start = parse_as_of(since)
    end = parse_as_of(until) if until else dt.datetime.now(dt.UTC)
    assert start is not None and end is not None
    if start > end:
        raise QueryError("since is after until")
    with request.app.state.router.reader().connect() as conn:
        found = changes(conn, layer, catalog.city(layer.city), role, start, end)
    return {"collection": collection_id, **found}


@router.post(
    "/collections/{collectionId}/changesets/{changeset}/revert",
    response_model=Reverted,
    summary="Revert a change set (admin: any; the layer's editors: their own edits)",
)
async def revert(
    collection_id: CollectionIdPath,
    changeset: int,
    request: Request,
    role: RoleDep,
    reason: Annotated[str | None, Header(alias=REASON_HEADER)] = None,
) -> JSONResponse:
    layer = visible_layer_or_404(collection_id, request.app.state.definitions.catalog, role)
    if role != "admin":
        check_rights(layer, role)  # an editor of the layer undoes their own edits only
    if not 0 < changeset < 2**63:
        raise NotFound(f"no change set {changeset}")
    author = request_author(request, role, change_reason(reason, None) or f"revert {changeset}")
    city = request.app.state.definitions.catalog.city(layer.city)
    new = await run_in_threadpool(
        revert_changeset,
        request.app.state.engine,
        layer,
        city,
        changeset,
        author,
        own_only=role != "admin",
    )
    lsn = remember_write(request, layer, None)
    return JSONResponse(
        {"changeset": new, "reverts": changeset},
        headers={"X-Commit-LSN": lsn} if lsn else {},
    )
