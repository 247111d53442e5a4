"""The 15 CQL2 temporal operators as SQL conditions on interval bounds (Allen's relations).

An instant is the interval [t, t]; an open bound ('..') is -infinity as a start and +infinity as
an end, decided here in Python so no infinity value reaches SQL. Definitions (a = left, b = right),
as in CQL2 (OGC 21-065r2) section 6.4.9:

    T_AFTER       a.start > b.end            T_BEFORE      a.end < b.start
    T_CONTAINS    a.start < b.start, b.end < a.end
    T_DURING      b.start < a.start, a.end < b.end
    T_EQUALS      a.start = b.start, a.end = b.end
    T_DISJOINT    not T_INTERSECTS           T_INTERSECTS  a.start <= b.end, b.start <= a.end
    T_MEETS       a.end = b.start            T_METBY       a.start = b.end
    T_OVERLAPS    a.start < b.start, b.start < a.end, a.end < b.end
    T_OVERLAPPEDBY b.start < a.start, a.start < b.end, b.end < a.end
    T_STARTS      a.start = b.start, a.end < b.end
    T_STARTEDBY   a.start = b.start, b.end < a.end
    T_FINISHES    b.start < a.start, a.end = b.end
    T_FINISHEDBY  a.start < b.start, a.end = b.end
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa

Infinity = Literal["-inf", "+inf"]
Bound = sa.ColumnElement | Infinity
Condition = sa.ColumnElement[bool]


def _rank(x: Bound) -> int:
    """-1 for -infinity, 1 for +infinity, 0 for a finite SQL value."""
    if isinstance(x, str):
        return -1 if x == "-inf" else 1
    return 0


def _lt(x: Bound, y: Bound) -> Condition:
    if isinstance(x, str) or isinstance(y, str):
        return sa.true() if _rank(x) < _rank(y) else sa.false()
    return x < y


def _le(x: Bound, y: Bound) -> Condition:
    if isinstance(x, str) or isinstance(y, str):
        return sa.true() if _rank(x) <= _rank(y) else sa.false()
    return x <= y


def _eq(x: Bound, y: Bound) -> Condition:
    if isinstance(x, str) or isinstance(y, str):
        return sa.true() if _rank(x) == _rank(y) and _rank(x) != 0 else sa.false()
    return x == y  # type: ignore[no-any-return]


def temporal_condition(op: str, a: tuple[Bound, Bound], b: tuple[Bound, Bound]) -> Condition:
    """The condition ``op(a, b)`` for intervals given as (start, end) bounds."""
    a0, a1 = a
    b0, b1 = b
    intersects = sa.and_(_le(a0, b1), _le(b0, a1))
    builders = {
        "t_after": lambda: _lt(b1, a0),
        "t_before": lambda: _lt(a1, b0),
        "t_contains": lambda: sa.and_(_lt(a0, b0), _lt(b1, a1)),
        "t_during": lambda: sa.and_(_lt(b0, a0), _lt(a1, b1)),
        "t_equals": lambda: sa.and_(_eq(a0, b0), _eq(a1, b1)),
        "t_intersects": lambda: intersects,
        "t_disjoint": lambda: sa.not_(intersects),
        "t_meets": lambda: _eq(a1, b0),
        "t_metby": lambda: _eq(a0, b1),
        "t_overlaps": lambda: sa.and_(_lt(a0, b0), _lt(b0, a1), _lt(a1, b1)),
        "t_overlappedby": lambda: sa.and_(_lt(b0, a0), _lt(a0, b1), _lt(b1, a1)),
        "t_starts": lambda: sa.and_(_eq(a0, b0), _lt(a1, b1)),
        "t_startedby": lambda: sa.and_(_eq(a0, b0), _lt(b1, a1)),
        "t_finishes": lambda: sa.and_(_lt(b0, a0), _eq(a1, b1)),
        "t_finishedby": lambda: sa.and_(_lt(a0, b0), _eq(a1, b1)),
    }
    return builders[op]()
