"""The map pages (``/map`` for planners, ``/public`` for citizens), their static assets, the
city list they start from, and the statistics of a polygon drawn on the planner map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from digitalcity.api.caller import KEY_ID_STATE
from digitalcity.api.deps import CatalogDep, EngineDep, RoleDep, SettingsDep, read_engine
from digitalcity.api.negotiation import LangDep
from digitalcity.city import City
from digitalcity.db.versions import history_since
from digitalcity.web import STATIC_URL, VERSIONED_URL, assets_version, static_dir
from digitalcity.web.cities import cities, layer_meta
from digitalcity.web.pages import Page, default_city, page_config, render
from digitalcity.web.stats import polygon_statistics

router = APIRouter(tags=["web maps"])
CityQuery = Annotated[str | None, Query(max_length=60, description="city id to open")]
POLYGON_EXAMPLE = {
    "type": "Polygon",
    "coordinates": [
        [[-71.106, 42.371], [-71.101, 42.371], [-71.101, 42.375], [-71.106, 42.375],
         [-71.106, 42.371]]
    ],
}  # fmt: skip


IMMUTABLE = "public, max-age=31536000, immutable"


class _Assets(StaticFiles):
    """The pages' JavaScript, CSS and vendored libraries, answered with ``cache_control``."""

    def __init__(self, cache_control: str) -> None:
        super().__init__(directory=static_dir())
        self.cache_control = cache_control

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response


class _VersionedAssets:
    """Mounted at ``VERSIONED_URL``: ``/<version>/<file>``. The current version's files are
    kept by browsers for a year (their URL changes with any of them: ``assets_version``); a
    request naming another version, from a page opened before a release, is redirected to the
    current one, so every module a page loads comes from one release."""

    def __init__(self) -> None:
        self.version = assets_version()
        self.files = _Assets(IMMUTABLE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope["path"], scope.get("root_path", "")
        inside = path[len(root) :] if root and path.startswith(root) else path
        version, _, rest = inside.lstrip("/").partition("/")
        if version != self.version:
            moved = RedirectResponse(f"{root}/{self.version}/{rest}", status_code=307)
            moved.headers["Cache-Control"] = "no-cache"
            await moved(scope, receive, send)
            return
        await self.files({**scope, "root_path": f"{root}/{version}"}, receive, send)


def static_mounts() -> list[tuple[str, ASGIApp, str]]:
    """(path, app, name) of the assets' mounts, in the order to mount them: the versioned URLs
    the pages use, then ``STATIC_URL`` itself (revalidated at every use: folium's offline maps
    and older links name it)."""
    return [
        (VERSIONED_URL, _VersionedAssets(), "web-static-versioned"),
        (STATIC_URL, _Assets("no-cache"), "web-static"),
    ]


def _page(page: Page, catalog: Any, settings: Any, city: str | None, lang: str) -> HTMLResponse:
    assets = f"{VERSIONED_URL}/{assets_version()}".lstrip("/")
    config = page_config(page, catalog, default_city(catalog, city), lang, settings, assets)
    return HTMLResponse(render(page, config, lang), headers={"Cache-Control": "no-cache"})


@router.get("/map", response_class=HTMLResponse, summary="The planner map (web app)")
def planner_page(
    catalog: CatalogDep, settings: SettingsDep, lang: LangDep, city: CityQuery = None
) -> HTMLResponse:
    return _page("planner", catalog, settings, city, lang)


@router.get("/public", response_class=HTMLResponse, summary="The public map (web app)")
def public_page(
    catalog: CatalogDep, settings: SettingsDep, lang: LangDep, city: CityQuery = None
) -> HTMLResponse:
    return _page("public", catalog, settings, city, lang)


@router.get("/cities", summary="The cities: title, centre, default zoom and bbox (lon/lat)")
def city_list(catalog: CatalogDep, lang: LangDep) -> dict[str, Any]:
    return {"cities": cities(catalog, lang)}


@router.get("/cities/{city}", summary="A city and the layers and fields the caller may see")
def city_layers(city: str, request: Request, catalog: CatalogDep, role: RoleDep) -> dict[str, Any]:
    """The city's layers and fields the caller may see, and since when their history runs
    (``history_since``, RFC 3339 UTC: the maps' date controls start there), and the id of
    the caller's API key (``key_id``: the change sets it made are its to undo)."""
    codes = request.app.state.definitions.codes
    meta = layer_meta(catalog, city, role, codes=codes)
    with read_engine(request).connect() as conn:
        since = history_since(conn, catalog.city(city).id, list(meta["layers"]))
    return {
        **meta,
        "role": role,
        "key_id": getattr(request.state, KEY_ID_STATE, None),  # the caller's own (undo: theirs)
        "history_since": since.isoformat() if since else None,
    }


@router.post(
    "/cities/{city}/stats",
    summary="Land use by class, residents and facilities inside a polygon (CRS84 GeoJSON)",
)
def city_stats(
    city: str,
    catalog: CatalogDep,
    engine: EngineDep,
    role: RoleDep,
    lang: LangDep,
    polygon: Annotated[dict[str, Any], Body(examples=[POLYGON_EXAMPLE])],
) -> dict[str, Any]:
    place = City(catalog, catalog.city(city), engine, role)
    return polygon_statistics(place, polygon, lang)
