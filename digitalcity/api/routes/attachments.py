"""Files kept with features (附件): listed, opened, added (the file's bytes as the request body,
its name in ``name=``) and removed, for layers whose definition keeps them
(``[editing.attachments]``). Read from the primary, so a file just added is listed at once."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from digitalcity.api.deps import BaseUrlDep, CatalogDep, RoleDep, visible_layer_or_404
from digitalcity.api.openapi_ogc import CollectionIdPath, FeatureIdPath
from digitalcity.api.params import AsOfQuery, parse_as_of
from digitalcity.api.routes.edits import feature_id_of, id_in_path, request_author
from digitalcity.editing.attachments import (
    KEPT_TYPES,
    Attachment,
    TooLarge,
    add_attachment,
    check_may_write,
    list_attachments,
    open_attachment,
    remove_attachment,
)

router = APIRouter(tags=["editing"])

AttachmentIdPath = Annotated[str, Path(alias="attachmentId", description="an attachment's id")]


class AttachmentItem(BaseModel):
    """A file kept with a feature: id, name, media type, size (bytes), SHA-256, when and by
    which role added, and where to open it."""

    id: int
    name: str
    type: str
    size: int
    sha256: str
    added_at: str
    added_role: str
    href: str


class Attachments(BaseModel):
    attachments: list[AttachmentItem]


def _listed(
    item: Attachment, base: str, collection: str, as_of: str | None = None
) -> dict[str, Any]:
    """``item`` as listed, with the link that opens it (at the listing's instant, if any)."""
    href = f"{base}/collections/{collection}/items/{item.fid}/attachments/{item.id}"
    if as_of is not None:
        href += f"?as-of={quote(as_of)}"
    return {**item.listed(), "href": href}


@router.get(
    "/collections/{collectionId}/items/{featureId}/attachments",
    response_model=Attachments,
    summary="The files kept with a feature (now, or at the as-of instant)",
)
def attachments(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    at = parse_as_of(as_of)
    with request.app.state.engine.connect() as conn:
        found = list_attachments(conn, layer, catalog.city(layer.city), role, fid, at)
    shown = at.isoformat() if at is not None else None
    return {"attachments": [_listed(a, base, collection_id, shown) for a in found]}


@router.get(
    "/collections/{collectionId}/items/{featureId}/attachments/{attachmentId}",
    summary="One file kept with a feature",
    response_class=Response,
    responses={
        200: {
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in KEPT_TYPES
            }
        }
    },
)
def attachment(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    attachment_id: AttachmentIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    as_of: AsOfQuery = None,
) -> Response:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    at = parse_as_of(as_of)
    with request.app.state.engine.connect() as conn:
        item, content = open_attachment(
            conn, layer, role, fid, id_in_path(attachment_id, "attachment"), at
        )
    # images open in the page; other kinds (PDF) are downloaded, and nothing is sniffed
    shown = "inline" if item.media_type.startswith("image/") else "attachment"
    headers = {
        "Content-Disposition": f"{shown}; filename*=UTF-8''{quote(item.name)}",
        "ETag": f'"{item.sha256}"',
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(content, media_type=item.media_type, headers=headers)


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, read no further than ``limit`` bytes (413 beyond)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the file is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/collections/{collectionId}/items/{featureId}/attachments",
    status_code=201,
    response_model=AttachmentItem,
    summary="Keep a file with a feature (the body is the file; its name in name=)",
)
async def add(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    base: BaseUrlDep,
    name: str = "",
    content_type: Annotated[str | None, Header(alias="Content-Type")] = None,
) -> JSONResponse:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    check_may_write(layer, role)  # before the body is read
    kept = layer.editing.attachments if layer.editing else None
    limit = (kept.max_mb if kept else 1) * 1024 * 1024
    content = await _body(request, limit)
    item = await run_in_threadpool(
        add_attachment,
        request.app.state.engine,
        layer,
        catalog.city(layer.city),
        request_author(request, role),
        fid,
        name,
        content_type,
        content,
    )
    listed = _listed(item, base, collection_id)
    return JSONResponse(listed, status_code=201, headers={"Location": listed["href"]})


@router.delete(
    "/collections/{collectionId}/items/{featureId}/attachments/{attachmentId}",
    status_code=204,
    summary="Remove a file from a feature (kept on record)",
)
async def remove(
    collection_id: CollectionIdPath,
    feature_id: FeatureIdPath,
    attachment_id: AttachmentIdPath,
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
) -> Response:
    layer = visible_layer_or_404(collection_id, catalog, role)
    fid = feature_id_of(feature_id, collection_id)
    await run_in_threadpool(
        remove_attachment,
        request.app.state.engine,
        layer,
        request_author(request, role),
        fid,
        id_in_path(attachment_id, "attachment"),
    )
    return Response(status_code=204)
