"""Fuzzing both CQL2 parsers (and the SQL compiler behind them) with hypothesis: whatever the
input, the only exception is FilterError (a 400). Example counts are bounded to run in seconds."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import sqlalchemy as sa
from cql2_layer import context, create_features, features_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitalcity.query import FilterError, compile_filter, parse_json, parse_text
from digitalcity.query.cql2_tokens import tokenize

CTX = context(features_table())
CTX_DB = CTX  # the same table definition as the one created in PostGIS below
DIALECT = sa.dialects.postgresql.dialect()
FUZZ = settings(  # CQL2_FUZZ_EXAMPLES=20000 for a longer hunt
    max_examples=int(os.environ.get("CQL2_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
WORDS = [
    "AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "DIV",
    "POINT", "POLYGON", "LINESTRING", "MULTIPOINT", "GEOMETRYCOLLECTION", "Z", "EMPTY",
    "BBOX", "DATE", "TIMESTAMP", "INTERVAL", "CASEI", "ACCENTI", "LOWER", "S_INTERSECTS",
    "S_WITHIN", "T_MEETS", "T_OVERLAPS", "T_AFTER", "A_CONTAINS", "Foo", "floors", "owner",
    "name", "value", "starts_at", "ends_at", "updated_at", "geometry", "höhe", "名称", "eo:cloud_cover",
    "(", ")", ",", "=", "<>", "<", ">=", "+", "-", "*", "/", "%", "^", "[", "]", "'..'",
    "'2020-01-01'", "'2020-01-01T00:00:00Z'", "'x''y'", "'", '"', '"owner"', "1", "-2.5",
    "1e400", "99999999999999999999999", "nan", "inf", ".5", "0", "\x00", "\ud800",
]  # fmt: skip
JSON_KEYS = [
    "op",
    "args",
    "property",
    "bbox",
    "interval",
    "date",
    "timestamp",
    "type",
    "coordinates",
]
JSON_OPS = [
    "and", "or", "not", "=", "<", "like", "between", "in", "isNull", "s_intersects",
    "t_meets", "t_during", "^", "+", "div", "casei", "accenti", "a_contains", "Foo",
]  # fmt: skip


def _check(parse: Any, source: Any) -> None:
    try:
        expr = parse(source)
        str(compile_filter(expr, CTX).compile(dialect=DIALECT))
    except FilterError:
        pass


@FUZZ
@given(st.text(max_size=200))
def test_text_parser_random_text(text: str):
    _check(parse_text, text)


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=40), st.sampled_from([" ", "", "  \n"]))
def test_text_parser_token_soup(words: list[str], separator: str):
    _check(parse_text, separator.join(words))


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["..", "2020-01-01", "2020-01-01T00:00:00Z", "floors", "Point", "x"]),
    st.text(max_size=10),
)
_json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.sampled_from(JSON_KEYS), children, max_size=3),
        st.builds(
            lambda op, args: {"op": op, "args": args},
            st.sampled_from(JSON_OPS),
            st.lists(children, max_size=4),
        ),
        st.builds(lambda name: {"property": name}, st.sampled_from(WORDS)),
    ),
    max_leaves=30,
)


@FUZZ
@given(_json_values)
def test_json_parser_random_documents(document: Any):
    _check(parse_json, json.dumps(document))
    _check(parse_json, document)


@FUZZ
@given(st.text(alphabet='{}[]":,0123456789.eE-+ ntruefalsNaIiy\\u', max_size=120))
def test_json_parser_garbled_text(text: str):
    _check(parse_json, text)


@FUZZ
@given(st.text(max_size=300))
def test_tokenizer_raises_only_filter_errors(text: str):
    try:
        tokens = tokenize(text)
    except FilterError:
        return
    assert all(text[pos : pos + len(value)] == value for _, value, pos in tokens)


@pytest.fixture(scope="module")
def features(engine):  # noqa: ANN001, ANN201
    create_features(engine)
    return CTX.table


# -- well-formed random filters, run in PostGIS -----------------------------------------------
_num = st.recursive(
    st.sampled_from(["floors", "taxes", "value", "foo", "0", "1", "-2.5", "1e300", "0.0", "7"]),
    lambda c: st.tuples(c, st.sampled_from(["+", "-", "*", "/", "%", "div", "^"]), c).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
    max_leaves=5,
)
_text = st.sampled_from(
    ["owner", "name", "'abc'", "'%a_'", "'x\\'", "CASEI(owner)", "ACCENTI('é')", "UPPER(name)"]
)
_time = st.sampled_from(
    [
        "built",
        "updated_at",
        "DATE('2020-01-01')",
        "TIMESTAMP('2020-01-01T00:00:00Z')",
        "INTERVAL(starts_at, ends_at)",
        "INTERVAL('..', '2020-01-01')",
        "INTERVAL(built, '..')",
    ]
)
_geom = st.sampled_from(
    [
        "geometry",
        "POINT(1 2)",
        "BBOX(-1,-1,1,1)",
        "POLYGON((0 0,1 0,1 1,0 0))",
        "LINESTRING(0 0,1 1)",
    ]
)
_spatial = st.sampled_from(["S_INTERSECTS", "S_WITHIN", "S_CROSSES", "S_EQUALS", "S_TOUCHES"])
_temporal = st.sampled_from(["T_MEETS", "T_OVERLAPS", "T_DURING", "T_AFTER", "T_FINISHEDBY"])
_atom = st.one_of(
    st.builds("{} {} {}".format, _num, st.sampled_from(["=", "<>", "<", ">=", "<="]), _num),
    st.builds("{} LIKE {}".format, _text, _text),
    st.builds("{} BETWEEN {} AND {}".format, _num, _num, _num),
    st.builds("{} IN ({}, {})".format, _num, _num, _num),
    st.builds("{} NOT IN ('a', {})".format, _text, _text),
    st.builds("{} IS NULL".format, st.one_of(_num, _text, _time)),
    st.builds("{}({}, {})".format, _spatial, _geom, _geom),
    st.builds("{}({}, {})".format, _temporal, _time, _time),
    st.just("swimming_pool = TRUE"),
)
_filters = st.recursive(
    _atom,
    lambda c: st.one_of(
        c.map("NOT ({})".format),
        st.builds("({} AND {})".format, c, c),
        st.builds("({} OR {})".format, c, c),
    ),
    max_leaves=6,
)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 200))
@given(_filters)
def test_well_formed_filters_run_in_postgis(engine, features, text: str):  # noqa: ANN001
    """Compiled filters run, or fail as the API's 400s do (FilterError before SQL, DataError or
    ProgrammingError from PostgreSQL, e.g. an overflow): never another database error."""
    try:
        where = compile_filter(parse_text(text), CTX_DB)
    except FilterError:
        return
    try:
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(features).where(where)).scalar_one()
    except (sa.exc.DataError, sa.exc.ProgrammingError):
        pass
