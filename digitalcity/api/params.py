"""Parsing of OGC API query parameters into an ItemsQuery; every mistake is a 400."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from fastapi import Query
from starlette.datastructures import QueryParams

from digitalcity.catalog.access import Role
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.config import Settings
from digitalcity.query import parse_json, parse_text
from digitalcity.query.crs_ref import CRSRef, parse_crs, supported_crs
from digitalcity.query.items import ItemsQuery, QueryError, queryables

STANDARD = frozenset(
    {
        "f",
        "bbox",
        "bbox-crs",
        "crs",
        "limit",
        "offset",
        "properties",
        "sortby",
        "filter",
        "filter-lang",
        "filter-crs",
        "datetime",
        "lang",
        "api_key",
        "encoding",
        "attachments",
        "as-of",
        "after",
    }
)
# Keyset paging: ``after=<id>`` continues after the feature with that id (default id order).
MAX_ID = 2**63 - 1
# ``as-of`` on the routes that take it beside their own parameters (tiles, cards, analyses)
AsOfQuery = Annotated[
    str | None,
    Query(
        alias="as-of",
        max_length=64,
        description="RFC 3339 instant: the answer as the layers were then (from their history)",
    ),
]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        numbers = [float(v) for v in text.split(",")]
    except ValueError:
        raise QueryError(f"bbox must be 4 or 6 comma-separated numbers, not {text!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        raise QueryError(f"bbox must be 4 or 6 comma-separated numbers, not {text!r}")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def parse_int(text: str | None, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within ``low``..``high`` (a 400 otherwise)."""
    if text is None:
        return default
    value = _integer(text, name)
    if not low <= value <= high:
        raise QueryError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _integer(text: str, name: str) -> int:
    if len(text) > 30:
        raise QueryError(f"{name} must be an integer, not {text[:30]!r}…")
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"{name} must be an integer, not {text!r}") from None


def parse_limit(text: str | None, default: int, maximum: int) -> int:
    """``limit``: at least 1; above the server's maximum it is clamped to it (OGC API –
    Features /req/core/fc-limit-response: the server returns at most its maximum)."""
    if text is None:
        return default
    value = _integer(text, "limit")
    if value < 1:
        raise QueryError(f"limit must be at least 1, not {value}")
    return min(value, maximum)


def _instant(text: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"datetime {text!r} is not RFC 3339 (e.g. 2018-02-12T23:20:50Z)") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def parse_datetime(text: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant or an interval ``start/end`` with ``..`` for open ends."""
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start, end = _instant(start_text), _instant(end_text)
        if start and end and start > end:
            raise QueryError("datetime interval starts after it ends")
        return start, end
    instant = _instant(text)
    if instant is None:
        raise QueryError("datetime must not be empty")
    if len(text) == 10:  # a whole day
        return instant, instant + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return instant, instant


def parse_sortby(text: str) -> tuple[tuple[str, bool], ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        out.append((part.lstrip("+-"), descending))
    return tuple(out)


FILTER_LANGS = {  # GDAL's OGC API driver sends the pre-standard names cql-text / cql-json
    "cql2-text": parse_text,
    "cql-text": parse_text,
    "cql2-json": parse_json,
    "cql-json": parse_json,
}


def parse_filter(text: str, lang: str | None):  # noqa: ANN201
    name = (lang or "cql2-text").lower()
    parse = FILTER_LANGS.get(name)
    if parse is None:
        raise QueryError(f"filter-lang must be cql2-text or cql2-json, not {name[:40]!r}")
    return parse(text)


def _after(params: QueryParams) -> int | None:
    """The keyset cursor: only under the default id order and without an offset."""
    text = params.get("after")
    if text is None:
        return None
    if params.get("sortby", "").strip():
        raise QueryError("after cannot be combined with sortby; page with offset instead")
    if params.get("offset") not in (None, "0"):
        raise QueryError("after cannot be combined with offset")
    return parse_int(text, "after", 0, -MAX_ID, MAX_ID)


def parse_as_of(text: str | None) -> dt.datetime | None:
    """``as-of``: one RFC 3339 instant (a date alone is its start, UTC); not in the future."""
    if text is None:
        return None
    if "/" in text:
        raise QueryError("as-of is one instant, not an interval")
    instant = _instant(text.strip())
    if instant is None:
        raise QueryError("as-of must be an RFC 3339 timestamp, e.g. 2026-06-01T00:00:00Z")
    return instant


def _crs(params: QueryParams, name: str, allowed: tuple[str, ...]) -> CRSRef:
    value = params.get(name)
    return parse_crs(value or allowed[0], allowed)


def items_query(
    params: QueryParams,
    layer: LayerDef,
    city: CityDef,
    role: Role,
    settings: Settings,
    *,
    feature_id: int | None = None,
) -> ItemsQuery:
    """Validate every parameter of an items (or single feature) request."""
    allowed = supported_crs(city)
    searchable = queryables(layer, role)
    unknown = [k for k in params if k not in STANDARD and k not in searchable]
    if unknown:
        raise QueryError(f"unknown query parameters {sorted(unknown)}")
    equals = tuple((k, v) for k, v in params.items() if k in searchable and k not in STANDARD)
    properties = params.get("properties")
    return ItemsQuery(
        layer=layer,
        city=city,
        role=role,
        bbox=parse_bbox(params["bbox"]) if "bbox" in params else None,
        bbox_crs=_crs(params, "bbox-crs", allowed),
        crs=_crs(params, "crs", allowed),
        limit=parse_limit(
            params.get("limit"), settings.items_default_limit, settings.items_max_limit
        ),
        offset=parse_int(params.get("offset"), "offset", 0, 0, 10_000_000),
        after=_after(params),
        as_of=parse_as_of(params.get("as-of")),
        properties=tuple(p.strip() for p in properties.split(",") if p.strip())
        if properties is not None
        else None,
        sortby=parse_sortby(params.get("sortby", "")),
        filter=parse_filter(params["filter"], params.get("filter-lang"))
        if params.get("filter")
        else None,
        filter_crs=_crs(params, "filter-crs", allowed),
        datetime=parse_datetime(params["datetime"]) if "datetime" in params else None,
        feature_id=feature_id,
        equals=equals,
    )
