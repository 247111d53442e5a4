"""The statement that reads one change set from a layer's history for the feed: the features
whose visible fields or geometry it changed, with counts and lon/lat extents; built once per
layer shape, fields and limit. Geometries come out as GeoJSON in CRS84 (``DIGITS`` decimals)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry

from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.db.schema import layer_table, storage_srid
from digitalcity.history.tables import history_table, rowmeta_table

DIGITS = 6  # decimal places of lon/lat in geometries (0.1 m)


_STATEMENTS: dict[tuple, sa.Select] = {}


def statement_shape(
    layer: LayerDef, city: CityDef, fields: tuple[FieldDef, ...], limit: int, boxed: bool
) -> tuple:
    """What a change set's statement depends on: the layer's tables, the fields, the limit,
    whether an area bounds it."""
    return (
        boxed,
        city.schema_name,
        city.storage_crs,
        layer.id,
        layer.geometry_type,
        tuple((f.name, f.type) for f in layer.all_fields),
        tuple(f.name for f in fields),
        limit,
    )


def changeset_statement(
    layer: LayerDef, city: CityDef, fields: tuple[FieldDef, ...], limit: int, boxed: bool
) -> sa.Select:
    """``_changed``, built once per layer shape, fields and limit: building it took half of
    a feed page's time (4 of 8 ms a change set, Cambridge)."""
    key = statement_shape(layer, city, fields, limit, boxed)
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) > 512:  # definitions reloaded many times: start afresh
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = _changed(layer, city, fields, limit, boxed)
    return statement


def _changed(
    layer: LayerDef, city: CityDef, fields: tuple[FieldDef, ...], limit: int, boxed: bool
) -> sa.Select:
    """The statement of one change set (``:changeset`` made at ``:at``): the features whose
    visible fields or geometry it changed, first ``limit`` of them by feature id, each row
    also carrying the counts of all (added, modified, deleted) and the lon/lat extents of
    their old and new geometries. With ``limit`` 0, one row of counts (``fid`` null). With
    ``boxed``, only features whose geometry before or after meets the lon/lat box
    ``:area_w``, ``:area_s``, ``:area_e``, ``:area_n``."""
    past = history_table(layer, city)
    current = layer_table(layer, city)
    meta = rowmeta_table(layer, city)
    names = [f.name for f in fields]
    at = sa.bindparam("at", type_=sa.DateTime(timezone=True))
    changeset = sa.bindparam("changeset", type_=sa.BigInteger)
    # the versions it ended: periods ending at its instant (the GiST index on ``valid``
    # finds them as the ranges adjacent to [at, ∞))
    old = (
        sa.select(past.c.fid, past.c.geom, *(past.c[n] for n in names))
        .where(
            past.c.valid.op("-|-", is_comparison=True)(sa.func.tstzrange(at, None)),
            past.c.changeset == changeset,
        )
        .cte("old")
    )
    # the versions it made: the current rows it stamped, and those changed again since
    made = sa.union_all(
        sa.select(current.c.fid, current.c.geom, *(current.c[n] for n in names))
        .select_from(current.join(meta, meta.c.fid == current.c.fid))
        .where(meta.c.changeset == changeset),
        sa.select(past.c.fid, past.c.geom, *(past.c[n] for n in names)).where(
            past.c.valid.op("&&", is_comparison=True)(sa.func.tstzrange(at, at, "[]")),
            sa.func.lower(past.c.valid) == at,
        ),
    ).cte("made")
    kind = sa.case(
        (old.c.fid.is_(None), sa.literal("added")),
        (made.c.fid.is_(None), sa.literal("deleted")),
        else_=sa.literal("modified"),
    )
    geometry_changed = old.c.geom.is_distinct_from(made.c.geom)
    fields_changed = (
        sa.tuple_(*(old.c[n] for n in names)).is_distinct_from(
            sa.tuple_(*(made.c[n] for n in names))
        )
        if names
        else sa.false()
    )
    pairs = (
        sa.select(
            sa.func.coalesce(made.c.fid, old.c.fid).label("fid"),
            kind.label("kind"),
            geometry_changed.label("geometry_changed"),
            old.c.geom.label("old_geom"),
            made.c.geom.label("new_geom"),
            *(old.c[n].label(f"b_{n}") for n in names),
            *(made.c[n].label(f"a_{n}") for n in names),
        )
        .select_from(old.join(made, made.c.fid == old.c.fid, full=True))
        .where(
            sa.or_(old.c.fid.is_(None), made.c.fid.is_(None), fields_changed, geometry_changed),
            _in_area(old.c.geom, made.c.geom, storage_srid(city)) if boxed else sa.true(),
        )
        .cte("pairs")
    )
    counts = [
        sa.func.count().filter(pairs.c.kind == label).over().label(f"n_{label}")
        for label in ("added", "modified", "deleted")
    ]
    boxes = [
        sa.func.ST_Extent(pairs.c[f"{side}_geom"]).over().label(f"{side}_box")
        for side in ("old", "new")
    ]
    # the window's counts and extents over every change, then the first ``limit`` rows;
    # their GeoJSON is written only for those
    listed = sa.select(pairs, *counts, *boxes).order_by(pairs.c.fid).limit(max(limit, 1)).subquery()
    srid = storage_srid(city)

    def lonlat(side: str) -> list[Any]:
        box: Any = listed.c[f"{side}_box"]
        if srid != 4326:
            box = sa.func.Box2D(
                sa.func.ST_Transform(sa.func.ST_SetSRID(sa.cast(box, Geometry()), srid), 4326)
            )
        return [
            sa.func.ST_XMin(box).label(f"{side}_xmin"),
            sa.func.ST_YMin(box).label(f"{side}_ymin"),
            sa.func.ST_XMax(box).label(f"{side}_xmax"),
            sa.func.ST_YMax(box).label(f"{side}_ymax"),
        ]

    def geojson(column: Any) -> Any:
        return sa.func.ST_AsGeoJSON(sa.func.ST_Transform(column, 4326), DIGITS)

    summary = [
        *(listed.c[f"n_{k}"] for k in ("added", "modified", "deleted")),
        *lonlat("old"),
        *lonlat("new"),
    ]
    if limit == 0:
        return sa.select(sa.null().label("fid"), *summary)
    return sa.select(
        listed.c.fid,
        listed.c.kind,
        listed.c.geometry_changed,
        geojson(sa.func.coalesce(listed.c.new_geom, listed.c.old_geom)).label("geometry"),
        sa.case(
            (
                sa.and_(listed.c.kind == "modified", listed.c.geometry_changed),
                geojson(listed.c.old_geom),
            ),
        ).label("previous_geometry"),
        *(listed.c[f"b_{n}"] for n in names),
        *(listed.c[f"a_{n}"] for n in names),
        *summary,
    ).order_by(listed.c.fid)


def _in_area(old: Any, new: Any, srid: int) -> sa.ColumnElement[bool]:
    """Whether the geometry before (``old``) or after (``new``) meets the lon/lat box bound
    as ``:area_w`` … ``:area_n``."""
    corners = [sa.bindparam(f"area_{k}", type_=sa.Float) for k in "wsen"]
    area: Any = sa.func.ST_MakeEnvelope(*corners, 4326, type_=Geometry())
    if srid != 4326:
        area = sa.func.ST_Transform(area, srid, type_=Geometry())
    return sa.or_(sa.func.ST_Intersects(old, area), sa.func.ST_Intersects(new, area))
