"""A city's recent changes: JSON for the maps, Atom for feed readers (``history.feed``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from digitalcity.api.deps import BaseUrlDep, CatalogDep, EngineDep, RoleDep
from digitalcity.api.negotiation import LangDep
from digitalcity.api.params import parse_as_of, parse_bbox
from digitalcity.catalog import Catalog, Role
from digitalcity.history.atom import MEDIA_TYPE, atom_feed
from digitalcity.history.feed import (
    DEFAULT_DAYS,
    MAX_ENTRIES,
    MAX_FEATURES,
    FeedQuery,
    city_changes,
)
from digitalcity.query.items import QueryError

router = APIRouter(tags=["history"])

Since = Annotated[
    str | None,
    Query(
        max_length=64,
        description=f"RFC 3339 instant or date; change sets after it (default: {DEFAULT_DAYS} "
        "days before `until`)",
    ),
]
Until = Annotated[
    str | None,
    Query(max_length=64, description="RFC 3339 instant or date; up to it (default: now)"),
]
Before = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**63 - 1,
        description="change sets older than this one (the `next_before` of the previous page)",
    ),
]
Layers = Annotated[
    str | None,
    Query(
        max_length=2000,
        description="comma-separated layer ids (default: every layer the caller may see)",
    ),
]
Area = Annotated[
    str | None,
    Query(
        max_length=200,
        description="west,south,east,north in degrees (CRS84): only changes that meet this box",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_ENTRIES, description="change sets on the page")]
Features = Annotated[
    int, Query(ge=0, le=MAX_FEATURES, description="features detailed per change set")
]


def _page(
    request: Request,
    city: str,
    catalog: Catalog,
    engine: Any,
    role: Role,
    lang: str,
    since: str | None,
    until: str | None,
    before: int | None,
    layers: str | None,
    limit: int,
    features: int,
    bbox: str | None,
) -> dict[str, Any]:
    definition = catalog.city(city)
    end = parse_as_of(until) if until else dt.datetime.now(dt.UTC)
    start = parse_as_of(since) if since else None
    assert end is not None
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise QueryError("since is after until")
    wanted = {x.strip() for x in layers.split(",")} if layers else None
    live = request.app.state.layers
    area = parse_bbox(bbox) if bbox else None
    query = FeedQuery(start, end, before, limit, features, lang, area)
    with engine.connect() as conn:
        return city_changes(
            conn,
            catalog,
            definition,
            role,
            query,
            codes=request.app.state.definitions.codes,
            loaded=lambda layer: (
                live.get(layer) is not None and (wanted is None or layer.id in wanted)
            ),
        )


def _cache(role: Role) -> str:
    return "public, max-age=60" if role == "anonymous" else "private, max-age=60"


@router.get("/cities/{city}/changes", summary="A city's recent changes, newest first")
def city_changes_json(
    city: str,
    request: Request,
    response: Response,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    since: Since = None,
    until: Until = None,
    before: Before = None,
    layers: Layers = None,
    bbox: Area = None,
    limit: Limit = 20,
    features: Features = 20,
) -> dict[str, Any]:
    """Change sets (loads, edits, reverts) of the layers the caller may see, each with its
    counts, lon/lat box and first features: the fields that changed, before and after, and
    the geometry (CRS84). Who and why only for signed-in callers."""
    page = _page(
        request,
        city,
        catalog,
        engine,
        role,
        lang,
        since,
        until,
        before,
        layers,
        limit,
        features,
        bbox,
    )
    response.headers["Cache-Control"] = _cache(role)
    return page


@router.get(
    "/cities/{city}/changes.atom",
    summary="A city's recent changes as an Atom feed",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def city_changes_atom(
    city: str,
    request: Request,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    base: BaseUrlDep,
    since: Since = None,
    until: Until = None,
    layers: Layers = None,
    bbox: Area = None,
    limit: Limit = 50,
) -> Response:
    """The same change sets as an Atom feed in plain words, each linking to the map at it."""
    page = _page(
        request, city, catalog, engine, role, lang, since, until, None, layers, limit, 5, bbox
    )
    self_url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    body = atom_feed(
        page,
        city_title=catalog.city(city).title.get(lang),
        base=base,
        self_url=self_url,
        lang=lang,
        public=role == "anonymous",
    )
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": _cache(role)})
