"""Text search over every layer that declares ``search_fields``: prefix, fuzzy (trigram) and
substring matching, so parcel ids, English addresses and Chinese names all work.

Hits rank by match quality weighted by the layer's search priority (``search_priority`` in
its definition, else its kind's: addresses and parcels, streets, places and districts before
street furniture); the segments of one street (hits of a line layer with the same label) are
merged into one hit over their whole extent (so are the areas of one zoning district: any hits
of a layer with the same label); a hit's label is never empty or "None"."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry

from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.city import City
from digitalcity.errors import DigitalCityError

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
        return {**self.__dict__, "bbox": list(self.bbox)}


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


def _like_escaped(needle: str) -> str:
    """``needle`` for a LIKE pattern (escape character ``\\``): its own ``\\ % _`` literal."""
    return needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _score(column: sa.ColumnElement, q: str) -> sa.ColumnElement:
    """1 for an exact match, 0.9 for a prefix, 0.6 for a substring, else trigram similarity."""
    text = sa.func.lower(column)
    needle = q.lower()
    escaped = _like_escaped(needle)
    return sa.case(
        (text == needle, 1.0),
        (text.like(escaped + "%", escape="\\"), 0.9),
        (text.like("%" + escaped + "%", escape="\\"), 0.6),
        else_=sa.func.similarity(text, needle),
    )


def search(
    city: City, q: str, *, layers: list[str] | None = None, limit: int = 10, min_score: float = 0.3
) -> list[SearchHit]:
    """Best matches for ``q`` among the searchable layers of ``city`` the caller may see."""
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
    ]
    hits: list[SearchHit] = []
    with city.engine.connect() as conn:
        for layer in candidates:
            hits.extend(_merged(_layer_hits(conn, city, layer, q, limit, min_score)))
    hits.sort(key=lambda h: (-h.rank, -h.score, h.layer, h.fid))
    return hits[:limit]


def _layer_hits(
    conn: Any, city: City, layer: Any, q: str, limit: int, min_score: float
) -> list[SearchHit]:
    """The best hits of one layer (one per feature, its best field)."""
    table = city.relation(layer)
    visible = {f.name for f in visible_fields(city.role, layer)}
    label_col = table.c[layer.label_field] if layer.label_field in visible else None
    fetch = limit * MERGE_FETCH
    weight = (1 - PRIORITY_WEIGHT) + PRIORITY_WEIGHT * layer.search_rank / 100
    best: dict[int, SearchHit] = {}
    for name in (n for n in layer.search_fields if n in visible):
        column = sa.cast(table.c[name], sa.Text)
        score = _score(column, q).label("score")
        center = sa.func.ST_Transform(
            sa.func.ST_PointOnSurface(table.c.geom), 4326, type_=Geometry()
        )
        box = sa.func.Box2D(sa.func.ST_Transform(table.c.geom, 4326, type_=Geometry()))
        stmt = (
            sa.select(
                table.c.fid,
                column.label("value"),
                (label_col if label_col is not None else column).label("label"),
                score,
                sa.func.ST_X(center).label("lon"),
                sa.func.ST_Y(center).label("lat"),
                sa.func.ST_XMin(box),
                sa.func.ST_YMin(box),
                sa.func.ST_XMax(box),
                sa.func.ST_YMax(box),
            )
            .where(
                # both arms answerable from the field's trigram index (a substring test by
                # strpos was not, so every search scanned the table: Cambridge's parcel
                # addresses 42 -> 29 ms for "main st 12")
                sa.or_(
                    sa.func.lower(column).op("%")(q.lower()),
                    sa.func.lower(column).like(f"%{_like_escaped(q.lower())}%", escape="\\"),
                )
            )
            .order_by(score.desc(), table.c.fid)
            .limit(fetch)
        )
        for row in conn.execute(stmt):
            label = _label(row.label, row.value)
            if row.score < min_score or label is None:
                continue
            hit = SearchHit(
                collection_id(layer),
                layer.id,
                row.fid,
                label,
                name,
                str(row.value),
                round(float(row.score), 3),
                row.lon,
                row.lat,
                (row[6], row[7], row[8], row[9]),
                layer_title=layer.title.model_dump(),
                rank=round(float(row.score) * weight, 4),
            )
            if row.fid not in best or best[row.fid].score < hit.score:
                best[row.fid] = hit
    return list(best.values())


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
