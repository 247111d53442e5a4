"""Fuzzing both CQL2 parsers (and the SQL compiler behind them) with hypothesis: whatever the
input, the only exception is FilterError (a 400). Example counts are bounded to run in seconds."""

from __future__ import annotations

import json
import os
from typing import Any

import sqlalchemy as sa
from cql2_layer import context, features_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitalcity.query import FilterError, compile_filter, parse_json, parse_text
from digitalcity.query.cql2_tokens import tokenize

CTX = context(features_table())
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
