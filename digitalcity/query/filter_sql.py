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

GEOMETRY_NAMES = frozenset({"geometry", "geom"})
ID_NAMES = frozenset({"id", "fid"})
_NUMERIC = {"integer", "float", "number"}


@dataclass(frozen=True)
class FilterContext:
    """What a filter may refer to, and the CRS of its geometry literals."""

    table: sa.Table
    fields: dict[str, FieldDef]
    storage_srid: int
    filter_srid: int = 4326
    swap_axes: bool = False  # literal coordinates given lat/lon (EPSG:4326/4490 axis order)


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
        return left.sql.op(expr.op)(right.sql)  # type: ignore[no-any-return]
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
        if not expr.items:
            raise FilterError("IN needs at least one value")
        pairs = [_pair(expr.value, item, ctx, "IN") for item in expr.items]
        return pairs[0][0].sql.in_([p[1].sql for p in pairs])
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


def _field(name: str, ctx: FilterContext) -> Typed:
    if name in GEOMETRY_NAMES:
        return Typed(ctx.table.c.geom, "geometry")
    if name in ID_NAMES:
        return Typed(ctx.table.c.fid, "integer")
    field = ctx.fields.get(name)
    if field is None:
        known = ", ".join(sorted(ctx.fields)) or "none"
        raise FilterError(f"unknown or non-queryable property {name!r} (queryables: {known})")
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
        return inner  # accenti: comparisons are accent-sensitive without the unaccent extension
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


def _bounds(
    expr: Expr, ctx: FilterContext
) -> tuple[sa.ColumnElement | None, sa.ColumnElement | None]:
    if isinstance(expr, Interval):
        start = _value(expr.start, ctx).sql if expr.start is not None else None
        end = _value(expr.end, ctx).sql if expr.end is not None else None
        return start, end
    value = _value(expr, ctx)
    if value.kind not in ("date", "datetime"):
        raise FilterError("temporal operators need dates, timestamps or intervals")
    return value.sql, value.sql


def _temporal(expr: Temporal, ctx: FilterContext) -> sa.ColumnElement[bool]:
    a_start, a_end = _bounds(expr.left, ctx)
    b_start, b_end = _bounds(expr.right, ctx)
    true = sa.true()

    def lt(x: sa.ColumnElement | None, y: sa.ColumnElement | None) -> sa.ColumnElement[bool]:
        return true if x is None or y is None else x < y

    def le(x: sa.ColumnElement | None, y: sa.ColumnElement | None) -> sa.ColumnElement[bool]:
        return true if x is None or y is None else x <= y

    intersects = sa.and_(le(a_start, b_end), le(b_start, a_end))
    ops = {
        "t_after": lt(b_end, a_start) if b_end is not None else sa.false(),
        "t_before": lt(a_end, b_start) if b_start is not None else sa.false(),
        "t_equals": _equal_bounds(a_start, a_end, b_start, b_end),
        "t_intersects": intersects,
        "t_disjoint": sa.not_(intersects),
        "t_during": sa.and_(lt(b_start, a_start), lt(a_end, b_end)),
        "t_contains": sa.and_(lt(a_start, b_start), lt(b_end, a_end)),
    }
    if expr.op not in ops:
        raise FilterError(f"{expr.op.upper()} is not supported for date properties (instants)")
    return ops[expr.op]


def _equal_bounds(
    a_start: sa.ColumnElement | None,
    a_end: sa.ColumnElement | None,
    b_start: sa.ColumnElement | None,
    b_end: sa.ColumnElement | None,
) -> sa.ColumnElement[bool]:
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return sa.false()
    return sa.and_(a_start == b_start, a_end == b_end)
