"""The values a field holds, most frequent first, with its range: what a query builder offers
to choose from (a list of a text field's values, the bounds of a number's).

Fields come from the layer's definition and go through the caller's access (only queryable
fields it may see); the text to look for is a bound parameter, never SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from digitalcity.catalog.codes import Code
from digitalcity.catalog.model import FieldDef
from digitalcity.errors import DigitalCityError
from digitalcity.query.like import like_escaped

MAX_VALUES = 1000
MAX_CONTAINS = 200
_RANGED = {"integer", "float", "date", "datetime"}  # types whose min and max mean something
_SUMMED = {"integer", "float"}  # types whose sum and mean mean something


class ValuesError(DigitalCityError):
    """A request the values cannot answer (unknown field, bad limit or text): a 400."""

    title = "Invalid values request"


@dataclass(frozen=True)
class FieldValues:
    """What ``field_values`` found: the values (most frequent first), whether they are all
    of them, how many features have a value and how many none, and a number's or date's
    range (None for other types)."""

    field: FieldDef
    values: list[tuple[Any, int]]
    complete: bool
    count: int
    nulls: int
    minimum: Any = None
    maximum: Any = None
    total: Any = None
    mean: Any = None

    def to_dict(self, lang: str, codes: tuple[Code, ...] = ()) -> dict[str, Any]:
        """As JSON: a coded field's values carry their names in ``lang``."""
        names = {c.code: c.name(lang) for c in codes}
        out: dict[str, Any] = {
            "property": self.field.name,
            "title": self.field.title.get(lang),
            "type": self.field.type,
            "unit": self.field.unit,
            "values": [
                {"value": _json(v), "count": n, **({"title": names[v]} if v in names else {})}
                for v, n in self.values
            ],
            "complete": self.complete,
            "count": self.count,
            "nulls": self.nulls,
        }
        if self.field.type in _RANGED:
            out["min"], out["max"] = _json(self.minimum), _json(self.maximum)
        if self.field.type in _SUMMED:
            out["sum"], out["mean"] = _number(self.total), _number(self.mean)
        return out


def _number(value: Any) -> float | int | None:
    """A sum or mean as JSON writes it (PostgreSQL answers numeric as Decimal)."""
    if value is None:
        return None
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def _json(value: Any) -> Any:
    """A value as JSON writes it (dates and times in ISO 8601)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def field_values(
    conn: sa.Connection,
    table: Any,
    layer_fields: dict[str, FieldDef],
    name: str,
    *,
    limit: int = 100,
    contains: str | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> FieldValues:
    """The ``limit`` most frequent values of field ``name`` of ``table`` (ties in value
    order), those whose text holds ``contains`` (case-insensitive) when given; with the
    field's count, nulls, range and (for numbers) sum and mean, all over the features that
    meet ``where`` (an items
    query's conditions: ``ItemsQuery.where``), else the whole table. ``layer_fields``: the
    queryable fields the caller may see (``query.items.queryables``)."""
    field = layer_fields.get(name)
    if field is None:
        raise ValuesError(f"unknown property {name[:100]!r}; queryable: {sorted(layer_fields)}")
    if not 1 <= limit <= MAX_VALUES:
        raise ValuesError(f"limit must be between 1 and {MAX_VALUES}")
    if contains is not None and len(contains) > MAX_CONTAINS:
        raise ValuesError(f"contains is longer than {MAX_CONTAINS} characters")
    column = table.c[name]
    ranged, summed = field.type in _RANGED, field.type in _SUMMED
    totals = (
        sa.select(
            sa.func.count(column),
            sa.func.count(),
            sa.func.min(column) if ranged else sa.null(),
            sa.func.max(column) if ranged else sa.null(),
            sa.func.sum(column) if summed else sa.null(),
            sa.func.avg(column) if summed else sa.null(),
        )
        .select_from(table)
        .where(*where)
    )
    n = sa.func.count().label("n")
    listed = sa.select(column.label("value"), n).where(column.is_not(None), *where)
    if contains:
        pattern = "%" + like_escaped(contains.lower()) + "%"
        bound = sa.bindparam("contains", pattern, sa.Text)
        listed = listed.where(sa.func.lower(sa.cast(column, sa.Text)).like(bound, escape="\\"))
    listed = listed.group_by(column).order_by(n.desc(), column).limit(limit + 1)
    count, rows_total, minimum, maximum, total, mean = conn.execute(totals).one()
    rows = [(row.value, row.n) for row in conn.execute(listed)]
    return FieldValues(
        field=field,
        values=rows[:limit],
        complete=len(rows) <= limit,
        count=count,
        nulls=rows_total - count,
        minimum=minimum,
        maximum=maximum,
        total=total,
        mean=mean,
    )
