"""The MVT query of one tile: one statement concatenating one ``ST_AsMVT`` per layer.

SQL text comes from ``digitalcity/tiles/sql/*.sql``; identifiers from the catalog are quoted
by SQLAlchemy's PostgreSQL dialect; values (tile, tolerances, names, SRIDs) are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import Engine

from digitalcity.catalog import CityDef, FieldDef
from digitalcity.db.driver import fetch_value
from digitalcity.db.schema import storage_srid
from digitalcity.tiles.content import (
    LayerPlan,
    label_fields,
    label_points_layer,
    label_zooms,
    tolerance,
)
from digitalcity.tiles.tms import BUFFER, EXTENT, MARGIN, TileIndex

_PREPARER = postgresql.dialect().identifier_preparer
_DIALECT = pg_psycopg.dialect()
_TEXT_TYPES = {"date", "datetime"}


def quote(name: str) -> str:
    """A catalog identifier quoted for PostgreSQL."""
    return _PREPARER.quote(name)


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


@cache
def read_sql(name: str) -> str:
    """The text of ``digitalcity/tiles/sql/<name>`` without its comment lines."""
    text = (
        resources.files("digitalcity.tiles")
        .joinpath("sql")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()


def property_columns(fields: Sequence[FieldDef], alias: str = "s") -> str:
    """``, s."a", CAST(s."d" AS text) AS "d"`` for the fields written as MVT properties.

    Dates and timestamps become ISO text (MVT has no date type).
    """
    parts = []
    for f in fields:
        col = f"{alias}.{quote(f.name)}"
        parts.append(f"CAST({col} AS text) AS {quote(f.name)}" if f.type in _TEXT_TYPES else col)
    return "".join(f", {p}" for p in parts)


def field_columns(fields: Sequence[FieldDef], alias: str = "s") -> str:
    """``, s."a", s."d"``: the fields as stored (the tile copies keep the table's types)."""
    return "".join(f", {alias}.{quote(f.name)}" for f in fields)


@dataclass(frozen=True)
class TileSource:
    """Where a layer's rows are read for tiles: its table, or its EPSG:3857 copy."""

    table: str  # quoted, schema-qualified, or a parenthesised sub-select (as-of)
    copy_zooms: range | None = None  # zooms with a pre-simplified column; None: not a copy
    params: tuple[tuple[str, Any], ...] = ()  # bound values the table's sub-select names


def layer_statement(
    plan: LayerPlan, city: CityDef, tile: TileIndex, source: TileSource, index: int
) -> tuple[str, dict[str, Any]]:
    """SQL and parameters of one layer's ``ST_AsMVT`` (parameters prefixed ``l<index>_``),
    followed by the MVT layer of its label points at the zooms that draw them."""
    p = f"l{index}_"
    params: dict[str, Any] = dict(source.params)
    tol = tolerance(plan.layer, city, tile.z)
    full = "s.geom" if source.copy_zooms is not None else "ST_Transform(s.geom, 3857)"
    geometry = full
    if source.copy_zooms is not None:
        if tile.z in source.copy_zooms:
            geometry = f"s.{quote(f'g{tile.z}')}"
    elif tol > 0:
        geometry = f"ST_Simplify({full}, :{p}tol)"
        params[f"{p}tol"] = tol
    text = _mvt(plan.layer.id, plan.fields, geometry, p, city, source, params)
    fields = label_fields(plan)
    if tile.z in label_zooms(plan.layer) and fields:
        # one point per feature, from the whole unsimplified geometry, so every tile the
        # feature crosses computes the same point and only the tile holding it draws it
        point = f"ST_PointOnSurface({full})"
        name = label_points_layer(plan.layer)
        text += " || " + _mvt(name, fields, point, f"{p}label_", city, source, params)
    return text, params


def _mvt(
    name: str,
    fields: Sequence[FieldDef],
    geometry: str,
    p: str,
    city: CityDef,
    source: TileSource,
    params: dict[str, Any],
) -> str:
    """One ``ST_AsMVT`` sub-select named ``name`` over ``source`` (its bound values added to
    ``params``, prefixed ``p``): from the EPSG:3857 copy, or from the table, reprojected."""
    params[f"{p}name"] = name
    template = "layer_prepared.sql"
    if source.copy_zooms is None:
        template = "layer_direct.sql"
        params[f"{p}srid"] = storage_srid(city)
    sql = read_sql(template).format(
        p=p, table=source.table, columns=property_columns(fields), geometry=geometry
    )
    return f"({sql})"


_NAMED = postgresql.dialect(paramstyle="named")


def as_of_source(layer: Any, city: CityDef, instant: Any) -> TileSource:
    """The tile source of ``layer`` as it was at ``instant``: the rows current then (the
    history's as-of relation, compiled once here), read like a table; its bound parameter is
    named after the layer so several layers share one statement."""
    from digitalcity.history.asof import as_of_relation

    param = f"as_of_{layer.id}"
    relation = as_of_relation(layer, city, instant, param=param)
    sql = str(relation.element.compile(dialect=_NAMED))
    # the dialect casts the bind (":p::TIMESTAMP..."); parenthesised, text() still sees ":p"
    sql = sql.replace(f":{param}::", f"(:{param})::")
    return TileSource(f"({sql})", None, ((param, instant),))


def tile_statement(
    layers: Sequence[tuple[LayerPlan, TileSource]], city: CityDef, tile: TileIndex
) -> tuple[sa.TextClause, dict[str, Any]]:
    """One statement returning the whole tile: the layers' MVTs concatenated, in order."""
    params: dict[str, Any] = {
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
        "extent": EXTENT,
        "buffer": BUFFER,
        "margin": MARGIN,
    }
    parts = []
    for i, (plan, source) in enumerate(layers):
        text, layer_params = layer_statement(plan, city, tile, source, i)
        parts.append(text)
        params.update(layer_params)
    return _text_clause("SELECT " + " || ".join(parts)), params


@lru_cache(maxsize=4096)
def _text_clause(sql: str) -> sa.TextClause:
    """One TextClause per distinct statement (the text differs only by tileset and zoom)."""
    return sa.text(sql)


@lru_cache(maxsize=4096)
def driver_sql(clause: sa.TextClause) -> str:
    """The statement in the driver's own parameter style (``%(name)s``), compiled once."""
    return str(clause.compile(dialect=_DIALECT))


def render(
    engine: Engine,
    layers: Sequence[tuple[LayerPlan, TileSource]],
    city: CityDef,
    tile: TileIndex,
) -> bytes:
    """The MVT bytes of ``tile`` (empty when no layer has a feature there)."""
    if not layers:
        return b""
    statement, params = tile_statement(layers, city, tile)
    data = fetch_value(engine, driver_sql(statement), params)
    return bytes(data) if data else b""
