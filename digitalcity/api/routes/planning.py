"""Planner endpoints: search, identify a parcel at a point, a parcel's card, a site boundary
read from a file, and site boundaries saved to share by link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from digitalcity.api.caller import KEY_ID_STATE
from digitalcity.api.deps import CatalogDep, EngineDep, RoleDep
from digitalcity.api.negotiation import LangDep
from digitalcity.api.params import AsOfQuery, parse_as_of
from digitalcity.boundary import MAX_BYTES, boundary_from_bytes, too_large
from digitalcity.city import City
from digitalcity.planning.card import identify, parcel_card
from digitalcity.planning.sites import (
    SignInRequired,
    delete_site,
    list_sites,
    read_site,
    save_site,
)
from digitalcity.query.crs_ref import CRS84, parse_crs, supported_crs
from digitalcity.query.items import QueryError
from digitalcity.search import coordinate_hits, grouped, search

router = APIRouter(tags=["planning"])
FidPath = Annotated[int, Path(ge=0, le=2**63 - 1, description="feature id")]


def _city(
    city: str,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    request: Request,
    as_of: str | None = None,
) -> City:
    definitions = request.app.state.definitions
    return City(
        catalog,
        catalog.city(city),
        engine,
        role,
        codes=definitions.codes,
        descriptions=definitions.descriptions,
        as_of=parse_as_of(as_of),
    )


@router.get("/cities/{city}/search", summary="Search parcels, addresses, zones and places")
def city_search(
    city: str,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    q: str = Query(
        ...,
        max_length=200,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$",  # no control characters (NUL...)
        description="text: parcel id, address, name (中文也可), or coordinates: lon/lat in "
        "degrees, or x/y in the city's local CRS (a Gauss-Kruger easting with its zone number too)",
    ),
    limit: int = Query(10, ge=1, le=100),
    layers: str | None = Query(None, description="comma-separated layer ids to search"),
    as_of: AsOfQuery = None,
    lang: str = Query("zh", pattern="^(zh|en)$", description="language of the hits' labels"),
) -> dict[str, Any]:
    wanted = [x.strip() for x in layers.split(",")] if layers else None
    live = request.app.state.layers
    place = _city(city, catalog, engine, role, request, as_of)
    hits = search(
        place,
        q,
        layers=wanted,
        limit=limit,
        loaded=lambda layer: live.get(layer) is not None,
        lang=lang,
    )
    located = coordinate_hits(q, place.definition)  # typed coordinates: the places first
    return {
        "query": q,
        "hits": located + [h.to_dict() for h in hits],
        "groups": grouped(hits),
    }


@router.get("/cities/{city}/identify", summary="The parcel at a point, with its full card")
def city_identify(
    city: str,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    lon: float = Query(..., description="x (easting or longitude) in `crs`"),
    lat: float = Query(..., description="y (northing or latitude) in `crs`"),
    crs: str = Query(
        CRS84, description="CRS of the point (URI); lon is x (east), lat is y (north)"
    ),
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    place = _city(city, catalog, engine, role, request, as_of)
    ref = parse_crs(crs, supported_crs(place.definition))
    x, y = lon, lat  # named parameters: no axis-order ambiguity
    if ref.srid in (4326, 4490) and not (-180 <= x <= 180 and -90 <= y <= 90):
        raise QueryError("lon must be within ±180 and lat within ±90")
    return identify(place, x, y, ref.srid, lang)


@router.get("/cities/{city}/parcels/{fid}", summary="A parcel's card by feature id")
def city_parcel(
    city: str,
    request: Request,
    fid: FidPath,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    return parcel_card(_city(city, catalog, engine, role, request, as_of), fid, lang)


@router.post(
    "/cities/{city}/boundary",
    summary="A site boundary (红线) read from a file: one (multi)polygon in CRS84",
)
async def city_boundary(
    city: str,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    name: str = Query(
        ..., max_length=200, description="the file's name; its ending says the format"
    ),
    crs: str | None = Query(
        None,
        max_length=200,
        description="CRS of the file's coordinates when it declares none (CAD drawings)",
    ),
    save: bool = Query(
        False,
        description="keep the boundary to share by link (signed-in callers): its token in "
        "`properties.site`, read back at /cities/{city}/sites/{token}",
    ),
) -> dict[str, Any]:
    """The areas of an uploaded file (the request body: DXF, zipped shapefile, GeoPackage,
    GeoJSON, KML/KMZ or FlatGeobuf, at most 20 MB) merged into one boundary, reprojected to
    CRS84 and repaired as a load repairs; with its area (m², the city's local CRS) and the
    features left out. A file that holds no usable area near the city is a 400 whose
    ``message`` says why in the request's language. With ``save``, the boundary is kept for
    signed-in colleagues who hold its token (401 for an anonymous caller)."""
    definition = catalog.city(city)
    if save and role == "anonymous":  # before reading the file
        raise SignInRequired("sign in with an API key to save a site and share it")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large()
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            raise too_large()
    found = await run_in_threadpool(boundary_from_bytes, bytes(data), name, definition, crs)
    feature = found.to_feature(name, definition, lang)
    if save:
        key_id = getattr(request.state, KEY_ID_STATE, None)
        feature["properties"]["site"] = await run_in_threadpool(
            save_site, engine, city, feature["properties"]["name"], found, role, key_id
        )
    return feature


SiteToken = Annotated[str, Path(max_length=64, description="a saved site's token")]


@router.get("/cities/{city}/sites", summary="The site boundaries the caller saved")
def city_sites(
    city: str, request: Request, response: Response, catalog: CatalogDep, role: RoleDep
) -> dict[str, Any]:
    """The caller's saved sites of ``city`` (an admin's: everyone's), newest first, at most
    100: token, name, area (m²), who and when; an empty list for an anonymous caller."""
    catalog.city(city)
    response.headers["Cache-Control"] = "private, no-cache"
    key_id = getattr(request.state, KEY_ID_STATE, None)
    return {"sites": list_sites(request.app.state.engine, city, role, key_id)}


@router.get("/cities/{city}/sites/{token}", summary="A saved site boundary (signed-in callers)")
def city_site(
    city: str,
    token: SiteToken,
    request: Request,
    response: Response,
    catalog: CatalogDep,
    role: RoleDep,
) -> dict[str, Any]:
    """A site boundary saved by the site check (``save``): a GeoJSON Feature in CRS84 with its
    name, area (m²), parts and the CRS it was read in. 404 for anonymous callers. Read on the
    primary: a colleague opens a link the moment it is made, before a standby may have it."""
    catalog.city(city)
    response.headers["Cache-Control"] = "private, no-cache"
    return read_site(request.app.state.engine, city, token, role)


@router.delete(
    "/cities/{city}/sites/{token}",
    status_code=204,
    response_class=Response,
    summary="Forget a saved site (the key that saved it, or an admin)",
)
def city_site_delete(
    city: str, token: SiteToken, request: Request, catalog: CatalogDep, role: RoleDep
) -> Response:
    catalog.city(city)
    key_id = getattr(request.state, KEY_ID_STATE, None)
    delete_site(request.app.state.engine, city, token, role, key_id)
    return Response(status_code=204)
