"""A collection's features as GeoJSON pages: from the page cache, rendered ahead for a client
walking ``next`` links (``digitalcity.api.prefetch``), or one statement whose rows are gzipped
as PostgreSQL produces them; large pages streamed. Links never carry the caller's key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.engine import Engine
from starlette.datastructures import QueryParams

from digitalcity import metrics
from digitalcity.api.caller import KEY_QUERY_PARAMETER
from digitalcity.api.page_cache import PageCache
from digitalcity.api.params import items_query
from digitalcity.api.prefetch import NextPages, Rendered
from digitalcity.api.state import LiveLayers
from digitalcity.db.driver import STATEMENT_ERRORS, fetch_value, streamed_rows
from digitalcity.errors import DigitalCityError
from digitalcity.query.items import ItemsQuery, QueryError
from digitalcity.tiles.compress import GzipWriter, decompress


def next_pages(app: FastAPI) -> NextPages:
    """The app's pages rendered ahead; a fresh store once a shutdown has closed the last
    (an app served again, as tests do)."""
    pages: NextPages | None = getattr(app.state, "next_pages", None)
    if pages is None or pages.closed:
        pages = app.state.next_pages = NextPages(app.state.settings.items_prefetch_pages)
    return pages


STREAM_ROWS = 100  # features per write of a page streamed to the client (above items_stream_above)


# Features per fetch and per gzip call of a page rendered whole: small, so little is left to
# compress once PostgreSQL sends its last row. Cambridge 1,000-parcel bbox pages through the
# app at c=1, interleaved: median 10.1-10.4 ms at 25 against 10.8-11.2 ms at 100, the mean
# within 1 % and the CPU a page the same (+0.05 ms)
RENDER_ROWS = 25


def page_links(
    params: QueryParams,
    base: str,
    collection: str,
    query: ItemsQuery,
    has_next: bool,
    last_id: int | None = None,
) -> list[dict[str, str]]:
    """self, alternates, collection, and next / prev. Under the default id order ``next``
    continues after the page's last id (``after``: keyset paging, as cheap at any depth);
    with a ``sortby`` it moves ``offset`` on."""
    # The caller's key never goes into a link: links are cached and shared between callers.
    given = {k: v for k, v in params.items() if k != KEY_QUERY_PARAMETER}
    href = f"{base}/collections/{collection}/items"

    def at(offset: int | None, fmt: str | None = None, after: int | None = None) -> str:
        page = {k: v for k, v in given.items() if k not in ("offset", "after")}
        page["limit"] = str(query.limit)
        if after is not None:
            page["after"] = str(after)
        elif query.after is not None and offset is None:
            page["after"] = str(query.after)
        else:
            page["offset"] = str(offset or 0)
        if fmt:
            page["f"] = fmt
        return f"{href}?{urlencode(page)}"

    here = None if query.after is not None else query.offset
    links = [
        {"rel": "self", "type": "application/geo+json", "href": at(here, "json")},
        {"rel": "alternate", "type": "text/html", "href": at(here, "html")},
        {"rel": "alternate", "type": "text/csv", "href": at(here, "csv")},
        {
            "rel": "collection",
            "type": "application/json",
            "href": f"{base}/collections/{collection}",
        },
    ]
    if has_next:
        if not query.sortby and last_id is not None:
            following = at(None, after=last_id)
        else:
            following = at(query.offset + query.limit)
        links.append({"rel": "next", "type": "application/geo+json", "href": following})
    if query.offset > 0 and query.after is None:
        links.append(
            {
                "rel": "prev",
                "type": "application/geo+json",
                "href": at(max(0, query.offset - query.limit)),
            }
        )
    return links


@dataclass
class _PageState:
    """What a page learns while its features stream by."""

    returned: int = 0
    has_next: bool = False
    last_id: int | None = None


def _tail(
    params: QueryParams,
    base: str,
    collection: str,
    query: ItemsQuery,
    page: _PageState,
    matched: int | None,
) -> bytes:
    tail: dict[str, Any] = {
        "numberReturned": page.returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "links": page_links(
            params, base, collection, query, has_next=page.has_next, last_id=page.last_id
        ),
    }
    if matched is not None:
        tail["numberMatched"] = int(matched)
    return b"]," + json.dumps(tail)[1:].encode()


def _page_key(layers: LiveLayers, params: QueryParams, query: ItemsQuery, base: str) -> str | None:
    """The page's key in the page cache and among the pages rendered ahead: the layer's
    version, the caller's role, the base URL and every parameter but the key."""
    state = layers.get(query.layer)
    if state is None:
        return None
    given = sorted((k, v) for k, v in params.multi_items() if k != KEY_QUERY_PARAMETER)
    return PageCache.key(query.layer.city, query.layer.id, state.cache_tag, query.role, base, given)


def _feature_chunks(
    rows: Iterator[tuple[Any, ...]], limit: int, page: _PageState, batch_rows: int
) -> Iterator[bytes]:
    """Feature texts of a page joined ``batch_rows`` at a time (commas between them); the
    row past the page only tells that a next page exists. A statement the data cannot
    satisfy raises QueryError (a 400 while nothing has been sent)."""
    batch: list[str] = []
    try:
        for row in rows:
            if page.returned == limit:
                page.has_next = True
                continue
            batch.append(row[0])
            page.last_id = row[1]
            page.returned += 1
            if len(batch) == batch_rows:
                yield (b"," if page.returned > batch_rows else b"") + ",".join(batch).encode()
                batch = []
    except STATEMENT_ERRORS as exc:
        raise _unevaluable(exc) from None
    if batch:
        yield (b"," if page.returned > len(batch) else b"") + ",".join(batch).encode()


def _count(engine: Engine, query: ItemsQuery) -> int:
    """The number of matching features; a filter the data cannot satisfy (an overflow in its
    arithmetic, a complex power) is a 400 like in the page statement."""
    sql, params = query.count_sql(engine.dialect)
    try:
        return int(fetch_value(engine, sql, params))
    except STATEMENT_ERRORS as exc:
        raise _unevaluable(exc) from None


def _unevaluable(exc: Exception) -> QueryError:
    """The 400 for a statement the data cannot satisfy: the server's first line."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return QueryError(f"the query cannot be evaluated: {message}")


def _matched(engine: Engine, query: ItemsQuery, page: _PageState, counting: bool) -> int | None:
    """numberMatched. A page that holds the last match tells it without counting (the
    ``offset`` matches before it and those on it); only a full page, or one past the end,
    costs a count statement. Most map and bbox pages hold all their matches, and a count
    inside every page statement made an as-of page (two relations counted) 1.4x the current
    page (bench.edits)."""
    if not counting:
        return None
    if not page.has_next and (page.returned > 0 or query.offset == 0):
        return query.offset + page.returned
    return _count(engine, query)


def geojson_page(
    request: Request, engine: Engine, base: str, collection: str, query: ItemsQuery
) -> Response:
    """A page of features: from the page cache, rendered ahead (``_walk_on``), or one
    statement (limit + 1 rows, to know whether a next page exists) whose rows are gzipped
    as PostgreSQL produces them, and a count statement when the page cannot tell the number
    matched (``_matched``)."""
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    state = request.app.state
    if query.limit > state.settings.items_stream_above:
        counting = _counting(request, query)
        return _geojson_stream(request, engine, base, collection, query, headers, counting)
    key = _page_key(state.layers, request.query_params, query, base)
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "").lower()
    headers["Vary"] = "Accept-Encoding"
    if key is None:
        rendered = render_page(
            engine, request.query_params, base, collection, query, _counting(request, query)
        )
        return _page_response(rendered.body, gzip_ok, headers)
    headers["ETag"] = f'W/"{key[:32]}"'
    headers["Cache-Control"] = (
        "public, max-age=60" if query.role == "anonymous" else "private, max-age=60"
    )
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    cached = state.pages.get(key)
    if state.pages.max_bytes:  # the cache is on (DIGITALCITY_ITEMS_CACHE_MB)
        metrics.cache_lookup("items", cached is not None)
    if cached is not None:
        return _page_response(cached, gzip_ok, headers)
    rendered = next_pages(request.app).take(key) or render_page(
        engine, request.query_params, base, collection, query, _counting(request, query)
    )
    state.pages.put(key, rendered.body)
    if query.after is not None and rendered.next_after is not None:
        # only a client already following next links is walking: a map's bbox page with
        # more matches than its limit is rarely followed, and rendering on would double it
        _walk_on(request, engine, base, collection, query, rendered.next_after)
    return _page_response(rendered.body, gzip_ok, headers)


def _counting(request: Request, query: ItemsQuery) -> bool:
    """Whether the page carries numberMatched. A keyset page (``after``) leaves it out
    (optional in OGC API – Features): counting every match on each page would make a full
    walk quadratic in the layer's size."""
    state = request.app.state.layers.get(query.layer)
    return (
        state is not None
        and query.after is None
        and state.rows <= request.app.state.settings.count_threshold
    )


def render_page(
    engine: Engine,
    params: QueryParams,
    base: str,
    collection: str,
    query: ItemsQuery,
    counting: bool,
) -> Rendered:
    """The gzip body of a page of ``query`` (``params``: its request's, for its links), and
    the ``after`` its next link continues from when it continues by key."""
    sql, values = query.page_sql(engine.dialect, extra_row=True)
    page = _PageState()
    rows = streamed_rows(engine, sql, values, chunk=RENDER_ROWS)
    chunks = _feature_chunks(rows, query.limit, page, RENDER_ROWS)
    out = GzipWriter()
    out.write(b'{"type":"FeatureCollection","features":[')
    for chunk in chunks:
        out.write(chunk)
    matched = _matched(engine, query, page, counting)
    out.write(_tail(params, base, collection, query, page, matched))
    by_key = page.has_next and not query.sortby
    return Rendered(out.finish(), page.last_id if by_key else None)


def _walk_on(
    request: Request, engine: Engine, base: str, collection: str, query: ItemsQuery, after: int
) -> None:
    """Render, in the background, the page this one's ``next`` link leads to (see
    ``digitalcity.api.prefetch``): its parameters are the link's own, so its key is the one
    the client's next request will have."""
    state = request.app.state
    links = page_links(request.query_params, base, collection, query, True, after)
    params = QueryParams(urlsplit(next(x["href"] for x in links if x["rel"] == "next")).query)
    try:
        ahead = items_query(params, query.layer, query.city, query.role, state.settings)
    except DigitalCityError:  # a link the parser refuses is answered when asked for, not here
        return
    key = _page_key(state.layers, params, ahead, base)
    if key is None or state.pages.get(key) is not None:
        return

    next_pages(request.app).schedule(
        key, lambda: render_page(engine, params, base, collection, ahead, counting=False)
    )


def _page_response(compressed: bytes, gzip_ok: bool, headers: dict[str, str]) -> Response:
    if gzip_ok:
        return Response(
            compressed,
            media_type="application/geo+json",
            headers={**headers, "Content-Encoding": "gzip"},
        )
    return Response(decompress(compressed), media_type="application/geo+json", headers=headers)


def _geojson_stream(
    request: Request,
    engine: Engine,
    base: str,
    collection: str,
    query: ItemsQuery,
    headers: dict[str, str],
    counting: bool,
) -> StreamingResponse:
    """Large pages go out as they come from the database, a chunk of features per write."""
    sql, params = query.page_sql(engine.dialect, extra_row=True)
    page = _PageState()
    rows = streamed_rows(engine, sql, params, chunk=STREAM_ROWS)
    chunks = _feature_chunks(rows, query.limit, page, STREAM_ROWS)
    try:
        first = next(chunks, b"")  # runs the statement: its errors are 400s before any output
    except QueryError:
        rows.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            yield b'{"type":"FeatureCollection","features":[' + first
            yield from chunks
            matched = _matched(engine, query, page, counting)
            yield _tail(request.query_params, base, collection, query, page, matched)
        finally:
            rows.close()

    return StreamingResponse(body(), media_type="application/geo+json", headers=headers)
