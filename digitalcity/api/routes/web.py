"""The map pages (``/map`` for planners, ``/public`` for citizens), their static assets, the
city list they start from, and the statistics of a polygon drawn on the planner map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from digitalcity.api.deps import CatalogDep, EngineDep, RoleDep, SettingsDep
from digitalcity.api.negotiation import LangDep
from digitalcity.city import City
from digitalcity.web import STATIC_URL, static_dir
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


def static_files() -> StaticFiles:
    """The pages' JavaScript, CSS and vendored libraries, mounted at ``STATIC_URL``."""
    return StaticFiles(directory=static_dir())


def _page(page: Page, catalog: Any, settings: Any, city: str | None, lang: str) -> HTMLResponse:
    config = page_config(
        page, catalog, default_city(catalog, city), lang, settings, STATIC_URL.lstrip("/")
    )
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
    codes = request.app.state.definitions.codes
    return {**layer_meta(catalog, city, role, codes=codes), "role": role}


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
