"""OGC API – Tiles and TileJSON: per-layer tilesets and the multi-layer city tileset (MVT).

Empty tiles: 204. Outside WebMercatorQuad or unknown TMS: 404; non-integer z/x/y: 400 (problem
JSON). Tiles carry a weak ETag (layer versions, field set, tile), Cache-Control, gzip.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from digitalcity.api.deps import (
    CatalogDep,
    RoleDep,
    base_url,
    read_engine,
    visible_layer_or_404,
)
from digitalcity.api.params import AsOfQuery, parse_as_of
from digitalcity.catalog import LayerDef, Role
from digitalcity.catalog.ids import collection_id
from digitalcity.db.live import VersionPoller
from digitalcity.errors import NotFound
from digitalcity.tiles import metadata as meta
from digitalcity.tiles.compress import decompress
from digitalcity.tiles.http import (
    VARY,
    accepts_gzip,
    cache_control,
    etag_matches,
    immutable_cache_control,
)
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.selections import selection_query, with_query
from digitalcity.tiles.service import TileService, Tileset, settled
from digitalcity.tiles.tms import OFFERED, TMS_ID, check_tile, tile_matrix_set, tms_document

_CREATE_LOCK = threading.Lock()


def tile_service(app: FastAPI) -> TileService:
    """The app's tile service, created and started on first use (or at startup)."""
    service = getattr(app.state, "tile_service", None)
    if service is None:
        with _CREATE_LOCK:
            service = getattr(app.state, "tile_service", None)
            if service is None:
                service = TileService(
                    app.state.catalog,
                    TileOptions.from_settings(app.state.settings),
                    versions=app.state.layers.versions,
                )
                router = app.state.router
                replicas = bool(router.standbys)
                service.start(app.state.engine, reader=router.reader if replicas else None)
                if replicas:
                    app.state.version_poller = VersionPoller(
                        app.state.layers.versions,
                        router.reader,
                        app.state.settings.replica_check_seconds,
                    )
                    app.state.version_poller.start()
                app.state.tile_service = service
    return service


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the tile service (version map, LISTEN thread, 3857 copies); stop it at shutdown."""
    tile_service(app)
    yield
    service = getattr(app.state, "tile_service", None)
    if service is not None:
        service.stop()
        app.state.tile_service = None
    poller = getattr(app.state, "version_poller", None)
    if poller is not None:
        poller.stop()
        app.state.version_poller = None


async def get_tile_service(request: Request) -> TileService:
    """Async, so tile requests make no thread hop for it (created at startup normally)."""
    return tile_service(request.app)


TilesDep = Annotated[TileService, Depends(get_tile_service)]
LangQuery = Annotated[str, Query(pattern="^(zh|en)$", description="zh or en")]
# OGC API – Tiles names; the URL keeps the z/x/y order (tileMatrix/tileCol/tileRow).
ZPath = Annotated[int, Path(alias="tileMatrix", description="zoom level (z)")]
XPath = Annotated[int, Path(alias="tileCol", description="tile column (x)")]
YPath = Annotated[int, Path(alias="tileRow", description="tile row (y)")]
CollectionsQuery = Annotated[
    str | None,
    Query(
        max_length=8192,
        description="collection ids of the city, comma-separated: only those layers "
        "(OGC API – Tiles collections selection; an id the caller may not see is a 404)",
    ),
]


def _at(service: TileService, tileset: Tileset, as_of: str | None) -> Tileset:
    """``tileset``, or as it was at the ``as-of`` instant (400 for a bad one)."""
    instant = parse_as_of(as_of)
    return tileset if instant is None else service.at_instant(tileset, instant)


router = APIRouter(tags=["tiles"], lifespan=lifespan)


def _layer_tileset(service: TileService, layer: LayerDef, role: Role) -> Tileset:
    tileset = service.layer_tileset(layer, role)
    if tileset is None:
        raise NotFound(f"collection {collection_id(layer)!r} has no data loaded")
    return tileset


def _layer_info(
    request: Request, service: TileService, layer: LayerDef, role: Role, lang: str
) -> meta.TilesetInfo:
    tileset = _layer_tileset(service, layer, role)
    base = f"{base_url(request)}/collections/{collection_id(layer)}/tiles/{TMS_ID}"
    return meta.TilesetInfo(
        city=tileset.city,
        plans=tileset.plans,
        title=layer.title.get(lang),
        description=(layer.description or layer.title).get(lang),
        tiles_url=f"{base}/{{z}}/{{x}}/{{y}}",
        self_url=base,
        tilejson_url=f"{base}/tilejson.json",
        base_url=base_url(request),
        lang=lang,
    )


def _city_info(
    request: Request,
    service: TileService,
    city_id: str,
    role: Role,
    lang: str,
    collections: str | None = None,
) -> meta.TilesetInfo:
    """The city tileset's document, of the layers ``collections`` selects when given: its
    tile URLs then carry the selection."""
    city = service.catalog.city(city_id)
    base = f"{base_url(request)}/tiles/{city.id}"
    plans = service.city_layers(city.id, role)
    urls = [f"{base}/{{z}}/{{x}}/{{y}}", f"{base}/{TMS_ID}", f"{base}/tilejson.json"]
    if collections is not None:
        chosen = service.selection(city.id, role, collections)
        plans = tuple(p for p in plans if p.layer.id in chosen)
        urls = [with_query(url, selection_query(plans, chosen)) for url in urls]
    return meta.TilesetInfo(
        city=city,
        plans=plans,
        title=city.title.get(lang),
        description=city.title.get(lang),
        tiles_url=urls[0],
        self_url=urls[1],
        tilejson_url=urls[2],
        base_url=base_url(request),
        lang=lang,
    )


async def _tile_response(
    request: Request, service: TileService, tileset: Tileset, role: Role, tile: Any
) -> Response:
    """The tile as HTTP: 304 on a matching ETag, 204 when empty, gzip when accepted.

    Up to a cache miss this runs on the event loop without the database; a miss renders in
    the thread pool on the app's current engine."""
    etag = tileset.etag(tile, service.tile_tag(tileset, tile))
    past = tileset.as_of is not None and settled(tileset.as_of)
    headers = {
        "ETag": etag,
        # the settled past never changes: anonymous as-of tiles may be kept for good
        "Cache-Control": (
            immutable_cache_control(role == "anonymous")
            if past
            else cache_control(role == "anonymous", service.options.max_age)
        ),
        "Vary": VARY,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    gz = service.cached(tileset, tile)
    if gz is None:
        gz = await run_in_threadpool(service.tile, read_engine(request), tileset, tile)
    if not gz:
        return Response(status_code=204, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding")):
        headers["Content-Encoding"] = "gzip"
        return Response(gz, media_type=meta.MVT, headers=headers)
    return Response(decompress(gz), media_type=meta.MVT, headers=headers)


# -- tile matrix sets ---------------------------------------------------------------------------
@router.get("/tileMatrixSets")
def tile_matrix_sets(request: Request) -> dict[str, Any]:
    """The tile matrix sets offered (WebMercatorQuad)."""
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "title": tile_matrix_set(tms_id).title,
                "uri": tile_matrix_set(tms_id).uri,
                "links": [{"rel": "self", "href": f"{base_url(request)}/tileMatrixSets/{tms_id}"}],
            }
            for tms_id in OFFERED
        ]
    }


@router.get("/tileMatrixSets/{tileMatrixSetId}")
def tile_matrix_set_definition(tileMatrixSetId: str) -> dict[str, Any]:  # noqa: N803
    """The OGC TileMatrixSet 2.0 definition; 404 for unknown ids."""
    return tms_document(tileMatrixSetId)


# -- per-layer tilesets -------------------------------------------------------------------------
@router.get("/collections/{collectionId}/tiles")
def collection_tilesets(
    collectionId: str,  # noqa: N803
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    service: TilesDep,
    lang: LangQuery = "en",
) -> dict[str, Any]:
    """The tilesets of a collection (one: vector, WebMercatorQuad)."""
    layer = visible_layer_or_404(collectionId, catalog, role)
    info = _layer_info(request, service, layer, role, lang)
    return meta.tileset_list(info, str(request.url.remove_query_params("api_key")))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}")
def collection_tileset(
    collectionId: str,  # noqa: N803
    tileMatrixSetId: str,  # noqa: N803
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    service: TilesDep,
    lang: LangQuery = "en",
) -> dict[str, Any]:
    """OGC tileset metadata of one collection."""
    tile_matrix_set(tileMatrixSetId)
    layer = visible_layer_or_404(collectionId, catalog, role)
    return meta.ogc_tileset(
        _layer_info(request, service, layer, role, lang), service.versions.current
    )


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json")
def collection_tilejson(
    collectionId: str,  # noqa: N803
    tileMatrixSetId: str,  # noqa: N803
    request: Request,
    catalog: CatalogDep,
    role: RoleDep,
    service: TilesDep,
    lang: LangQuery = "en",
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    """TileJSON 3 of one collection (with ``as-of``: tile URLs that carry it)."""
    tile_matrix_set(tileMatrixSetId)
    layer = visible_layer_or_404(collectionId, catalog, role)
    info = _layer_info(request, service, layer, role, lang)
    return _with_as_of(meta.tilejson(info, service.versions.current), as_of)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}")
async def collection_tile(
    collectionId: str,  # noqa: N803
    tileMatrixSetId: str,  # noqa: N803
    z: ZPath,
    x: XPath,
    y: YPath,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    as_of: AsOfQuery = None,
) -> Response:
    """One MVT tile of one collection (204 when empty or outside the layer's zooms)."""
    tile_matrix_set(tileMatrixSetId)
    tile = check_tile(z, x, y)
    layer = visible_layer_or_404(collectionId, service.catalog, role)
    tileset = _layer_tileset(service, layer, role)
    if not layer.min_zoom <= z <= layer.max_zoom:
        tileset = service.empty_tileset(layer.city)
    return await _tile_response(request, service, _at(service, tileset, as_of), role, tile)


# -- the city tileset ---------------------------------------------------------------------------
@router.get("/tiles/{city}")
def city_tilesets(
    city: str, request: Request, role: RoleDep, service: TilesDep, lang: LangQuery = "en"
) -> dict[str, Any]:
    """The city's tilesets (one: every layer the caller may see, vector, WebMercatorQuad)."""
    info = _city_info(request, service, city, role, lang)
    return meta.tileset_list(info, str(request.url.remove_query_params("api_key")))


@router.get("/tiles/{city}/tilejson.json")
def city_tilejson(
    city: str,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    lang: LangQuery = "en",
    as_of: AsOfQuery = None,
    collections: CollectionsQuery = None,
) -> dict[str, Any]:
    """TileJSON 3 of the city tileset: one vector layer per layer the caller may see (or
    ``collections`` selects); with ``as-of``, tile URLs that carry it (a map of a past day)."""
    info = _city_info(request, service, city, role, lang, collections)
    return _with_as_of(meta.tilejson(info, service.versions.current), as_of)


def _with_as_of(doc: dict[str, Any], as_of: str | None) -> dict[str, Any]:
    instant = parse_as_of(as_of)
    if instant is not None:
        stamp = quote(instant.isoformat().replace("+00:00", "Z"), safe="")
        doc["tiles"] = [
            f"{url}{'&' if '?' in url else '?'}as-of={stamp}" for url in doc.get("tiles", [])
        ]
    return doc


@router.get("/tiles/{city}/{tileMatrixSetId}")
def city_tileset(
    city: str,
    tileMatrixSetId: str,  # noqa: N803
    request: Request,
    role: RoleDep,
    service: TilesDep,
    lang: LangQuery = "en",
    collections: CollectionsQuery = None,
) -> dict[str, Any]:
    """OGC tileset metadata of the city tileset (of the layers ``collections`` selects)."""
    tile_matrix_set(tileMatrixSetId)
    info = _city_info(request, service, city, role, lang, collections)
    return meta.ogc_tileset(info, service.versions.current)


@router.get("/tiles/{city}/{tileMatrix}/{tileCol}/{tileRow}")
async def city_tile(
    city: str,
    z: ZPath,
    x: XPath,
    y: YPath,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    as_of: AsOfQuery = None,
    collections: CollectionsQuery = None,
) -> Response:
    """One tile of the city tileset: the layers meant for zoom ``z``, of those
    ``collections`` selects when given (204 when empty)."""
    tile = check_tile(z, x, y)
    chosen = None if collections is None else service.selection(city, role, collections)
    tileset = _at(service, service.city_tileset(city, role, z, layers=chosen), as_of)
    return await _tile_response(request, service, tileset, role, tile)


@router.get("/tiles/{city}/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}")
async def city_tile_tms(
    city: str,
    tileMatrixSetId: str,  # noqa: N803
    z: ZPath,
    x: XPath,
    y: YPath,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    as_of: AsOfQuery = None,
    collections: CollectionsQuery = None,
) -> Response:
    """The same tile addressed with its tile matrix set (``WebMercatorQuad``)."""
    tile_matrix_set(tileMatrixSetId)
    return await city_tile(city, z, x, y, request, role, service, as_of, collections)
