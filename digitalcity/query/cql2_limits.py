"""Limits on the size and nesting of CQL2 filters, checked without recursion.

Every limit is checked before the recursive parts run (the text parser, the JSON tree walk, the
SQL compiler and SQLAlchemy's own compiler all recurse once per nesting level), so a hostile
filter is refused with a 400 naming the limit instead of exhausting Python's stack (a 500).
Figures: the parser spends about 7 stack frames per parenthesis and the compilers a few per
tree level, so 64 levels stay far below Python's default recursion limit of 1,000 frames.
"""

from __future__ import annotations

import math
from typing import Any

from digitalcity.query.cql2_ast import (
    And,
    Arithmetic,
    Between,
    Comparison,
    Expr,
    FilterError,
    Function,
    In,
    Interval,
    IsNull,
    Like,
    Not,
    Or,
    Spatial,
    Temporal,
)

MAX_FILTER_CHARS = 50_000  # also keeps literals (bound parameters) well under PostgreSQL's 65,535
MAX_DEPTH = 64  # nested parentheses, NOTs, function calls and operator levels
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 8  # JSON objects and arrays: a CQL2 node is an object + 'args'


def check_length(text: str) -> None:
    """Refuse filters longer than MAX_FILTER_CHARS or containing NUL characters."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(
            f"filter length limit exceeded: {len(text):,} characters, at most {MAX_FILTER_CHARS:,}"
        )
    if "\x00" in text:
        raise FilterError("filter contains a NUL character")


def depth_error() -> FilterError:
    """The error for a filter nested deeper than MAX_DEPTH."""
    return FilterError(
        f"filter nesting depth limit exceeded: at most {MAX_DEPTH} levels of parentheses, "
        "NOTs, functions and operators nested in one another"
    )


def check_json(document: Any) -> None:
    """Refuse decoded JSON nested deeper than MAX_JSON_DEPTH or holding an infinite number
    (``1e400`` decodes to inf), in one iterative walk."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise FilterError(
                f"filter nesting depth limit exceeded: more than {MAX_JSON_DEPTH} nested JSON "
                f"objects and arrays (at most {MAX_DEPTH} nested expressions)"
            )
        if isinstance(node, float) and not math.isfinite(node):
            raise FilterError("number out of range in filter (infinite or NaN)")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def _children(expr: Expr) -> tuple[Any, ...]:
    if isinstance(expr, And | Or):
        return expr.args
    if isinstance(expr, Not):
        return (expr.arg,)
    if isinstance(expr, IsNull):
        return (expr.value,)
    if isinstance(expr, Comparison | Arithmetic | Spatial | Temporal):
        return (expr.left, expr.right)
    if isinstance(expr, Like):
        return (expr.value, expr.pattern)
    if isinstance(expr, Between):
        return (expr.value, expr.low, expr.high)
    if isinstance(expr, In):
        return (expr.value, *expr.items)
    if isinstance(expr, Function):
        return expr.args
    if isinstance(expr, Interval):
        return tuple(e for e in (expr.start, expr.end) if e is not None)
    return ()


def check_depth(expr: Expr) -> None:
    """Refuse a tree with more than MAX_DEPTH nested operators (iterative walk, before
    compiling; leaves such as properties and literals do not count)."""
    stack: list[tuple[Expr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        children = _children(node)
        if children and depth + 1 > MAX_DEPTH:
            raise depth_error()
        stack.extend((child, depth + 1) for child in children)
