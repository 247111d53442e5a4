"""Output format and language of a request: ``f=`` / ``Accept``, ``lang=`` / ``Accept-Language``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from starlette.datastructures import Headers, QueryParams

from digitalcity.query.items import QueryError

Format = Literal["json", "html", "csv"]
Lang = Literal["zh", "en"]

_F_VALUES: dict[str, Format] = {
    "json": "json",
    "geojson": "json",
    "application/geo+json": "json",
    "application/json": "json",
    "html": "html",
    "text/html": "html",
    "csv": "csv",
    "text/csv": "csv",
}


# Request headers the answer was chosen by (``Accept`` without ``f=``, ``Accept-Language``
# without ``lang=``), in the request's state: the caller middleware names them in ``Vary``, so
# a shared cache never hands an English page to a Chinese reader, or HTML to a GIS client.
VARY_STATE = "vary"


def _chosen_by(request: Request, header: str) -> None:
    chosen: set[str] = getattr(request.state, VARY_STATE, set())
    chosen.add(header)
    setattr(request.state, VARY_STATE, chosen)


async def output_format(request: Request) -> Format:
    explicit = request.query_params.get("f")
    if explicit is not None:
        try:
            return _F_VALUES[explicit.lower()]
        except KeyError:
            raise QueryError(f"f must be one of json, html, csv; not {explicit!r}") from None
    _chosen_by(request, "Accept")
    accept = request.headers.get("accept", "")
    for part in (p.split(";")[0].strip().lower() for p in accept.split(",")):
        if part in ("application/geo+json", "application/json"):
            return "json"
        if part == "text/html":
            return "html"
        if part == "text/csv":
            return "csv"
    return "json"


ItemsFormat = Literal["json", "html", "csv", "gpkg", "shp", "fgb", "kml", "txt"]
_EXPORTS: dict[str, ItemsFormat] = {
    "gpkg": "gpkg",
    "application/geopackage+sqlite3": "gpkg",
    "shp": "shp",
    "application/x-shapefile+zip": "shp",
    "fgb": "fgb",
    "application/flatgeobuf": "fgb",
    "kml": "kml",
    "application/vnd.google-earth.kml+xml": "kml",
    "txt": "txt",  # boundary points (界址点坐标), the coordinate exchange format
}


async def items_format(request: Request) -> ItemsFormat:
    """The format of an items request: those of ``output_format`` and the file exports."""
    explicit = request.query_params.get("f")
    if explicit is not None and explicit.lower() in _EXPORTS:
        return _EXPORTS[explicit.lower()]
    if explicit is None:
        _chosen_by(request, "Accept")
    accept = request.headers.get("accept", "")
    for part in (p.split(";")[0].strip().lower() for p in accept.split(",")):
        if part in _EXPORTS and explicit is None:
            return _EXPORTS[part]
    try:
        return await output_format(request)
    except QueryError:
        raise QueryError(
            f"f must be one of json, html, csv, {', '.join(sorted(set(_EXPORTS.values())))}; "
            f"not {explicit!r}"
        ) from None


def lang_of(query: QueryParams, headers: Headers) -> Lang:
    """The answer's language: ``lang=``, else the first of ``Accept-Language``; zh or en."""
    explicit = query.get("lang")
    if explicit:
        return "zh" if explicit.lower().startswith("zh") else "en"
    first = headers.get("accept-language", "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


async def language(request: Request) -> Lang:
    if not request.query_params.get("lang"):
        _chosen_by(request, "Accept-Language")
    return lang_of(request.query_params, request.headers)


FormatDep = Annotated[Format, Depends(output_format)]
LangDep = Annotated[Lang, Depends(language)]
ItemsFormatDep = Annotated[ItemsFormat, Depends(items_format)]
