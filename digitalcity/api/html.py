"""Plain HTML views of API resources for people (every value escaped)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi.responses import HTMLResponse

from digitalcity.catalog import FieldDef
from digitalcity.catalog.units import unit_text
from digitalcity.web import VERSIONED_URL, assets_version
from digitalcity.web.pages import TITLES as PAGE_TITLES

_STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2733}
header{background:#17324d;color:#fff;padding:.7rem 1.2rem}header a{color:#fff;text-decoration:none}
main{padding:1rem 1.2rem;max-width:1200px}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d5dde5;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f7}a{color:#0b5cad}.muted{color:#66727f}nav a{margin-right:1rem}
code{background:#f3f5f7;padding:0 .2rem}
.preview{height:360px;margin:.8rem 0;border:1px solid #d5dde5}
"""


# Every word these pages show, in Chinese and English (field and layer titles come from the
# definitions, kinds from ``KIND_TITLES``).
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "next": "下一页", "prev": "上一页", "collection": "所属图层", "data": "全部图层",
        "items": "要素列表", "conformance": "标准符合性", "service-desc": "OpenAPI 文档",
        "service-doc": "接口文档", "schema": "数据结构", "describedBy": "GeoJSON 数据结构",
        "queryables": "可查询字段", "sortables": "可排序字段", "tilesets-vector": "矢量瓦片",
        "features_as": "要素（{format}）", "property": "属性", "value": "值",
        "no_features": "无要素", "collections": "图层", "layer": "图层", "city": "城市", "kind": "类别",
        "geometry": "几何类型", "id": "编号", "description": "说明", "features": "要素数",
        "version": "版本", "extent": "范围（经纬度）",
    },
    "en": {
        "next": "Next page", "prev": "Previous page", "collection": "Collection",
        "data": "All collections", "items": "Features", "conformance": "Conformance",
        "service-desc": "OpenAPI document", "service-doc": "API documentation",
        "schema": "Schema", "describedBy": "GeoJSON schema", "queryables": "Queryables",
        "sortables": "Sortables", "tilesets-vector": "Vector tiles",
        "features_as": "Features ({format})", "property": "Property", "value": "Value",
        "no_features": "No features", "collections": "Collections", "layer": "Layer", "city": "City",
        "kind": "Kind", "geometry": "Geometry", "id": "ID", "description": "Description",
        "features": "Features", "version": "Version", "extent": "Extent (lon/lat)",
    },
}  # fmt: skip
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
FORMATS = {
    "application/json": "JSON",
    "application/geo+json": "GeoJSON",
    "text/csv": "CSV",
    "application/schema+json": "JSON Schema",
}
# rels whose JSON documents have an HTML page of their own, linked as that page
HTML_PAGES = {"collection", "data", "conformance"}


def field_labels(fields: Iterable[FieldDef], lang: str) -> dict[str, str]:
    """{field name: its title in ``lang``, with its unit}: the headers of feature tables."""
    labels = {}
    for f in fields:
        unit = unit_text(f.unit, lang)
        title = f.title.get(lang)
        labels[f.name] = (
            title if not unit else (f"{title}（{unit}）" if lang == "zh" else f"{title} ({unit})")
        )
    return labels


def word(key: str, lang: str) -> str:
    """The page word ``key`` in ``lang`` (English for any other language)."""
    return WORDS.get(lang, WORDS["en"])[key]


def html_href(href: str, lang: str) -> str:
    """``href`` asking for its HTML page in ``lang`` (other query parameters kept)."""
    parts = urlsplit(href)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("f", "lang")]
    query += [("f", "html"), ("lang", lang)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def map_preview(base: str, city: str, lang: str, geometries: Iterable[dict | None]) -> str:
    """A map of the page's features (GeoJSON geometries in lon/lat) over the city's public map
    (the API's own style and tiles, which anyone may read), for people browsing the API; ""
    when none has a geometry. The data is the page's own: no key, no other field."""
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries if g]
    if not features:
        return ""
    assets = escape(f"{base}{VERSIONED_URL}/{assets_version()}", quote=True)
    config = {
        "style": f"{base}/styles/{city}/public?lang={lang}",
        "features": {"type": "FeatureCollection", "features": features},
    }
    # no "<" inside the script element (JSON's own escape for it): nothing in the data can end
    # the element or change how the parser reads it ("</script", "<!--")
    data = json.dumps(config, separators=(",", ":")).replace("<", "\\u003c")
    return (
        f'<link rel="stylesheet" href="{assets}/vendor/maplibre-gl/maplibre-gl.css">'
        '<div id="preview" class="preview"></div>'
        f'<script type="application/json" id="dc-preview">{data}</script>'
        f'<script src="{assets}/vendor/maplibre-gl/maplibre-gl.js"></script>'
        f'<script type="module" src="{assets}/js/preview.js"></script>'
    )


def map_links(base: str, city: str, lang: str, *, public: bool = True) -> str:
    """Links to the city's planner map and (``public``) public map, named as the maps name
    themselves, in ``lang``."""
    pages = [("planner", "map")] + ([("public", "public")] if public else [])
    links = " ".join(
        link(f"{base}/{path}?{urlencode({'city': city, 'lang': lang})}", PAGE_TITLES[page][lang])
        for page, path in pages
    )
    return f'<p class="maps">{links}</p>'


def page(title: str, body: str, lang: str = "en") -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request (a 404 in every browser)
        f"<title>{escape(title)} · digitalcity</title><style>{_STYLE}</style></head><body>"
        f'<header><a href="{escape(html_href("/", lang), quote=True)}">digitalcity 数字城市</a>'
        f"</header><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html)


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'


def cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False)[:300])}</code>"
    return escape(str(value))


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: list[str],
    lang: str,
    headers: Mapping[str, str] | None = None,
) -> str:
    """A table of ``rows`` (``_link`` cells are HTML already, the rest escaped), its header
    cells ``headers`` where given, else the column names."""
    rows = list(rows)
    if not rows:
        return f'<p class="muted">{escape(word("no_features", lang))}</p>'
    headers = headers or {}
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{r.get(c) if c == '_link' else cell(r.get(c))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definition_list(
    items: Mapping[str, Any], lang: str, labels: Mapping[str, str] | None = None
) -> str:
    """Property and value in two columns, each property shown as ``labels`` names it."""
    labels = labels or {}
    rows = [{"property": labels.get(k, k), "value": v} for k, v in items.items()]
    columns = ["property", "value"]
    return table(rows, columns, lang, {c: word(c, lang) for c in columns})


def _nav_link(lk: Mapping[str, Any], lang: str) -> tuple[str, str] | None:
    """(label, href) of one link of a document on its HTML page; None for the page itself."""
    rel = str(lk["rel"]).removeprefix(OGC_REL)
    kind = str(lk.get("type") or "").split(";")[0]
    href = str(lk["href"])
    if kind == "text/html" and rel in ("self", "alternate"):
        return None
    if kind == "text/html" and rel != "service-doc":  # our pages (Swagger UI speaks English)
        href = html_href(href, lang)
    fmt = FORMATS.get(kind, kind)
    if rel in ("self", "alternate"):
        return fmt, href
    if rel == "items" and kind != "text/html":
        return word("features_as", lang).format(format=fmt), href
    if rel in HTML_PAGES:
        href = html_href(href, lang)
    label = word(rel, lang) if rel in WORDS["en"] else rel
    if rel == "tilesets-vector" and lk.get("title"):
        label = f"{label}: {lk['title']}"
    return label, href


def links_nav(links: list[dict[str, Any]], lang: str) -> str:
    """A document's links as a line of links in ``lang``: other formats of the page, pages
    before and after, the documents it points to (as HTML where they have a page)."""
    shown: list[tuple[str, str]] = []
    for lk in links:
        entry = _nav_link(lk, lang)
        if entry and entry not in shown:
            shown.append(entry)
    return "<nav>" + "".join(link(href, label) for label, href in shown) + "</nav>"
