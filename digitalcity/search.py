"""Text search over every layer that declares ``search_fields``: prefix, fuzzy (trigram),
substring and every-word (the query's words in any order) matching, so parcel ids, English
addresses and Chinese names all work.

Hits rank by match quality weighted by the layer's search priority (``search_priority`` in
its definition, else its kind's: addresses and parcels, streets, places and districts before
street furniture); the segments of one street (hits of a line layer with the same label) are
merged into one hit over their whole extent (so are the areas of one zoning district: any hits
of a layer with the same label); a hit's label is never empty or "None"."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import Compiled

from digitalcity import pinyin_keys
from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.city import City
from digitalcity.coordinates import LONLAT, places
from digitalcity.errors import DigitalCityError
from digitalcity.query.like import like_escaped

MAX_QUERY_LENGTH = 200


PRIORITY_WEIGHT = 0.5  # how much the layer's priority counts beside the match quality
MERGE_FETCH = 5  # a layer fetches this many times the limit, to merge same-label features


@dataclass(frozen=True)
class SearchHit:
    collection: str
    layer: str
    fid: int
    label: str
    field: str
    value: str
    score: float
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]
    layer_title: dict[str, str] = dataclasses.field(default_factory=dict)
    parts: int = 1  # segments merged into this hit (a street's)
    rank: float = 0.0  # score weighted by the layer's search priority

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "feature", **self.__dict__, "bbox": list(self.bbox)}


def _label(label: Any, value: Any) -> str | None:
    """The text shown for a hit: its label, else the matched value; never "None"."""
    for text in (label, value):
        if text is not None and str(text).strip() and str(text).strip().lower() != "none":
            return str(text).strip()
    return None


def _merged(hits: list[SearchHit]) -> list[SearchHit]:
    """One hit per (layer, label), spanning the extent of every feature merged into it."""
    out: dict[tuple[str, str], SearchHit] = {}
    for hit in hits:
        key = (hit.layer, hit.label.lower())
        seen = out.get(key)
        if seen is None:
            out[key] = hit
            continue
        box = (
            min(seen.bbox[0], hit.bbox[0]),
            min(seen.bbox[1], hit.bbox[1]),
            max(seen.bbox[2], hit.bbox[2]),
            max(seen.bbox[3], hit.bbox[3]),
        )
        best = seen if (seen.score, -seen.fid) >= (hit.score, -hit.fid) else hit
        out[key] = replace(
            best,
            bbox=box,
            lon=(box[0] + box[2]) / 2,
            lat=(box[1] + box[3]) / 2,
            parts=seen.parts + hit.parts,
        )
    return list(out.values())


# The query's forms, bound into the cached statement (``_values``)
_NEEDLE = sa.bindparam("needle", type_=sa.Text)  # the query, lower case
_PREFIX = sa.bindparam("prefix", type_=sa.Text)  # LIKE: values starting with it
_INSIDE = sa.bindparam("inside", type_=sa.Text)  # LIKE: values holding it
_KEY_WHOLE = sa.bindparam("key_whole", type_=sa.Text)  # pinyin key as a whole word
_KEY_START = sa.bindparam("key_start", type_=sa.Text)  # at a word's start
_KEY_INSIDE = sa.bindparam("key_inside", type_=sa.Text)  # anywhere in a spelling

# Every word of the query inside a value, in any order ("ave mass" in "1234 MASSACHUSETTS
# AVE"): a conjunction of LIKEs the field's trigram index answers by intersecting its lists.
# Without it, words out of order were found only by trigram similarity, whose matches at 0.3
# recheck nearly every address on a big layer (1.3 million SYNTHETIC parcels: "ave mass" about
# 1 s, bench.search). Scored above FIRST_PASS, so a big layer's first step finds them.
MAX_WORDS = 4  # the longest words a statement tests (each is a bound LIKE)
MIN_WORD = 3  # shorter words ("st", "12") have no trigram for the index to narrow by
WORDS_SCORE = 0.55  # below a substring of the whole query (0.6), above FIRST_PASS (0.5)


def _word_param(i: int) -> sa.BindParameter:
    return sa.bindparam(f"word_{i}", type_=sa.Text)


def query_words(q: str) -> list[str]:
    """The words of ``q`` (lower case, split at spaces and commas) that the words arm tests:
    the ``MAX_WORDS`` longest of ``MIN_WORD`` characters or more, in the query's order; none
    for a query of one word (the substring arm already tests it)."""
    words = list(dict.fromkeys(w for w in q.lower().replace(",", " ").split()))
    kept = sorted(
        (w for w in words if len(w) >= MIN_WORD), key=lambda w: (-len(w), words.index(w))
    )[:MAX_WORDS]
    kept.sort(key=words.index)
    return kept if len(kept) >= 2 else []


def _values(q: str, key: str | None, words: list[str]) -> dict[str, str]:
    """The bound values of ``_NEEDLE`` and the others for the query ``q`` (pinyin ``key``,
    ``words``: ``query_words(q)``)."""
    needle = q.lower()
    escaped = like_escaped(needle)
    values = {"needle": needle, "prefix": escaped + "%", "inside": "%" + escaped + "%"}
    if key:  # letters and digits only (``pinyin_keys.spelling``): nothing to escape
        values |= {"key_whole": f"% {key} %", "key_start": f"% {key}%", "key_inside": f"%{key}%"}
    for i, word in enumerate(words):
        values[f"word_{i}"] = "%" + like_escaped(word) + "%"
    return values


def _every_word(text: sa.ColumnElement, words: int) -> sa.ColumnElement | None:
    """``text`` holds each of the query's ``words`` words (None when the query has none)."""
    if not words:
        return None
    return sa.and_(*(text.like(_word_param(i), escape="\\") for i in range(words)))


def _score(column: sa.ColumnElement, words: int) -> sa.ColumnElement:
    """1 for an exact match, 0.9 for a prefix, 0.6 for a substring, at least ``WORDS_SCORE``
    for every word in any order (more when the whole text is close), else trigram similarity."""
    text = sa.func.lower(column)
    similarity = sa.func.similarity(text, _NEEDLE)
    cases: list[tuple[Any, Any]] = [
        (text == _NEEDLE, 1.0),
        (text.like(_PREFIX, escape="\\"), 0.9),
        (text.like(_INSIDE, escape="\\"), 0.6),
    ]
    every = _every_word(text, words)
    if every is not None:
        cases.append((every, sa.func.greatest(WORDS_SCORE, similarity)))
    return sa.case(*cases, else_=similarity)


def search(
    city: City,
    q: str,
    *,
    layers: list[str] | None = None,
    limit: int = 10,
    min_score: float = 0.3,
    loaded: Callable[[LayerDef], bool] = lambda _: True,
    lang: str = "zh",
) -> list[SearchHit]:
    """Best matches for ``q`` among the searchable layers of ``city`` the caller may see and
    that are ``loaded`` (a layer defined but not loaded yet has no table to read); hits are
    labelled in ``lang`` (``LayerDef.name_field``)."""
    q = q.strip()
    if not q:
        raise DigitalCityError("q must not be empty")
    if len(q) > MAX_QUERY_LENGTH:
        raise DigitalCityError(f"q is longer than {MAX_QUERY_LENGTH} characters")
    if not 1 <= limit <= 100:
        raise DigitalCityError("limit must be between 1 and 100")
    candidates = [
        layer
        for layer in city.catalog.city_layers(city.id)
        if layer.search_fields
        and visible_layer(city.role, layer)
        and (layers is None or layer.id in layers)
        and loaded(layer)
    ]
    key = pinyin_keys.spelling(q)
    with city.engine.connect() as conn:
        # a Latin query also matches Chinese values by their pinyin (one small read: which
        # fields of the city hold such values)
        spelled = frozenset(pinyin_keys.spelled_fields(conn, city.id) if key else ())
        words = query_words(q)
        fetch = limit * MERGE_FETCH
        shape = _Shape(city, tuple(candidates), lang, fetch, spelled, key, len(words))
        branches = _branches(shape)
        if branches is None:
            return []
        values = _values(q, key, words)
        rows = _rows(conn, shape, branches, values, letterless=is_letterless(q))
    best: dict[str, dict[int, SearchHit]] = {layer.id: {} for layer in candidates}
    for row in rows:
        layer, name = branches.parts[row.part]
        hit = _hit(layer, name, row, min_score)
        found = best[layer.id]
        if hit is not None and (row.fid not in found or found[row.fid].score < hit.score):
            found[row.fid] = hit  # one hit per feature: its best field (or spelling)
    hits = [h for layer in candidates for h in _merged(list(best[layer.id].values()))]
    hits.sort(key=lambda h: (-h.rank, -h.score, h.layer, h.fid))
    return hits[:limit]


@dataclass(frozen=True)
class _Shape:
    """What a search statement's shape depends on (the query itself is bound: ``_values``)."""

    city: City
    candidates: tuple[LayerDef, ...]
    lang: str
    fetch: int
    spelled: frozenset[tuple[str, str]]  # fields keyed in pinyin, for a Latin query
    key: str | None
    words: int  # the query's words tested in any order (``query_words``)

    def cache_key(self) -> tuple[Any, ...]:
        city = self.city
        inside = bool(self.spelled) and self.key is not None and len(self.key) >= MIN_INSIDE
        layers = tuple(layer.id for layer in self.candidates)
        return (id(city.catalog), id(city.definition), city.role, str(city.as_of), self.lang,
                layers, self.fetch, self.spelled, inside, self.words)  # fmt: skip


# Built and compiled statements by shape: building and compiling the union of every
# searchable field's branch took about half of a search (Cambridge, 44 branches: 72 ms a
# search, of which the statement 30-35 ms in Python); the query's text is bound, so a shape
# seen before is reused. Entries hold their catalog and city definition, so a reloaded catalog
# never meets another's statement.
_STATEMENTS: OrderedDict[tuple[Any, ...], tuple[Any, Any, Any]] = OrderedDict()
_STATEMENTS_KEPT = 128
_STATEMENTS_LOCK = threading.Lock()


def _cached(key: tuple[Any, ...], city: City, build: Callable[[], Any]) -> Any:
    """``build()`` once per ``key`` for ``city``'s catalog and definition."""
    with _STATEMENTS_LOCK:
        cached = _STATEMENTS.get(key)
        if cached and cached[0] is city.catalog and cached[1] is city.definition:
            _STATEMENTS.move_to_end(key)
            return cached[2]
    built = build()
    with _STATEMENTS_LOCK:
        _STATEMENTS[key] = (city.catalog, city.definition, built)
        while len(_STATEMENTS) > _STATEMENTS_KEPT:
            _STATEMENTS.popitem(last=False)
    return built


@dataclass(frozen=True)
class _Branches:
    """A shape's branches: each one field's best ``fetch`` (``parts[i]``: its layer and
    field), ``fuzzy[i]`` when its matches include the fuzzy arm (not a pinyin branch)."""

    parts: list[tuple[LayerDef, str]]
    selects: list[sa.Select]
    fuzzy: list[bool]


def _branches(shape: _Shape) -> _Branches | None:
    """Every field of every layer, a branch each (None when no field is searchable)."""
    built = _cached(("branches", *shape.cache_key()), shape.city, lambda: _build(shape))
    return built if built.parts else None


def _compiled(shape: _Shape, branches: _Branches, indices: tuple[int, ...]) -> Compiled:
    """One statement of the branches ``indices``: one round trip for all of them (a statement
    per field took 121-182 ms for Cambridge's 44, one 109-141 ms in-process)."""

    def build() -> Compiled:
        union = sa.union_all(*(branches.selects[i] for i in indices))
        return union.compile(dialect=shape.city.engine.dialect)

    return _cached(("compiled", indices, *shape.cache_key()), shape.city, build)


def _build(shape: _Shape) -> _Branches:
    city = shape.city
    out = _Branches([], [], [])
    for layer in shape.candidates:
        table = city.relation(layer)
        visible = {f.name for f in visible_fields(city.role, layer)}
        named = layer.name_field(shape.lang, visible)
        label = sa.cast(table.c[named], sa.Text) if named else None
        for name in (n for n in layer.search_fields if n in visible):
            part = len(out.parts)
            out.selects.append(_field_select(table, name, label, shape.fetch, part, shape.words))
            out.parts.append((layer, name))
            out.fuzzy.append(True)
            if shape.key and (layer.id, name) in shape.spelled:
                inside = len(shape.key) >= MIN_INSIDE
                part = len(out.parts)
                out.selects.append(_spelled_select(table, name, label, inside, shape.fetch, part))
                out.parts.append((layer, name))
                out.fuzzy.append(False)
    return out


def _run(conn: Connection, compiled: Compiled, values: dict[str, str]) -> list[Any]:
    params = compiled.construct_params(values)
    return list(conn.exec_driver_sql(compiled.string, params))  # type: ignore[arg-type]


def _at_threshold(
    conn: Connection, threshold: float, compiled: Compiled, values: dict[str, str]
) -> list[Any]:
    """``_run`` with pg_trgm's ``%`` at ``threshold`` (then the session's own again)."""
    default = conn.execute(_THRESHOLD).scalar() or "0.3"  # pg_trgm's own default
    conn.execute(_SET_THRESHOLD, {"t": str(threshold)})  # local to this transaction
    try:
        return _run(conn, compiled, values)
    finally:
        conn.execute(_SET_THRESHOLD, {"t": default})


# Layers of this many rows or more are searched in two steps: their fields' fuzzy arm (pg_trgm's
# ``%``: similarity above the session's threshold, 0.3 by default) first asks for similarities
# above FIRST_PASS, and only a field that finds fewer than its ``fetch`` rows so is asked again
# with the rest. Every row the first step leaves out scores FIRST_PASS or less, below every row
# it returns, so a field that fills its ``fetch`` has its final rows: the hits are those of one
# step (tested). The trigram index answers ``%`` by rechecking every row sharing enough of the
# query's trigrams, and at 0.3 "main st 12" shares " st" and "st " with nearly every address:
# on 1.3 million SYNTHETIC parcel addresses, 418,360 rows rechecked for 12,318 matches, 1.0 s;
# at 0.5, 120 ms (``bench.search``). Smaller layers are searched in one step, as before.
BIG_LAYER_ROWS = 100_000
FIRST_PASS = 0.5
_BIG_LAYERS = sa.text(
    "SELECT layer FROM digitalcity.layer_versions "
    "WHERE city = :city AND is_current AND rows_loaded >= :rows"
)
_THRESHOLD = sa.text("SELECT current_setting('pg_trgm.similarity_threshold', true)")
_SET_THRESHOLD = sa.text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)")


# A query without letters (a parcel or block id, a number: "163-15", "4999") is matched fuzzily
# only by values of nearly its characters ("163 15" finds 163-15), in one step: its few short
# trigrams ("  1", " 15", "15 ") are shared by a large part of any address, so at 0.3 or 0.5
# the index had every such address rechecked, for hits such as "5 BREWER ST" (1.3 million
# SYNTHETIC parcels: 88,800 addresses rechecked for none, twice; "163-15" 628 ms, bench.search).
LETTERLESS_THRESHOLD = 0.8


def is_letterless(q: str) -> bool:
    """Whether ``q`` has no letter of any script (digits, punctuation, spaces)."""
    return not any(ch.isalpha() for ch in q)


def _rows(
    conn: Connection,
    shape: _Shape,
    branches: _Branches,
    values: dict[str, str],
    *,
    letterless: bool = False,
) -> list[Any]:
    """Every branch's best ``fetch`` rows, big layers' fields in two steps (``FIRST_PASS``);
    a ``letterless`` query's in one step at ``LETTERLESS_THRESHOLD``."""
    every = tuple(range(len(branches.parts)))
    if letterless:
        return _at_threshold(conn, LETTERLESS_THRESHOLD, _compiled(shape, branches, every), values)
    big = {
        str(r[0])
        for r in conn.execute(_BIG_LAYERS, {"city": shape.city.id, "rows": BIG_LAYER_ROWS})
    }
    first = tuple(i for i in every if branches.fuzzy[i] and branches.parts[i][0].id in big)
    if not first:
        return _run(conn, _compiled(shape, branches, every), values)
    found = _at_threshold(conn, FIRST_PASS, _compiled(shape, branches, first), values)
    counts = Counter(row.part for row in found)
    settled = {i for i in first if counts[i] == shape.fetch}
    rows = [row for row in found if row.part in settled]
    rest = tuple(i for i in every if i not in settled)
    return rows + (_run(conn, _compiled(shape, branches, rest), values) if rest else [])


def _hit_columns(
    table: Any, column: sa.ColumnElement, label: sa.ColumnElement | None, score: Any, part: int
) -> list[Any]:
    """What a search branch returns per row: its ``part``, the feature, the matched value, the
    hit's label (``label``, else the value), ``score``, point and lon/lat box (EPSG:4326)."""
    label = column if label is None else label
    center = sa.func.ST_Transform(sa.func.ST_PointOnSurface(table.c.geom), 4326, type_=Geometry())
    box = sa.func.Box2D(sa.func.ST_Transform(table.c.geom, 4326, type_=Geometry()))
    return [
        sa.literal(part, sa.Integer).label("part"),
        table.c.fid,
        column.label("value"),
        label.label("label"),
        score,
        sa.func.ST_X(center).label("lon"),
        sa.func.ST_Y(center).label("lat"),
        sa.func.ST_XMin(box).label("xmin"),
        sa.func.ST_YMin(box).label("ymin"),
        sa.func.ST_XMax(box).label("xmax"),
        sa.func.ST_YMax(box).label("ymax"),
    ]


MIN_INSIDE = 4  # letters a pinyin query needs to match inside a spelling, not only at its start
_KEYS = sa.table(
    "pinyin_keys", sa.column("value"), sa.column("spelled"), sa.column("initials"),
    schema="digitalcity",
)  # fmt: skip


def _spelled_select(
    table: Any, name: str, label: sa.ColumnElement | None, inside: bool, fetch: int, part: int
) -> sa.Select:
    """The best ``fetch`` features whose field ``name`` is Chinese spelled by the query's pinyin
    key in pinyin (``pinyin_keys``: each value's spellings and initials, space-separated): 0.95
    for a whole spelling, 0.9 for whole initials, 0.85 / 0.75 for the start of either, 0.5
    inside a spelling (with ``inside``: a key of ``MIN_INSIDE`` letters or more; "qu" is inside
    every district's); tagged ``part``."""
    column = sa.cast(table.c[name], sa.Text)
    spelled = sa.literal(" ") + _KEYS.c.spelled + sa.literal(" ")
    initials = sa.literal(" ") + _KEYS.c.initials + sa.literal(" ")
    score = sa.case(
        (spelled.like(_KEY_WHOLE), 0.95),
        (initials.like(_KEY_WHOLE), 0.9),
        (spelled.like(_KEY_START), 0.85),
        (initials.like(_KEY_START), 0.75),
        else_=0.5,
    ).label("score")
    found = [spelled.like(_KEY_START), initials.like(_KEY_START)]
    if inside:
        found.append(_KEYS.c.spelled.like(_KEY_INSIDE))
    return (
        sa.select(*_hit_columns(table, column, label, score, part))
        .select_from(table.join(_KEYS, _KEYS.c.value == column))
        .where(sa.or_(*found))
        .order_by(score.desc(), table.c.fid)
        .limit(fetch)
    )


def _field_select(
    table: Any, name: str, label: sa.ColumnElement | None, fetch: int, part: int, words: int
) -> sa.Select:
    """The best ``fetch`` matches of field ``name`` of ``table`` (``_hit_columns``), tagged
    ``part`` (``words``: the query's words tested in any order)."""
    column = sa.cast(table.c[name], sa.Text)
    text = sa.func.lower(column)
    score = _score(column, words).label("score")
    # every arm is answerable from the field's trigram index (a substring test by strpos was
    # not, so every search scanned the table: Cambridge's parcel addresses 42 -> 29 ms for
    # "main st 12"); a value holding the whole query holds each of its words, so with words
    # their arm replaces the substring arm (one test less on each row of a scanned table)
    every = _every_word(text, words)
    inside = text.like(_INSIDE, escape="\\") if every is None else every
    arms: list[sa.ColumnElement] = [text.op("%")(_NEEDLE), inside]
    return (
        sa.select(*_hit_columns(table, column, label, score, part))
        .where(sa.or_(*arms))
        .order_by(score.desc(), table.c.fid)
        .limit(fetch)
    )


def _hit(layer: Any, name: str, row: Any, min_score: float) -> SearchHit | None:
    """The hit of one row, None below ``min_score`` or without a label."""
    label = _label(row.label, row.value)
    if row.score < min_score or label is None:
        return None
    weight = (1 - PRIORITY_WEIGHT) + PRIORITY_WEIGHT * layer.search_rank / 100
    return SearchHit(
        collection_id(layer),
        layer.id,
        row.fid,
        label,
        name,
        str(row.value),
        round(float(row.score), 3),
        row.lon,
        row.lat,
        (row.xmin, row.ymin, row.xmax, row.ymax),
        layer_title=layer.title.model_dump(),
        rank=round(float(row.score) * weight, 4),
    )


def grouped(hits: list[SearchHit]) -> list[dict[str, Any]]:
    """The hits by layer (the layer's title, zh and en), layers in the order of their best hit."""
    groups: dict[str, dict[str, Any]] = {}
    for hit in hits:
        group = groups.setdefault(
            hit.layer,
            {
                "layer": hit.layer,
                "collection": hit.collection,
                "title": hit.layer_title,
                "hits": [],
            },
        )
        group["hits"].append(hit.to_dict())
    return list(groups.values())


OFFSET_TITLES = {
    "GCJ-02": {
        "zh": "经纬度 · GCJ-02（高德、腾讯地图）",
        "en": "Longitude, latitude · GCJ-02 (Amap, Tencent Maps)",
    },
    "BD-09": {"zh": "经纬度 · BD-09（百度地图）", "en": "Longitude, latitude · BD-09 (Baidu Maps)"},
}


def coordinate_hits(q: str, city: CityDef) -> list[dict[str, Any]]:
    """The places the coordinates typed as ``q`` stand for in ``city`` (``coordinates``), as
    search hits of kind "coordinates": the point (lon/lat degrees), the values as read with
    their CRS's axis names (``label``) and the CRS (``layer_title``, zh and en)."""
    hits = []
    for place in places(q, city):
        if place.crs == LONLAT:
            label = f"{place.lon:.6f}, {place.lat:.6f}"
            title = {"zh": "经纬度", "en": "Longitude, latitude"}
        elif place.crs in OFFSET_TITLES:  # as a Chinese map service copies them
            label = f"{place.values[0]:.6f}, {place.values[1]:.6f}"
            title = OFFSET_TITLES[place.crs]
        else:
            (a, b), (x, y) = place.axes, place.values
            label = f"{a} {x:.2f}, {b} {y:.2f}"
            title = {"zh": f"坐标 · {place.crs}", "en": f"Coordinates · {place.crs_name}"}
        hits.append(
            {
                "kind": "coordinates",
                "label": label,
                "value": q,
                "crs": place.crs,
                "lon": round(place.lon, 7),
                "lat": round(place.lat, 7),
                "bbox": [round(place.lon, 7), round(place.lat, 7)] * 2,
                "layer_title": title,
            }
        )
    return hits
