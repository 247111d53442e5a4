"""Known answers of the CQL2 operators this round added, evaluated by PostgreSQL: the 15
temporal operators on one interval per Allen relation, open bounds, instants, and ``^``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from cql2_layer import SCHEMA

from digitalcity.catalog.model import FieldDef, Titles
from digitalcity.query import FilterContext, FilterError, compile_filter, parse_json, parse_text

B = ("2020-01-10", "2020-01-20")  # the interval every row is compared with
# One row per Allen relation of the row's interval [start, end] to B (day of January 2020).
ROWS = {
    "before": (1, 5),
    "meets": (1, 10),
    "overlaps": (5, 15),
    "starts": (10, 15),
    "during": (12, 18),
    "finishes": (15, 20),
    "equals": (10, 20),
    "finishedby": (5, 20),
    "contains": (5, 25),
    "startedby": (10, 25),
    "overlappedby": (15, 25),
    "metby": (20, 25),
    "after": (22, 25),
}
NAMES = list(ROWS)


@pytest.fixture(scope="module")
def periods(engine):  # noqa: ANN001, ANN201
    table = sa.Table(
        "periods",
        sa.MetaData(schema=SCHEMA),
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column("geom", sa.Text),  # unused: the filter compiler only needs the column
        sa.Column("relation", sa.Text),
        sa.Column("starts_at", sa.Date),
        sa.Column("ends_at", sa.Date),
        sa.Column("n", sa.Double),
    )
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        table.drop(conn, checkfirst=True)
        table.create(conn)
        conn.execute(
            table.insert(),
            [
                {
                    "fid": i,
                    "relation": name,
                    "starts_at": dt.date(2020, 1, start),
                    "ends_at": dt.date(2020, 1, end),
                    "n": float(i),
                }
                for i, (name, (start, end)) in enumerate(ROWS.items(), start=1)
            ],
        )
    return table


def _ctx(table: sa.Table) -> FilterContext:
    def field(name: str, kind: str) -> FieldDef:
        return FieldDef(name=name, type=kind, title=Titles(zh=name, en=name))  # type: ignore[arg-type]

    fields = {
        "starts_at": field("starts_at", "date"),
        "ends_at": field("ends_at", "date"),
        "relation": field("relation", "string"),
        "n": field("n", "float"),
    }
    return FilterContext(table, fields, 4326)


def _relations(engine, table: sa.Table, text: str) -> set[str]:  # noqa: ANN001
    where = compile_filter(parse_text(text), _ctx(table))
    with engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.relation).where(where)).scalars())


@pytest.mark.parametrize(
    ("op", "expected"),
    [(f"T_{n.upper()}", {n}) for n in NAMES if n not in ("before", "after")]
    + [
        ("T_BEFORE", {"before"}),
        ("T_AFTER", {"after"}),
        ("T_INTERSECTS", set(NAMES) - {"before", "after"}),
        ("T_DISJOINT", {"before", "after"}),
    ],
)
def test_allen_relations(op: str, expected: set[str], engine, periods):  # noqa: ANN001
    text = f"{op}(INTERVAL(starts_at, ends_at), INTERVAL('{B[0]}', '{B[1]}'))"
    assert _relations(engine, periods, text) == expected
    as_json = {
        "op": op.lower(),
        "args": [
            {"interval": [{"property": "starts_at"}, {"property": "ends_at"}]},
            {"interval": list(B)},
        ],
    }
    assert parse_json(json.dumps(as_json)) == parse_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # open start: B' = (-inf, Jan 20]
        (
            "T_DURING(INTERVAL(starts_at, ends_at), INTERVAL('..', '2020-01-20'))",
            {"before", "meets", "overlaps", "starts", "during"},
        ),
        (
            "T_FINISHES(INTERVAL(starts_at, ends_at), INTERVAL('..', '2020-01-20'))",
            {"finishes", "equals", "finishedby"},
        ),
        (
            "T_BEFORE(INTERVAL(starts_at, ends_at), INTERVAL('2020-01-21', '..'))",
            set(NAMES) - {"contains", "startedby", "overlappedby", "metby", "after"},
        ),
        ("T_AFTER(INTERVAL(starts_at, ends_at), INTERVAL('..', '2020-01-15'))", {"metby", "after"}),
        (
            "T_STARTS(INTERVAL(starts_at, ends_at), INTERVAL('2020-01-10', '..'))",
            {"starts", "equals", "startedby"},
        ),
        ("T_MEETS(INTERVAL(starts_at, ends_at), INTERVAL('2020-01-10', '..'))", {"meets"}),
        ("T_INTERSECTS(INTERVAL(starts_at, ends_at), INTERVAL('..', '..'))", set(NAMES)),
        ("T_EQUALS(INTERVAL('..', '..'), INTERVAL('..', '..'))", set(NAMES)),
        ("T_CONTAINS(INTERVAL('..', '..'), INTERVAL(starts_at, ends_at))", set(NAMES)),
        ("T_METBY(INTERVAL(starts_at, '..'), INTERVAL('..', '2020-01-20'))", {"metby"}),
        # instants are intervals [t, t]
        ("T_AFTER(starts_at, DATE('2020-01-15'))", {"metby", "after"}),
        (
            "T_EQUALS(ends_at, DATE('2020-01-25'))",
            {"contains", "startedby", "overlappedby", "metby", "after"},
        ),
        (
            "T_DURING(DATE('2020-01-16'), INTERVAL(starts_at, ends_at))",
            {"during", "finishes", "equals", "finishedby", "contains", "startedby", "overlappedby"},
        ),
        (
            "T_MEETS(DATE('2020-01-05'), INTERVAL(starts_at, ends_at))",
            {"overlaps", "finishedby", "contains"},
        ),
    ],
)
def test_open_bounds_and_instants(text: str, expected: set[str], engine, periods):  # noqa: ANN001
    assert _relations(engine, periods, text) == expected


def test_power_operator(engine, periods):  # noqa: ANN001
    assert _relations(engine, periods, "n ^ 2 = 16") == {"starts"}  # n = 4
    assert _relations(engine, periods, "2 ^ n = 8") == {"overlaps"}  # n = 3
    assert _relations(engine, periods, "n = 2 ^ 3 ^ 0") == {"meets"}  # right-grouped: 2^(3^0) = 2
    assert _relations(engine, periods, "-n ^ 2 = 1") == {"before"}  # (-n)^2 as CQL2's BNF
    assert parse_json('{"op": "^", "args": [2, {"property": "n"}]}') == parse_text("2 ^ n")


def test_temporal_operators_refuse_other_types(periods):  # noqa: ANN001
    with pytest.raises(FilterError, match="temporal operators need dates"):
        compile_filter(
            parse_text("T_MEETS(INTERVAL(relation, ends_at), DATE('2020-01-01'))"), _ctx(periods)
        )
    with pytest.raises(FilterError, match="temporal operators need dates"):
        compile_filter(parse_text("T_AFTER(n, DATE('2020-01-01'))"), _ctx(periods))


def test_in_lists(engine, periods):  # noqa: ANN001
    """Literal lists travel as one array parameter; mixed lists keep the IN form."""
    assert _relations(engine, periods, "n IN (1, 2, 3)") == {"before", "meets", "overlaps"}
    assert _relations(engine, periods, "n IN (1.5, 2)") == {"meets"}
    assert _relations(engine, periods, "relation IN ('during', 'after', 'x')") == {
        "during",
        "after",
    }
    assert _relations(engine, periods, "n NOT IN (" + ", ".join(map(str, range(1, 13))) + ")") == {
        "after"
    }
    many = "n IN (" + ", ".join(str(v) for v in range(13, 5_013)) + ")"
    assert _relations(engine, periods, many) == {"after"}
    assert _relations(engine, periods, "n IN (n, 99)") == set(NAMES)
    with pytest.raises(FilterError, match="cannot compare"):
        compile_filter(parse_text("relation IN ('x', 1)"), _ctx(periods))
    with pytest.raises(FilterError, match="cannot compare"):
        compile_filter(parse_text("n IN ('1')"), _ctx(periods))
