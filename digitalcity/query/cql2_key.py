"""A CQL2 filter's identity, for reusing the SQL compiled for it: two filters with the same
key are the same tree (node types, literal types and values, geometry literals as WKB), so
they compile to the same SQL text and parameters."""

from __future__ import annotations

import dataclasses

import shapely

from digitalcity.query.cql2_ast import Expr, GeometryLiteral, Literal

# Longer filters (large drawn polygons) are compiled per request rather than kept: a cache
# entry holds the key, the SQL and the literals, and there are up to 512 entries.
MAX_KEY_CHARS = 4096


def filter_key(expr: Expr) -> str | None:
    """The canonical text of ``expr``, or None when it is longer than ``MAX_KEY_CHARS``."""
    key = repr(_canonical(expr))
    return key if len(key) <= MAX_KEY_CHARS else None


def _canonical(node: object) -> object:
    # Literal(1), Literal(1.0) and Literal(True) are equal dataclasses but compile to an
    # integer, a float and a boolean parameter: the value's type is part of the key.
    if isinstance(node, Literal):
        return ("Literal", type(node.value).__name__, node.value)
    if isinstance(node, GeometryLiteral):
        return ("GeometryLiteral", shapely.to_wkb(node.geometry, hex=True))
    if isinstance(node, tuple):
        return tuple(_canonical(n) for n in node)
    if dataclasses.is_dataclass(node):
        fields = (getattr(node, f.name) for f in dataclasses.fields(node))
        return (type(node).__name__, *(_canonical(v) for v in fields))
    return (type(node).__name__, node)  # operator names, instants, None
