"""The CQL2 expression tree shared by the text and JSON parsers and the SQL compiler."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Union

import numpy as np
import shapely

from digitalcity.errors import DigitalCityError


class FilterError(DigitalCityError):
    """A malformed or unsupported CQL2 filter (400)."""

    title = "Invalid filter"


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class GeometryLiteral:
    geometry: shapely.Geometry


@dataclass(frozen=True)
class Instant:
    value: dt.date | dt.datetime


@dataclass(frozen=True)
class Interval:
    start: Instant | Property | None  # None: open ('..')
    end: Instant | Property | None


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Arithmetic:
    op: str  # + - * / % div ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class And:
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    arg: Expr


@dataclass(frozen=True)
class Comparison:
    op: str  # = <> < > <= >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Like:
    value: Expr
    pattern: Expr


@dataclass(frozen=True)
class Between:
    value: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True)
class In:
    value: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class IsNull:
    value: Expr


@dataclass(frozen=True)
class Spatial:
    op: str  # s_intersects, s_equals, s_disjoint, s_touches, s_within, s_overlaps, s_crosses, s_contains
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Temporal:
    op: str  # t_after, t_before, t_during, t_equals, t_intersects, t_disjoint, ...
    left: Expr
    right: Expr


Expr = Union[  # noqa: UP007 - recursive alias needs the Union form before 3.12
    Property,
    Literal,
    GeometryLiteral,
    Instant,
    Interval,
    Function,
    Arithmetic,
    And,
    Or,
    Not,
    Comparison,
    Like,
    Between,
    In,
    IsNull,
    Spatial,
    Temporal,
]

SPATIAL_OPS = frozenset(
    {
        "s_intersects",
        "s_equals",
        "s_disjoint",
        "s_touches",
        "s_within",
        "s_overlaps",
        "s_crosses",
        "s_contains",
    }
)
TEMPORAL_OPS = frozenset(
    {
        "t_after",
        "t_before",
        "t_contains",
        "t_disjoint",
        "t_during",
        "t_equals",
        "t_finishedby",
        "t_finishes",
        "t_intersects",
        "t_meets",
        "t_metby",
        "t_overlappedby",
        "t_overlaps",
        "t_startedby",
        "t_starts",
    }
)
COMPARISON_OPS = frozenset({"=", "<>", "<", ">", "<=", ">="})
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "div", "^"})
FUNCTIONS = frozenset({"casei", "accenti", "lower", "upper"})


def parse_instant(text: str, kind: str) -> Instant:
    """A DATE('YYYY-MM-DD') or TIMESTAMP('…Z') literal."""
    try:
        if kind == "date":
            return Instant(dt.date.fromisoformat(text))
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return Instant(stamp)
    except (ValueError, OverflowError):
        raise FilterError(f"invalid {kind.upper()} literal {text[:40]!r}") from None


_INT64 = 2**63


def number_literal(value: int | float) -> Literal:
    """A numeric literal: integers beyond 64 bits become floats; infinities and NaN refused."""
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        try:
            value = float(value)
        except OverflowError:
            raise FilterError("number out of range in filter") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError("number out of range in filter (infinite or NaN)")
    return Literal(value)


def text_literal(value: str) -> Literal:
    """A string literal PostgreSQL can hold (no NUL, valid UTF-8)."""
    if "\x00" in value:
        raise FilterError("string literal contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError("string literal is not valid Unicode (lone surrogate)") from None
    return Literal(value)


def geometry_literal(geometry: shapely.Geometry | None) -> GeometryLiteral:
    """A geometry literal with finite coordinates (coordinates in the filter CRS)."""
    if geometry is None or geometry.is_empty:
        raise FilterError("empty geometry in filter")
    coordinates = shapely.get_coordinates(geometry, include_z=bool(shapely.has_z(geometry)))
    if not np.isfinite(coordinates).all():
        raise FilterError("geometry in filter has infinite or NaN coordinates")
    return GeometryLiteral(geometry)


def bbox_literal(numbers: list[object]) -> GeometryLiteral:
    """A BBOX of 4 (2D) or 6 (3D, heights dropped) finite numbers."""
    if len(numbers) not in (4, 6):
        raise FilterError(f"a bbox needs 4 or 6 numbers, got {len(numbers)}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise FilterError("a bbox needs numbers only")
    values = [float(v) for v in numbers]  # type: ignore[arg-type]
    if not all(math.isfinite(v) for v in values):
        raise FilterError("a bbox needs finite numbers")
    w, s, e, n = values[:4] if len(values) == 4 else (values[0], values[1], values[3], values[4])
    return GeometryLiteral(shapely.box(w, s, e, n))
