"""The CQL2 standard's example filters (/work/shared/conformance/cql2): every example of a class
we claim parses in both encodings to the same tree, compiles and runs in PostGIS; examples of
classes we do not claim are refused with a FilterError (a 400)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SHARED_DATA
from cql2_layer import OVERRIDES, context, count, create_features

from digitalcity.query import FilterError, compile_filter, parse_json, parse_text

EXAMPLES = SHARED_DATA.parent / "conformance" / "cql2"
TEXT = sorted((EXAMPLES / "text").glob("*.txt"))
# Examples of conformance classes we do not claim, with the class.
UNCLAIMED = {
    "clause6_01": "functions",  # avg(windSpeed)
    "clause6_02b": "functions",
    "clause7_15": "array-functions",
    "clause7_18": "functions",  # Buffer(...)
    "example68": "functions",  # Foo(...)
    "example69": "functions",  # Bar(...)
    "example79": "array-functions",
    "example80": "array-functions",
    "example81": "array-functions",
    "example82": "array-functions",
}
CLAIMED = [p for p in TEXT if p.stem not in UNCLAIMED]


def _json_path(text_path: Path) -> Path:
    return EXAMPLES / "json" / f"{text_path.stem.removesuffix('-alt01')}.json"


@pytest.fixture(scope="module")
def features(engine):  # noqa: ANN001, ANN201
    return create_features(engine)


def test_examples_are_there():
    assert len(TEXT) == 120 and len(CLAIMED) == 110
    assert all(_json_path(p).exists() for p in TEXT)


@pytest.mark.parametrize("path", CLAIMED, ids=lambda p: p.stem)
def test_claimed_example_text_equals_json_and_runs(path: Path, engine, features):  # noqa: ANN001
    from_text = parse_text(path.read_text())
    from_json = parse_json(_json_path(path).read_text())
    assert from_text == from_json
    where = compile_filter(from_text, context(features, OVERRIDES.get(path.stem)))
    assert count(engine, features, where) in (0, 1)


@pytest.mark.parametrize("path", [p for p in TEXT if p.stem in UNCLAIMED], ids=lambda p: p.stem)
def test_unclaimed_example_is_refused(path: Path):
    kind = "array operator" if UNCLAIMED[path.stem] == "array-functions" else "unknown"
    for parse, source in ((parse_text, path), (parse_json, _json_path(path))):
        with pytest.raises(FilterError, match=kind):
            parse(source.read_text())


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("clause7_01", 1),  # name LIKE 'Smith%'  (Smithson)
        ("clause7_05", 1),  # ACCENTI(etat_vol) = ACCENTI('débárquér')  (debarquer)
        ("example70", 1),  # ACCENTI("owner") = ACCENTI('Beyoncé')  (Beyonce)
        ("clause7_07", 1),  # S_INTERSECTS(geometry, POINT(36.319836 32.288087))
        ("example14", 1),  # swimming_pool = true
        ("example76", 1),  # "value" <= (2 ^ "foo"):  3 <= 2^3
        ("example85", 0),  # value = -foo*2 + bar/6.1234 - x^2: bar is NULL
        ("example41", 0),  # "value" IS NULL
        ("example53", 1),  # T_AFTER("updated_at", DATE('2010-02-10'))
        ("example20", 1),  # T_BEFORE(built, DATE('2015-01-01'))
    ],
)
def test_examples_known_answers(stem: str, expected: int, engine, features):  # noqa: ANN001
    expr = parse_text((EXAMPLES / "text" / f"{stem}.txt").read_text())
    assert count(engine, features, compile_filter(expr, context(features))) == expected


def test_accent_insensitivity_is_not_ignored(engine, features):  # noqa: ANN001
    """Without ACCENTI the accented literal does not match: the function does something."""
    plain = parse_text("etat_vol = 'débárquér'")
    assert count(engine, features, compile_filter(plain, context(features))) == 0
    mixed = parse_text("CASEI(ACCENTI(etat_vol)) = CASEI(ACCENTI('DÉBÁRQUÉR'))")
    assert count(engine, features, compile_filter(mixed, context(features))) == 1


def test_unicode_property_names_unquoted(engine, features):  # noqa: ANN001
    assert parse_text("höhe > 12") == parse_text('"höhe" > 12')
    assert count(engine, features, compile_filter(parse_text("höhe > 12"), context(features))) == 1
    chinese = parse_text("名称 = '思明区' AND höhe < 13")
    assert count(engine, features, compile_filter(chinese, context(features))) == 1


def test_sql_has_bound_parameters_only(features):  # noqa: ANN001
    expr = parse_text("owner = 'x'' OR 1=1 --' AND name LIKE '%;DROP TABLE t'")
    sql = str(
        compile_filter(expr, context(features)).compile(dialect=sa.dialects.postgresql.dialect())
    )
    assert "DROP" not in sql and "1=1" not in sql
