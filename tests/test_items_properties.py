"""Feature properties are written as compact JSON text (``query.items.properties_json``):
the same keys, in the layer's order, and the same values as ``json_build_object`` gives,
for every field type, nulls and values JSON cannot hold as numbers; layers with more fields
than one SQL function call takes are nested, not cut. Without their nulls (pages after the
first), the same object less exactly its null members, as ``json_strip_nulls`` gives."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from digitalcity.catalog.model import FieldDef
from digitalcity.db.schema import column_for
from digitalcity.query.items import properties_json

TYPES = ("string", "integer", "float", "boolean", "date", "datetime")


def _fields(count: int) -> list[FieldDef]:
    return [
        FieldDef(
            name=f"f{n}_{TYPES[n % len(TYPES)]}",
            type=TYPES[n % len(TYPES)],
            title={"en": "x", "zh": "x"},
        )
        for n in range(count)
    ]


def _value(kind: str, row: int) -> object:
    return {
        "string": ['tab\t"quoted" \\ 中文', "", None][row],
        "integer": [-(2**63), 0, None][row],
        "float": [float("nan"), 1e-300, None][row],
        "boolean": [True, False, None][row],
        "date": [dt.date(1899, 12, 31), dt.date(2100, 2, 28), None][row],
        "datetime": [
            dt.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            None,
        ][row],
    }[kind]


def _compare(engine: sa.Engine, count: int) -> None:
    """Both forms of ``count`` fields' properties on rows of values, nulls, and all nulls."""
    fields = _fields(count)
    table = sa.Table(
        f"props_{count}",
        sa.MetaData(),
        sa.Column("fid", sa.BigInteger),
        *map(column_for, fields),
        prefixes=["TEMPORARY"],
    )
    built = sa.func.json_build_object
    first_50 = {f.name for f in fields[:50]}  # one json_build_object takes 100 arguments
    pairs = [x for f in fields[:50] for x in (sa.literal(f.name), table.c[f.name])]
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'Asia/Shanghai'")
        table.create(conn)
        conn.execute(
            table.insert(),
            [{"fid": row, **{f.name: _value(f.type, row) for f in fields}} for row in range(3)]
            + [  # one value, in the last field
                {
                    "fid": 3,
                    **{f.name: None for f in fields},
                    fields[-1].name: _value(fields[-1].type, 0),
                }
            ],
        )
        rows = conn.execute(
            sa.select(
                properties_json(table, fields),
                sa.cast(built(*pairs), sa.Text),
                properties_json(table, fields, nulls=False),
                sa.cast(sa.func.json_strip_nulls(built(*pairs)), sa.Text),
            ).order_by(table.c.fid)
        ).all()
    sparse_keys = []
    for text, reference, sparse, stripped in rows:
        for compact in (text, sparse):
            assert " " not in compact.replace('tab\\t\\"quoted\\" \\\\ 中文', "")
        parsed = json.loads(text)
        assert list(parsed) == [f.name for f in fields]  # every key, in order
        assert {k: parsed[k] for k in list(parsed)[:50]} == json.loads(reference)
        without = json.loads(sparse)
        assert without == {k: v for k, v in parsed.items() if v is not None}
        assert list(without) == [k for k in parsed if parsed[k] is not None]  # same order
        assert {k: v for k, v in without.items() if k in first_50} == json.loads(stripped)
        sparse_keys.append(list(without))
    assert sparse_keys[2] == [] and sparse_keys[3] == [fields[-1].name]  # "{}"; no stray commas


def test_properties_equal_json_build_object_for_every_type(engine: sa.Engine) -> None:
    _compare(engine, 12)


def test_a_layer_wider_than_one_function_call_keeps_every_field(engine: sa.Engine) -> None:
    _compare(engine, 130)  # 262 arguments: concat nested twice
