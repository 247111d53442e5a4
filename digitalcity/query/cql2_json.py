"""CQL2 JSON to the shared expression tree."""

from __future__ import annotations

import json
from typing import Any

import shapely

from digitalcity.query.cql2_ast import (
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    FUNCTIONS,
    SPATIAL_OPS,
    TEMPORAL_OPS,
    And,
    Arithmetic,
    Between,
    Comparison,
    Expr,
    FilterError,
    Function,
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
    bbox_literal,
    geometry_literal,
    number_literal,
    parse_instant,
    text_literal,
)
from digitalcity.query.cql2_limits import (
    check_depth,
    check_json,
    check_length,
    depth_error,
)

_GEOJSON_TYPES = {
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
}


def _refuse_constant(name: str) -> float:
    raise FilterError(f"{name} is not a number CQL2 accepts")


def parse_json(document: str | dict[str, Any]) -> Expr:
    """Parse CQL2 JSON (a string or an already decoded object).

    The text's length and the document's nesting are checked before the tree is walked
    (see cql2_limits); the walk recurses once per JSON level."""
    if isinstance(document, str):
        check_length(document)
        try:
            document = json.loads(document, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise FilterError(
                f"filter is not valid JSON: {exc.msg} at position {exc.pos}"
            ) from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise FilterError(f"filter is not usable JSON: {str(exc)[:80]}") from None
        except RecursionError:
            raise depth_error() from None
    check_json(document)
    expr = _node(document)
    check_depth(expr)
    return expr


def _args(node: dict[str, Any], count: int | None = None) -> list[Any]:
    args = node.get("args")
    op = str(node.get("op"))[:40]
    if not isinstance(args, list):
        raise FilterError(f"operator {op!r} needs an 'args' array")
    if count is not None and len(args) != count:
        raise FilterError(f"operator {op!r} takes {count} arguments, got {len(args)}")
    return args


def _node(node: Any) -> Expr:  # noqa: C901 - one branch per CQL2 construct
    if isinstance(node, bool):
        return Literal(node)
    if isinstance(node, int | float):
        return number_literal(node)
    if isinstance(node, str):
        return text_literal(node)
    if not isinstance(node, dict):
        raise FilterError(f"unexpected JSON value {str(node)[:60]!r} in filter")
    if "property" in node:
        return Property(str(node["property"]))
    if "date" in node:
        return parse_instant(str(node["date"]), "date")
    if "timestamp" in node:
        return parse_instant(str(node["timestamp"]), "timestamp")
    if "interval" in node:
        ends = node["interval"]
        if not isinstance(ends, list) or len(ends) != 2:
            raise FilterError("interval needs two bounds")
        return Interval(*(_interval_end(e) for e in ends))
    if "bbox" in node:
        box = node["bbox"]
        if not isinstance(box, list):
            raise FilterError("bbox needs a list of 4 or 6 numbers")
        return bbox_literal(box)
    if isinstance(node.get("type"), str) and node["type"] in _GEOJSON_TYPES:
        try:
            geometry = shapely.from_geojson(json.dumps(node))
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            raise FilterError(f"invalid GeoJSON geometry in filter: {str(exc)[:120]}") from None
        return geometry_literal(geometry)
    op = node.get("op")
    if not isinstance(op, str):
        raise FilterError(f"cannot read filter node {str(node)[:60]!r}")
    op_lower = op.lower()
    if op_lower in ("and", "or"):
        args = _args(node)
        if not args:
            raise FilterError(f"operator {op!r} needs at least one argument")
        cls = And if op_lower == "and" else Or
        return cls(tuple(_node(a) for a in args))
    if op_lower == "not":
        return Not(_node(_args(node, 1)[0]))
    if op in COMPARISON_OPS:
        left, right = _args(node, 2)
        return Comparison(op, _node(left), _node(right))
    if op_lower == "like":
        left, right = _args(node, 2)
        return Like(_node(left), _node(right))
    if op_lower == "between":
        value, low, high = _args(node, 3)
        return Between(_node(value), _node(low), _node(high))
    if op_lower == "in":
        value, items = _args(node, 2)
        if not isinstance(items, list):
            raise FilterError("'in' needs a list as its second argument")
        return In(_node(value), tuple(_node(i) for i in items))
    if op_lower == "isnull":
        return IsNull(_node(_args(node, 1)[0]))
    if op_lower in SPATIAL_OPS:
        left, right = _args(node, 2)
        return Spatial(op_lower, _node(left), _node(right))
    if op_lower in TEMPORAL_OPS:
        left, right = _args(node, 2)
        return Temporal(op_lower, _node(left), _node(right))
    if op_lower in ARITHMETIC_OPS:
        left, right = _args(node, 2)
        return Arithmetic(op_lower, _node(left), _node(right))
    if op_lower in FUNCTIONS:
        return Function(op_lower, tuple(_node(a) for a in _args(node)))
    if op_lower.startswith("a_"):
        raise FilterError(
            f"array operator {op[:40]!r} is not supported (no array properties; the "
            "array-functions conformance class is not claimed)"
        )
    raise FilterError(
        f"unknown operator or function {op[:40]!r} (custom functions are not supported)"
    )


def _interval_end(value: Any) -> Instant | Property | None:
    if value == "..":
        return None
    if isinstance(value, str):
        return parse_instant(value, "timestamp" if "T" in value else "date")
    expr = _node(value)
    if isinstance(expr, Instant | Property):
        return expr
    raise FilterError("interval bounds must be dates, timestamps, properties or '..'")
