"""Text search over every layer that declares ``search_fields``: prefix, fuzzy (trigram) and
substring matching, so parcel ids, English addresses and Chinese names all work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry

from digitalcity.catalog.access import visible_fields, visible_layer
from digitalcity.catalog.ids import collection_id
from digitalcity.city import City
from digitalcity.db.schema import layer_table
from digitalcity.errors import DigitalCityError

MAX_QUERY_LENGTH = 200


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

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "bbox": list(self.bbox)}


def _score(column: sa.ColumnElement, q: str) -> sa.ColumnElement:
    """1 for an exact match, 0.9 for a prefix, 0.6 for a substring, else trigram similarity."""
    text = sa.func.lower(column)
    needle = q.lower()
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
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
            table = layer_table(layer, city.definition)
            visible = {f.name for f in visible_fields(city.role, layer)}
            label_col = table.c[layer.label_field] if layer.label_field in visible else None
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
                        sa.or_(
                            sa.func.lower(column).op("%")(q.lower()),
                            sa.func.strpos(sa.func.lower(column), q.lower()) > 0,
                        )
                    )
                    .order_by(score.desc(), table.c.fid)
                    .limit(limit)
                )
                for row in conn.execute(stmt):
                    if row.score < min_score:
                        continue
                    hits.append(
                        SearchHit(
                            collection_id(layer),
                            layer.id,
                            row.fid,
                            str(row.label),
                            name,
                            str(row.value),
                            round(float(row.score), 3),
                            row.lon,
                            row.lat,
                            (row[6], row[7], row[8], row[9]),
                        )
                    )
    hits.sort(key=lambda h: (-h.score, h.layer, h.fid))
    return hits[:limit]
