"""A recursive-descent parser for CQL2 text (basic, advanced comparison, spatial, temporal,
arithmetic, case- and accent-insensitive comparison conformance classes).

Why our own parser and not the ``cql2`` package (Rust, Development Seed, used by tipg):
measured on the standard's 120 text / 109 JSON examples (``python -m bench.cql2``; ranges of
runs on our shared 2-core machine), cql2 0.6.0 parses a text filter in 17-21 us and ours in
65-110 us (JSON: 11-12 vs 43-106 us), but (1) we need our own tree for the SQL compiler, and
cql2's JSON turned into it costs 73-113 us in all, no less than our parser alone;
(2) its JSON makes every integer a float (5 -> 5.0), losing the integer/float typing the compiler
checks; (3) it crashes the whole process with SIGSEGV on 10,000 nested parentheses or 100,000
NOTs (a Rust stack overflow, not an exception), so a depth check would have to run first anyway;
(4) a compiled dependency for tens of microseconds in requests that take milliseconds.

Safety: the filter's length is checked first, then one linear regex scan makes the tokens (with
their positions) and measures the nesting (parentheses and chains of prefix NOTs / minus signs)
before any recursion; NOT and minus chains are parsed in loops, so the parser recurses only once
per parenthesis, and the finished tree's depth is checked again for the SQL compiler.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from digitalcity.query.cql2_ast import (
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
    bbox_literal,
    geometry_literal,
    number_literal,
    parse_instant,
    text_literal,
)
from digitalcity.query.cql2_limits import check_depth, check_length
from digitalcity.query.cql2_tokens import Tokens

_GEOMETRY_WORDS = {
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "DIV"}
_COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")


def parse_text(text: str) -> Expr:
    """Parse a CQL2 text filter; raises FilterError with the position of the problem."""
    check_length(text)
    if not text.strip():
        raise FilterError("empty filter")
    tokens = Tokens(text)
    expr = _or(tokens)
    token = tokens.peek()
    if token is not None:
        raise FilterError(f"unexpected {token[1]!r} at position {token[2] + 1}")
    check_depth(expr)
    return expr


def _or(t: Tokens) -> Expr:
    args = [_and(t)]
    while t.accept_word("OR"):
        args.append(_and(t))
    return args[0] if len(args) == 1 else Or(tuple(args))


def _and(t: Tokens) -> Expr:
    args = [_not(t)]
    while t.accept_word("AND"):
        args.append(_not(t))
    return args[0] if len(args) == 1 else And(tuple(args))


def _not(t: Tokens) -> Expr:
    count = 0
    while t.accept_word("NOT"):
        count += 1
    expr = _predicate(t)
    for _ in range(count):
        expr = Not(expr)
    return expr


def _predicate(t: Tokens) -> Expr:
    left = _additive(t)
    negated = t.accept_word("NOT")
    if t.accept_word("LIKE"):
        out: Expr = Like(left, _additive(t))
    elif t.accept_word("BETWEEN"):
        low = _additive(t)
        if not t.accept_word("AND"):
            raise FilterError("BETWEEN needs AND")
        out = Between(left, low, _additive(t))
    elif t.accept_word("IN"):
        t.expect_op("(")
        items = [_additive(t)]
        while t.accept_op(","):
            items.append(_additive(t))
        t.expect_op(")")
        out = In(left, tuple(items))
    elif not negated and t.accept_word("IS"):
        is_not = t.accept_word("NOT")
        if not t.accept_word("NULL"):
            raise FilterError("IS must be followed by [NOT] NULL")
        return Not(IsNull(left)) if is_not else IsNull(left)
    elif negated:
        raise FilterError("NOT must be followed by LIKE, BETWEEN or IN here")
    else:
        op = t.op()
        if op in _COMPARISONS:
            t.next()
            return Comparison(op, left, _additive(t))  # type: ignore[arg-type]
        return left
    return Not(out) if negated else out


def _additive(t: Tokens) -> Expr:
    left = _multiplicative(t)
    while (op := t.op()) in ("+", "-"):
        t.next()
        left = Arithmetic(op, left, _multiplicative(t))  # type: ignore[arg-type]
    return left


def _multiplicative(t: Tokens) -> Expr:
    left = _power(t)
    while True:
        op = t.op()
        if op in ("*", "/", "%"):
            t.next()
            left = Arithmetic(op, left, _power(t))  # type: ignore[arg-type]
        elif t.word() == "DIV":
            t.next()
            left = Arithmetic("div", left, _power(t))
        else:
            return left


def _power(t: Tokens) -> Expr:
    """``a ^ b`` (CQL2's powerTerm); a chain ``a ^ b ^ c`` groups to the right."""
    operands = [_unary(t)]
    while t.accept_op("^"):
        operands.append(_unary(t))
    expr = operands[-1]
    for base in reversed(operands[:-1]):
        expr = Arithmetic("^", base, expr)
    return expr


def _unary(t: Tokens) -> Expr:
    """An operand with optional minus signs (CQL2's arithmeticFactor), read in a loop."""
    negations = 0
    while t.accept_op("-"):
        negations += 1
    operand = _primary(t)
    if negations % 2 == 0:
        return operand
    if isinstance(operand, Literal) and isinstance(operand.value, int | float):
        if not isinstance(operand.value, bool):
            return Literal(-operand.value)
    return Arithmetic("*", Literal(-1), operand)


def _geometry(t: Tokens, start: int) -> GeometryLiteral:
    """Consume a WKT literal (keyword, optional Z/M, then a balanced parenthesised body)."""
    t.next()  # the keyword
    while t.word() in ("Z", "M", "ZM"):
        t.next()
    if t.op() != "(":
        raise FilterError(f"expected '(' after the geometry keyword at position {start + 1}")
    depth = 0
    while True:
        kind, value, pos = t.next()
        if kind == "number" and not math.isfinite(float(value)):
            raise FilterError(f"number out of range in the geometry at position {pos + 1}")
        if kind == "op" and value == "(":
            depth += 1
        elif kind == "op" and value == ")":
            depth -= 1
            if depth == 0:
                end = pos + 1
                break
    wkt = t.text[start:end]
    try:
        with np.errstate(all="ignore"):  # GEOS reads 'nan'/'inf' words; refused just below
            geometry = shapely.from_wkt(wkt)
    except (shapely.errors.GEOSException, ValueError) as exc:
        raise FilterError(f"invalid geometry {wkt[:40]!r}…: {exc}") from None
    return geometry_literal(geometry)


def _call(t: Tokens, value: str) -> Expr:
    """A function or operator call ``NAME(`` (the parenthesis already consumed)."""
    lower = value.lower()
    if lower.startswith("a_"):
        raise FilterError(
            f"array operator {value.upper()} is not supported (no array properties; the "
            "array-functions conformance class is not claimed)"
        )
    if lower not in SPATIAL_OPS | TEMPORAL_OPS | FUNCTIONS:
        raise FilterError(
            f"unknown function {value!r} (custom functions are not supported; known: "
            f"{', '.join(sorted(n.upper() for n in FUNCTIONS))})"
        )
    args = [] if t.accept_op(")") else _arguments(t)
    if lower in SPATIAL_OPS | TEMPORAL_OPS:
        if len(args) != 2:
            raise FilterError(f"{value.upper()} takes two arguments")
        cls = Spatial if lower in SPATIAL_OPS else Temporal
        return cls(lower, args[0], args[1])
    return Function(lower, tuple(args))


def _primary(t: Tokens) -> Expr:  # noqa: C901 - one branch per kind of operand
    kind, value, pos = t.next()
    if kind == "string":
        return text_literal(value[1:-1].replace("''", "'"))
    if kind == "number":
        if value.isdigit() and len(value) <= 18:
            return number_literal(int(value))
        return number_literal(float(value))
    if kind == "quoted":
        return Property(value[1:-1].replace('""', '"'))
    if kind == "op" and value == "(":
        inner = _or(t)
        t.expect_op(")")
        return inner
    if kind != "word":
        raise FilterError(f"unexpected {value!r} at position {pos + 1}")
    upper = value.upper()
    if upper in ("TRUE", "FALSE"):
        return Literal(upper == "TRUE")
    if upper in _GEOMETRY_WORDS:
        t.i -= 1
        return _geometry(t, pos)
    if upper in ("BBOX", "ENVELOPE") and t.accept_op("("):
        return bbox_literal(list(_numbers(t)))
    if upper in ("DATE", "TIMESTAMP") and t.accept_op("("):
        literal = _primary(t)
        t.expect_op(")")
        if not isinstance(literal, Literal) or not isinstance(literal.value, str):
            raise FilterError(f"{upper} needs a quoted string")
        return parse_instant(literal.value, upper.lower())
    if upper == "INTERVAL" and t.accept_op("("):
        start = _interval_end(t)
        t.expect_op(",")
        end = _interval_end(t)
        t.expect_op(")")
        return Interval(start, end)
    if t.accept_op("("):
        return _call(t, value)
    if upper in _KEYWORDS:
        raise FilterError(f"unexpected keyword {upper} at position {pos + 1}")
    return Property(value)


def _arguments(t: Tokens) -> list[Expr]:
    args = [_or(t)]
    while t.accept_op(","):
        args.append(_or(t))
    t.expect_op(")")
    return args


def _numbers(t: Tokens) -> list[float]:
    out: list[float] = []
    while True:
        negative = t.accept_op("-")
        kind, value, pos = t.next()
        if kind != "number":
            raise FilterError(f"expected a number at position {pos + 1}, found {value!r}")
        out.append(-float(value) if negative else float(value))
        if t.accept_op(")"):
            return out
        t.expect_op(",")


def _interval_end(t: Tokens) -> Instant | Property | None:
    expr = _primary(t)
    if isinstance(expr, Literal) and expr.value == "..":
        return None
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        kind = "timestamp" if "T" in expr.value else "date"
        return parse_instant(expr.value, kind)
    if isinstance(expr, Instant | Property):
        return expr
    raise FilterError("INTERVAL bounds must be dates, timestamps, properties or '..'")


__all__ = ["parse_text"]
