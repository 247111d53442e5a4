"""The HTML pages: small templates under ``templates/`` filled with a JSON config.

The config tells the page's script which city and language to open, where the assets are,
the cities to offer, the public layer metadata (titles, fields) and the optional external
basemap. No request data other than the chosen city and language goes into a page.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib import resources
from typing import Any, Literal
from urllib.parse import quote

from digitalcity.catalog import Catalog
from digitalcity.catalog.model import KIND_TITLES
from digitalcity.catalog.units import UNITS_ZH
from digitalcity.config import Settings
from digitalcity.web.cities import cities, layer_meta

Page = Literal["planner", "public", "static"]
TITLES = {
    "planner": {"zh": "规划工作图", "en": "Planner map"},
    "public": {"zh": "公众地图", "en": "Public map"},
    "static": {"zh": "公众地图", "en": "Public map"},
}
TEMPLATES = {"planner": "planner.html", "public": "public.html", "static": "public.html"}


@cache
def _template(name: str) -> str:
    return resources.files("digitalcity.web").joinpath("templates", name).read_text("utf-8")


def basemap(settings: Settings | None) -> dict[str, Any] | None:
    """The optional external raster basemap: ``settings.basemap_url`` (an XYZ template with
    ``{z}/{x}/{y}``) and ``settings.basemap_crs`` (``WGS84`` or ``GCJ-02``); None when unset
    (and for static sites, built without settings)."""
    url = settings.basemap_url if settings else None
    if not url or settings is None:
        return None
    crs = (settings.basemap_crs or "WGS84").upper().replace("_", "-")
    return {
        "url": url,
        "crs": "GCJ-02" if crs in ("GCJ-02", "GCJ02") else "WGS84",
        "attribution": settings.basemap_attribution or "",
    }


def default_city(catalog: Catalog, requested: str | None) -> str:
    """``requested`` when it is a city of the catalog, else the first city with parcels."""
    if requested in catalog.cities:
        return str(requested)
    with_parcels = [c.id for c in catalog.cities.values() if c.roles.parcels]
    return (with_parcels or list(catalog.cities))[0]


def page_config(
    page: Page, catalog: Catalog, city: str, lang: str, settings: Any, assets: str
) -> dict[str, Any]:
    """The JSON the page's script starts from (public layer metadata of every city)."""
    return {
        "page": page,
        "city": city,
        "lang": lang,
        "assets": assets,
        "cities": cities(catalog, lang),
        "meta": {c: layer_meta(catalog, c, "anonymous") for c in catalog.cities},
        "basemap": basemap(settings),
        "kinds": KIND_TITLES,
        "unitsZh": UNITS_ZH,
    }


def render(page: Page, config: dict[str, Any], lang: str) -> str:
    """The page's HTML with ``config`` embedded as JSON (safe inside a script element)."""
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        _template(TEMPLATES[page])
        .replace("{{lang}}", "zh-CN" if lang == "zh" else "en")
        .replace("{{title}}", escape(TITLES[page][lang]))
        .replace("{{assets}}", escape(config["assets"]))
        .replace("{{feeds}}", _feed_link(page, config, lang))
        .replace("{{config}}", data)
    )


def _feed_link(page: Page, config: dict[str, Any], lang: str) -> str:
    """The page's city's recent changes as an Atom feed, for browsers and feed readers to
    discover (none on a static site, which has no API)."""
    if page == "static":
        return ""
    from digitalcity.history.atom import MEDIA_TYPE, word

    city = config["city"]
    named: dict[str, Any] = next((c for c in config["cities"] if c["id"] == city), {})
    title = word("feed", lang, city=named.get("titles", {}).get(lang, city))
    href = f"/cities/{quote(city)}/changes.atom?lang={lang}"
    return (
        f'<link rel="alternate" type="{MEDIA_TYPE}" title="{escape(title)}" href="{escape(href)}">'
    )
