"""Compile a CQL2 expression tree into a SQLAlchemy boolean expression on a layer table.

Only queryable fields the caller may see can be named; every literal is a bound parameter.
Shared by the items query, the tile query and the analyses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY

from digitalcity.catalog.model import FieldDef
from digitalcity.query.cql2_ast import (
    And,
    Arithmetic,
    Between,
    Comparison,
    Expr,
    FilterError,
    Function,
    GeometryLiteral,
    In,
    Instant,
    Interval,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Property,
    Spatial,
    Temporal,
    parse_instant,
)
from digitalcity.query.filter_temporal import Bound, Infinity, temporal_condition

GEOMETRY_NAMES = frozenset({"geometry", "geom"})
ID_NAMES = frozenset({"id", "fid"})
_NUMERIC = {"integer", "float", "number"}


@dataclass(frozen=True)
class FilterContext:
    """What a filter may refer to, and the CRS of its geometry literals."""

    table: sa.Table | sa.Subquery  # the layer, or the layer as of an instant
    fields: dict[str, FieldDef]
    storage_srid: int
    filter_srid: int = 4326
    swap_axes: bool = False  # literal coordinates given lat/lon (EPSG:4326/4490 axis order)
    geometry_names: frozenset[str] = GEOMETRY_NAMES  # property names of the geometry column


@dataclass(frozen=True)
class Typed:
    sql: sa.ColumnElement
    kind: str  # string number integer float boolean date datetime geometry null


def compile_filter(expr: Expr, ctx: FilterContext) -> sa.ColumnElement[bool]:
    """A WHERE clause for ``expr``; raises FilterError for unknown properties or type errors."""
    result = _predicate(expr, ctx)
    return result


def _predicate(expr: Expr, ctx: FilterContext) -> sa.ColumnElement[bool]:
    if isinstance(expr, And):
        return sa.and_(*(_predicate(a, ctx) for a in expr.args))
    if isinstance(expr, Or):
        return sa.or_(*(_predicate(a, ctx) for a in expr.args))
    if isinstance(expr, Not):
        return sa.not_(_predicate(expr.arg, ctx))
    if isinstance(expr, Comparison):
        left, right = _pair(expr.left, expr.right, ctx, expr.op)
        return left.sql.op(expr.op, is_comparison=True)(right.sql)  # type: ignore[no-any-return]
    if isinstance(expr, Like):
        value, pattern = _value(expr.value, ctx), _value(expr.pattern, ctx)
        if value.kind != "string" or pattern.kind != "string":
            raise FilterError("LIKE compares text with a text pattern")
        return value.sql.like(pattern.sql)
    if isinstance(expr, Between):
        value, low = _pair(expr.value, expr.low, ctx, "BETWEEN")
        _, high = _pair(expr.value, expr.high, ctx, "BETWEEN")
        return value.sql.between(low.sql, high.sql)
    if isinstance(expr, In):
        return _in(expr, ctx)
    if isinstance(expr, IsNull):
        return _value(expr.value, ctx).sql.is_(None)
    if isinstance(expr, Spatial):
        return _spatial(expr, ctx)
    if isinstance(expr, Temporal):
        return _temporal(expr, ctx)
    typed = _value(expr, ctx)
    if typed.kind != "boolean":
        raise FilterError("the filter must be a condition (comparison, LIKE, IN, …)")
    return typed.sql


_ARRAY_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "integer": sa.BigInteger,
    "float": sa.Double,
    "number": sa.Double,
    "string": sa.Text,
    "boolean": sa.Boolean,
}


def _literal_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "float" if isinstance(value, float) else "string"


def _in(expr: In, ctx: FilterContext) -> sa.ColumnElement[bool]:
    """``value IN (…)``; a list of plain literals is one array parameter (``= ANY(:array)``):
    measured over HTTP with 15,000 values on the parcels, one parameter instead of 15,000 takes
    the request from 4.6 s to 1.1 s (SQLAlchemy compiled and psycopg sent each one separately)."""
    if not expr.items:
        raise FilterError("IN needs at least one value")
    value = _value(expr.value, ctx)
    if value.kind in _ARRAY_TYPES and all(isinstance(i, Literal) for i in expr.items):
        values = [i.value for i in expr.items]  # type: ignore[union-attr]
        kinds = {_literal_kind(v) for v in values}
        element: type[sa.types.TypeEngine]
        if kinds <= _NUMERIC and value.kind in _NUMERIC:
            element = sa.Double if "float" in kinds | {value.kind} else sa.BigInteger
        elif kinds == {value.kind}:
            element = _ARRAY_TYPES[value.kind]
        else:
            raise FilterError(
                f"cannot compare {value.kind} with {' and '.join(sorted(kinds))} in IN"
            )
        if element is sa.Double:
            values = [float(v) for v in values]  # type: ignore[arg-type]  # psycopg: one type
        return value.sql == sa.any_(sa.literal(values, ARRAY(element())))
    pairs = [_pair(expr.value, item, ctx, "IN") for item in expr.items]
    return value.sql.in_([p[1].sql for p in pairs])


def _field(name: str, ctx: FilterContext) -> Typed:
    field = ctx.fields.get(name)  # a declared field wins over the id / geometry aliases
    if field is None and name in ctx.geometry_names:
        return Typed(ctx.table.c.geom, "geometry")
    if field is None and name in ID_NAMES:
        return Typed(ctx.table.c.fid, "integer")
    if field is None:
        known = ", ".join(sorted(ctx.fields)) or "none"
        raise FilterError(f"unknown or non-queryable property {name[:60]!r} (queryables: {known})")
    return Typed(ctx.table.c[field.name], field.type)


def _literal(value: object, kind_hint: str | None) -> Typed:
    if isinstance(value, bool):
        return Typed(sa.literal(value, sa.Boolean()), "boolean")
    if isinstance(value, int):
        return Typed(sa.literal(value, sa.BigInteger()), "integer")
    if isinstance(value, float):
        return Typed(sa.literal(value, sa.Double()), "float")
    return Typed(sa.literal(str(value), sa.Text()), "string")


def _value(expr: Expr, ctx: FilterContext, hint: str | None = None) -> Typed:
    if isinstance(expr, Property):
        return _field(expr.name, ctx)
    if isinstance(expr, Literal):
        return _literal(expr.value, hint)
    if isinstance(expr, Instant):
        if isinstance(expr.value, dt.datetime):
            return Typed(sa.literal(expr.value, sa.DateTime(timezone=True)), "datetime")
        return Typed(sa.literal(expr.value, sa.Date()), "date")
    if isinstance(expr, GeometryLiteral):
        return Typed(_geometry_literal(expr.geometry, ctx), "geometry")
    if isinstance(expr, Arithmetic):
        left, right = _value(expr.left, ctx), _value(expr.right, ctx)
        if left.kind not in _NUMERIC or right.kind not in _NUMERIC:
            raise FilterError(f"arithmetic {expr.op!r} needs numbers")
        if expr.op == "^":
            base: sa.ColumnElement = sa.cast(left.sql, sa.Double())
            exponent: sa.ColumnElement = sa.cast(right.sql, sa.Double())
            return Typed(sa.func.power(base, exponent), "float")
        if expr.op in ("/", "div", "%"):
            divisor = sa.func.nullif(sa.cast(right.sql, sa.Double()), 0)
            numerator: sa.ColumnElement = sa.cast(left.sql, sa.Double())
            if expr.op == "/":
                return Typed(numerator / divisor, "float")
            if expr.op == "div":
                return Typed(sa.func.floor(numerator / divisor), "float")
            return Typed(
                sa.func.mod(
                    sa.cast(left.sql, sa.Numeric()),
                    sa.func.nullif(sa.cast(right.sql, sa.Numeric()), 0),
                ),
                "float",
            )
        return Typed(left.sql.op(expr.op)(right.sql), "float")
    if isinstance(expr, Function):
        if len(expr.args) != 1:
            raise FilterError(f"{expr.name.upper()} takes one argument")
        inner = _value(expr.args[0], ctx)
        if inner.kind != "string":
            raise FilterError(f"{expr.name.upper()} applies to text")
        if expr.name in ("casei", "lower"):
            return Typed(sa.func.lower(inner.sql), "string")
        if expr.name == "upper":
            return Typed(sa.func.upper(inner.sql), "string")
        return Typed(sa.func.unaccent(inner.sql, type_=sa.Text()), "string")  # accenti
    if isinstance(expr, Interval):
        raise FilterError("an INTERVAL can only be used in a temporal operator")
    raise FilterError("a condition cannot be used as a value")


def _compatible(a: str, b: str) -> bool:
    if a == b:
        return True
    if a in _NUMERIC and b in _NUMERIC:
        return True
    return {a, b} <= {"date", "datetime"}


def _pair(left_expr: Expr, right_expr: Expr, ctx: FilterContext, op: str) -> tuple[Typed, Typed]:
    left, right = _value(left_expr, ctx), _value(right_expr, ctx)
    # Lenient: a quoted 'YYYY-MM-DD' compared with a date property reads as DATE('…').
    if (
        left.kind in ("date", "datetime")
        and isinstance(right_expr, Literal)
        and right.kind == "string"
    ):
        right = _value(
            parse_instant(str(right_expr.value), left.kind.replace("datetime", "timestamp")), ctx
        )
    if not _compatible(left.kind, right.kind):
        raise FilterError(f"cannot compare {left.kind} with {right.kind} in {op}")
    if left.kind == "geometry":
        raise FilterError(f"use spatial operators (S_INTERSECTS, …) for geometries, not {op}")
    return left, right


def _geometry_literal(geometry: shapely.Geometry, ctx: FilterContext) -> sa.ColumnElement:
    if geometry is None or geometry.is_empty:
        raise FilterError("empty geometry in filter")
    if ctx.swap_axes:
        geometry = shapely.transform(geometry, lambda xy: xy[:, ::-1])
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry)
    literal = sa.func.ST_GeomFromWKB(
        sa.literal(shapely.to_wkb(geometry), sa.LargeBinary()),
        ctx.filter_srid,
        type_=Geometry(),
    )
    if ctx.filter_srid != ctx.storage_srid:
        literal = sa.func.ST_Transform(literal, ctx.storage_srid, type_=Geometry())
    return literal


_SPATIAL_SQL = {
    "s_intersects": "ST_Intersects",
    "s_equals": "ST_Equals",
    "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches",
    "s_within": "ST_Within",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_contains": "ST_Contains",
}


def _spatial(expr: Spatial, ctx: FilterContext) -> sa.ColumnElement[bool]:
    left, right = _value(expr.left, ctx), _value(expr.right, ctx)
    if left.kind != "geometry" or right.kind != "geometry":
        raise FilterError(f"{expr.op.upper()} needs two geometries")
    return getattr(sa.func, _SPATIAL_SQL[expr.op])(left.sql, right.sql)  # type: ignore[no-any-return]


def _bound(expr: Expr | None, ctx: FilterContext, infinity: Infinity) -> Bound:
    if expr is None:
        return infinity
    value = _value(expr, ctx)
    if value.kind not in ("date", "datetime"):
        raise FilterError(
            f"temporal operators need dates, timestamps or intervals of them, not {value.kind}"
        )
    return value.sql


def _bounds(expr: Expr, ctx: FilterContext) -> tuple[Bound, Bound]:
    if isinstance(expr, Interval):
        return _bound(expr.start, ctx, "-inf"), _bound(expr.end, ctx, "+inf")
    instant = _bound(expr, ctx, "-inf")
    return instant, instant


def _temporal(expr: Temporal, ctx: FilterContext) -> sa.ColumnElement[bool]:
    return temporal_condition(expr.op, _bounds(expr.left, ctx), _bounds(expr.right, ctx))
