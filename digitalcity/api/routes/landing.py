"""Landing page and conformance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from digitalcity.api import html, openapi
from digitalcity.api.deps import BaseUrlDep, CatalogDep, RoleDep
from digitalcity.api.documents import CONFORMANCE, landing
from digitalcity.api.negotiation import FormatDep, LangDep
from digitalcity.catalog import LayerDef, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import KIND_TITLES

router = APIRouter(tags=["capabilities"])


@router.get("/", summary="Landing page")
def landing_page(
    base: BaseUrlDep, fmt: FormatDep, lang: LangDep, catalog: CatalogDep, role: RoleDep
) -> Any:
    doc = landing(base, lang, catalog.cities.values())
    if fmt != "html":
        return doc

    def collection_page(layer: LayerDef) -> str:
        return html.html_href(f"{base}/collections/{collection_id(layer)}", lang)

    cities = "".join(
        f"<h2>{html.cell(city.title.get(lang))}</h2>{html.map_links(base, city.id, lang)}<ul>"
        + "".join(
            f"<li>{html.link(collection_page(layer), layer.title.get(lang))}"
            f" <span class='muted'>{html.cell(KIND_TITLES[layer.kind][lang])}</span></li>"
            for layer in catalog.city_layers(city.id)
            if visible_layer(role, layer)
        )
        + "</ul>"
        for city in catalog.cities.values()
    )
    return html.page(doc["title"], html.links_nav(doc["links"], lang) + cities, lang)


@router.get("/conformance", summary="Conformance classes")
def conformance(fmt: FormatDep, lang: LangDep) -> Any:
    if fmt == "html":
        items = "".join(f"<li><code>{html.cell(c)}</code></li>" for c in CONFORMANCE)
        return html.page(html.word("conformance", lang), f"<ul>{items}</ul>", lang)
    return {"conformsTo": CONFORMANCE}


@router.get("/api", include_in_schema=False)
def api_document(request: Request, role: RoleDep) -> Response:
    """The OpenAPI 3.0 document (``service-desc``), as the caller's role sees the collections."""
    return Response(openapi.document(request.app, role), media_type=openapi.MEDIA_TYPE)


@router.get("/api.html", include_in_schema=False)
def api_page(base: BaseUrlDep) -> HTMLResponse:
    """Swagger UI over ``/api`` (``service-doc``)."""
    return get_swagger_ui_html(openapi_url=f"{base}/api", title="digitalcity geo API")
