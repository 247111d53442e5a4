"""MapLibre styles and legends of a city, generated from the catalog and the code tables.

``/styles/{city}/planner`` shows every layer the caller may see; ``/styles/{city}/public``
only public layers whoever asks. Both draw from the city tileset (absolute URLs): the
planner's whole, the public map's by theme (``tiles/selections.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from digitalcity.api.deps import RoleDep, SettingsDep, base_url
from digitalcity.api.routes.tiles import TilesDep
from digitalcity.catalog import Role
from digitalcity.catalog.codes import code_tables
from digitalcity.errors import NotFound
from digitalcity.tiles import metadata as meta
from digitalcity.tiles import style as styles
from digitalcity.tiles.selections import theme_selections
from digitalcity.tiles.service import TileService
from digitalcity.tiles.symbology import Symbol, Symbology, native_first_cities
from digitalcity.tiles.tms import TMS_ID

StyleName = Literal["planner", "public"]
ClientQuery = Annotated[
    styles.Client,
    Query(description="maplibre (web maps) or qgis: leaves out the layers off by default"),
]
LangQuery = Annotated[str, Query(pattern="^(zh|en)$", description="zh or en")]
router = APIRouter(tags=["styles"])


def _symbology(request: Request, settings: Any) -> Symbology:
    found = getattr(request.app.state, "symbology", None)
    if found is None:
        tables = getattr(request.app.state, "codes", None) or code_tables(settings.layers_dir)
        catalog = request.app.state.definitions.catalog
        found = Symbology(tables, settings.layers_dir, native_first_cities(catalog))
        request.app.state.symbology = found
    return found


def _style_role(name: str, role: Role) -> Role:
    return "anonymous" if name == "public" else role


def _parts(
    request: Request,
    service: TileService,
    settings: Any,
    city_id: str,
    style: StyleName,
    role: Role,
    lang: str,
) -> tuple[meta.TilesetInfo, list[Symbol]]:
    city = service.catalog.city(city_id)
    plans = service.city_layers(city.id, role)
    base = base_url(request)
    info = meta.TilesetInfo(
        city=city,
        plans=plans,
        title=city.title.get(lang),
        description=city.title.get(lang),
        tiles_url=f"{base}/tiles/{city.id}/{{z}}/{{x}}/{{y}}",
        self_url=f"{base}/tiles/{city.id}/{TMS_ID}",
        tilejson_url=f"{base}/tiles/{city.id}/tilejson.json",
        base_url=base,
        lang=lang,
    )
    shown = {p.layer.id for p in plans}
    symbols = _symbology(request, settings).symbols(
        list(service.catalog.city_layers(city.id)), shown, lang, style
    )
    return info, symbols


@router.get("/styles/{city}/legend")
def city_legend(
    city: str,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    settings: SettingsDep,
    lang: LangQuery = "zh",
    style: StyleName = "planner",
) -> dict[str, Any]:
    """Legend of a style: per layer its title and entries (colour, label), as in the style."""
    info, symbols = _parts(request, service, settings, city, style, _style_role(style, role), lang)
    return styles.legend(style, info.city, symbols, lang)


@router.get("/styles/{city}/{name}")
def city_style(
    city: str,
    name: str,
    request: Request,
    role: RoleDep,
    service: TilesDep,
    settings: SettingsDep,
    lang: LangQuery = "zh",
    client: ClientQuery = "maplibre",
) -> dict[str, Any]:
    """MapLibre style JSON (version 8): ``planner`` (the caller's layers) or ``public``;
    ``client=qgis`` for QGIS's converter (layers off by default left out)."""
    if name not in ("planner", "public"):
        raise NotFound(f"unknown style {name[:60]!r}: planner or public")
    style_name: StyleName = "planner" if name == "planner" else "public"
    info, symbols = _parts(
        request, service, settings, city, style_name, _style_role(name, role), lang
    )
    # The public map shows one theme at a time, so it reads the tileset by theme and fetches
    # only the theme shown. The planner shows several at once and keeps one source (one
    # request per tile); QGIS's converter draws a style from one tile URL.
    # The parts are those of its own layers (the parts ``TileService.public_map_parts`` seeds:
    # one rule, ``theme_selections``), so a layer loaded meanwhile cannot be left without one.
    by_theme = style_name == "public" and client == "maplibre"
    selections = theme_selections(s.layer for s in symbols) if by_theme else None
    return styles.style(
        name, info, symbols, service.versions.current, client, selections=selections
    )
