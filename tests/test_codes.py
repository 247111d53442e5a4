"""Code tables and the Massachusetts → 2023 guide crosswalk, against the real files and data."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from digitalcity.catalog import load_catalog
from digitalcity.catalog.codes import (
    CodeTable,
    Crosswalk,
    code_rewriter,
    code_tables,
    load_code_table,
    load_crosswalk,
)
from digitalcity.catalog.model import Classification
from digitalcity.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ROOT / "layers"
CROSSWALK = LAYERS / "cambridge" / "crosswalk_ma_use_to_tdyh2023.csv"
SOURCE_DATA = Path(os.environ.get("DIGITALCITY_SOURCE_DATA_DIR", ROOT.parent / "shared" / "data"))
HEADER = "code,level,parent,name_zh,name_en,colour,variant\n"


@pytest.fixture(scope="module")
def tables() -> dict[str, CodeTable]:
    return code_tables(LAYERS)


@pytest.fixture(scope="module")
def parcels_classes() -> Classification:
    """The Cambridge parcels' classification, as its definition declares it."""
    classes = load_catalog(LAYERS).layer("cambridge", "parcels").classification
    assert classes is not None
    return classes


@pytest.fixture(scope="module")
def crosswalk(tables: dict[str, CodeTable], parcels_classes: Classification) -> Crosswalk:
    return load_crosswalk(CROSSWALK, tables["tdyh_2023"], parcels_classes.normaliser)


def test_tables_found(tables: dict[str, CodeTable]) -> None:
    assert {"gbt21010_2017", "tdyh_2023", "ma_use"} <= tables.keys()
    assert tables["ma_use"].system == "ma_use"


def test_gbt21010_counts(tables: dict[str, CodeTable]) -> None:
    gbt = tables["gbt21010_2017"]
    standard = [c for c in gbt if not c.variant]
    assert len([c for c in standard if c.level == 1]) == 12
    assert len([c for c in standard if c.level == 2]) == 73
    assert [c.code for c in standard if c.level == 1] == [f"{i:02d}" for i in range(1, 13)]
    variants = {c.code for c in gbt if c.variant == "sandiao"}
    assert variants == {"00", "05H1", "08H1", "08H2", "0810A", "1104A", "1107A"}
    assert gbt.get("0810A") is not None and gbt.get("0810A").level == 3  # type: ignore[union-attr]


def test_tdyh2023_counts(tables: dict[str, CodeTable]) -> None:
    tdyh = tables["tdyh_2023"]
    assert [c.code for c in tdyh.level(1)] == [f"{i:02d}" for i in range(1, 25)]
    assert len(tdyh.level(2)) == 111
    assert not any(c.variant for c in tdyh)
    assert not [c for c in tdyh.level(2) if c.parent in {"16", "24"}]


def test_known_names(tables: dict[str, CodeTable]) -> None:
    tdyh, gbt = tables["tdyh_2023"], tables["gbt21010_2017"]
    assert tdyh.get("0701").name("zh") == "城镇住宅用地"  # type: ignore[union-attr]
    assert tdyh.get("0701").name("en") == "Urban residential land"  # type: ignore[union-attr]
    assert tdyh.get("1310").name_zh == "消防用地"  # type: ignore[union-attr]
    assert tdyh.get("1310").name("zh-CN") == "消防用地"  # type: ignore[union-attr]
    assert tdyh.get("16").name_zh == "留白用地"  # type: ignore[union-attr]
    assert gbt.get("0701").name_zh == "城镇住宅用地"  # type: ignore[union-attr]
    assert gbt.get("1004").name_zh == "城镇村道路用地"  # type: ignore[union-attr]
    assert tables["ma_use"].get("942").name_en == "Pubic Works"  # type: ignore[union-attr]
    assert "x" not in tdyh and "0701" in tdyh and tdyh.get("x") is None


@pytest.mark.parametrize("system", ["gbt21010_2017", "tdyh_2023", "ma_use"])
def test_parents_and_colours(tables: dict[str, CodeTable], system: str) -> None:
    table = tables[system]
    for code in table:
        if code.level == 1:
            assert code.parent == ""
        else:
            parent = table.get(code.parent)
            assert parent is not None and parent.level == code.level - 1, code
        if system != "ma_use":
            assert re.fullmatch(r"#[0-9a-f]{6}", code.colour), code
            assert code.name_zh and code.name_en, code


def test_ma_use_table(tables: dict[str, CodeTable]) -> None:
    ma = tables["ma_use"]
    assert len(ma.codes) == 182
    assert {c.code for c in ma.level(1)} == {
        "13", "14", "21", "31", "34", "41", "100", "200", "300", "400", "500", "900",
    }  # fmt: skip
    assert ma.get("101").parent == "100"  # type: ignore[union-attr]
    assert ma.get("421").name_en == "Pub Util Tanks, LNG"  # type: ignore[union-attr]
    # level-1 classes carry the colours a native-first map draws with; subclasses inherit
    assert all(c.colour for c in ma.level(1)) and not any(c.colour for c in ma.level(2))
    assert ma.colour_for("101") == ma.get("100").colour  # type: ignore[union-attr]


def test_colour_for_falls_back_to_parent(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "A,1,,甲,A,#112233,\nA1,2,A,甲一,A one,,\nA1x,3,A1,甲一x,A1x,,\n")
    table = load_code_table(path, "t")
    assert table.colour_for("A1x") == "#112233"
    assert table.colour_for("nope") is None


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("0111", "111"), ("1021", "102"), ("9100", "910"), (" 101 ", "101"), ("031", "031")],
)
def test_the_parcels_definition_normalises_ma_use(
    parcels_classes: Classification, raw: str, normalised: str
) -> None:
    """Cambridge's 4-character use codes, written the state's way by the rules its parcels
    definition declares (the package knows no code system)."""
    assert parcels_classes.normaliser(raw) == normalised


def test_crosswalk_known_answers(crosswalk: Crosswalk) -> None:
    assert crosswalk.target == "tdyh_2023"
    assert crosswalk.lookup("101") == ("07", "0701")
    assert crosswalk.lookup("935") == ("13", "1310")
    assert crosswalk.lookup("1021") == crosswalk.lookup("102") == ("07", "0701")
    assert crosswalk.lookup("0340") == ("09", "0902")
    assert crosswalk.lookup("337") == ("12", "1208")
    assert crosswalk.lookup("9425") == ("08", "0804")  # Cambridge: private college
    assert crosswalk.lookup("501") == ("16", "16")
    assert crosswalk.lookup("") is None and crosswalk.lookup("X") is None


def test_crosswalk_rows_are_valid(tables: dict[str, CodeTable]) -> None:
    tdyh = tables["tdyh_2023"]
    with CROSSWALK.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    prefixes = {r["from_prefix"] for r in rows}
    assert {str(d) for d in range(1, 10)} <= prefixes
    assert {"100", "200", "300", "400", "500", "900"} <= prefixes
    for r in rows:
        assert r["to_level1"] in tdyh and r["to_level2"] in tdyh, r
        assert r["to_level2"].startswith(r["to_level1"]), r


def test_every_state_code_resolves(tables: dict[str, CodeTable], crosswalk: Crosswalk) -> None:
    assert all(crosswalk.lookup(c.code) is not None for c in tables["ma_use"])


def test_every_cambridge_use_code_resolves(
    tables: dict[str, CodeTable], crosswalk: Crosswalk
) -> None:
    tax = SOURCE_DATA / "cambridge_ma" / "TaxFY14.csv"
    with tax.open(newline="", encoding="utf-8-sig") as fh:
        codes = {row["UseCode"] for row in csv.DictReader(fh)}
    assert len(codes) > 150
    tdyh = tables["tdyh_2023"]
    for code in codes:
        hit = crosswalk.lookup(code)
        assert hit is not None, code
        assert tdyh.get(hit[0]).level == 1, code  # type: ignore[union-attr]
        assert hit[1] in tdyh, code


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("01,1,,耕地,Cultivated,#ffff00,\n01,1,,耕地,Cultivated,#ffff00,\n", "row 3.*duplicate"),
        ("01,1,,耕地,Cultivated,yellow,\n", "row 2.*bad colour"),
        ("01,1,,耕地,Cultivated,#fff,\n", "bad colour"),
        ("0101,2,09,水田,Paddy,#ffff00,\n", "row 2.*unknown parent"),
        ("01,4,,耕地,Cultivated,#ffff00,\n", "level"),
        ("01,1,,耕地\n", "wrong number of fields"),
    ],
)
def test_bad_code_tables(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", HEADER + body)
    with pytest.raises(CatalogError, match=f"bad.csv.*{message}"):
        load_code_table(path, "bad")


def test_bad_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "cols.csv", "code,name\n01,耕地\n")
    with pytest.raises(CatalogError, match="cols.csv: columns"):
        load_code_table(path, "cols")
    with pytest.raises(CatalogError, match="cannot read"):
        load_code_table(tmp_path / "missing.csv", "missing")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,07,0799,x\n", "'0799' is not a level 2 code"),
        ("1,99,9901,x\n", "'99' is not a level 1 code"),
        ("1,07,0901,x\n", "'0901' is not a level 2 code of '07'"),
        ("1,07,07,x\n", "'07' has level 2 codes"),
        ("1,07,0701,x\n1,07,0701,y\n", "3: empty or duplicate from_prefix"),
    ],
)
def test_bad_crosswalks(
    tmp_path: Path, tables: dict[str, CodeTable], row: str, message: str
) -> None:
    path = _write(tmp_path / "crosswalk_x_to_y.csv", "from_prefix,to_level1,to_level2,note\n" + row)
    with pytest.raises(CatalogError, match=f"crosswalk_x_to_y.csv: row .*{message}"):
        load_crosswalk(path, tables["tdyh_2023"])


def test_crosswalk_normaliser(
    tmp_path: Path, tables: dict[str, CodeTable], parcels_classes: Classification
) -> None:
    body = (
        "from_prefix,to_level1,to_level2,note,match\n"
        "102,07,0701,condo,prefix\n16,16,16,reserved,prefix\n"
    )  # prefix rows: exact matching is the default
    path = _write(tmp_path / "crosswalk_ma_use_to_t.csv", body)
    ma = load_crosswalk(path, tables["tdyh_2023"], parcels_classes.normaliser)
    other = load_crosswalk(path, tables["tdyh_2023"])  # no rules: the name tells nothing
    assert ma.lookup("0160") == ("16", "16")  # mixed-use 0 dropped by the parcels' rules
    assert other.lookup("0160") is None  # identity: only whitespace is stripped
    assert ma.lookup("1021") == other.lookup(" 1021 ") == ("07", "0701")
    explicit = load_crosswalk(
        _write(tmp_path / "plain.csv", body), tables["tdyh_2023"], normalise=str.upper
    )
    assert explicit.lookup(" 102") is None


def test_code_rewrite_rules() -> None:
    """The first rule that matches the whole code applies; groups by number or name."""
    rewrite = code_rewriter([(r"(\d{2})-(\d+)", r"\2\1"), (r"(?P<head>..)x", r"\g<head>")])
    assert rewrite(" 12-345 ") == "34512" and rewrite("abx") == "ab" and rewrite("abxy") == "abxy"
    assert code_rewriter([])(" a ") == "a"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"match": "0(...", "to": "\\1"}, "is not a regular expression"),
        ({"match": "0(...)", "to": "\\2"}, "names a group"),
        ({"match": "0(...)", "to": "\\g<tail>"}, "names a group"),
    ],
)
def test_bad_rewrite_rules_are_refused(rule: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Classification.model_validate({"field": "f", "system": "s", "normalise": [rule]})


@pytest.mark.parametrize(
    ("rules", "forms"),
    [
        ([("(.+)K", "\\1")], ("0101", "0101K")),  # 三调's adjustable K
        ([("DL-(.*)", "\\g<1>")], ("0101", "DL-0101")),  # a prefix
        ([("0(...)", "\\1"), ("(...).", "\\1")], ("0101",)),  # Cambridge's: not a fixed affix
        ([("(.+)K", "X\\1")], ("0101",)),  # the code rewritten, not kept
    ],
)
def test_a_maps_colours_reach_the_forms_a_rule_strips_an_affix_from(
    rules: list[tuple[str, str]], forms: tuple[str, ...]
) -> None:
    """The forms of a code a map's ``match`` lists: those a rule stripping a fixed suffix or
    prefix writes as the code; each is normalised back to it."""
    cls = Classification.model_validate(
        {"field": "dlbm", "system": "s", "normalise": [{"match": m, "to": t} for m, t in rules]}
    )
    assert cls.written_forms("0101") == forms
    assert all(cls.normaliser(form) == "0101" for form in forms[1:])
