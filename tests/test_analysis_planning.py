"""Plan vs current use and zoning compliance against an independent overlay of the source
parcels and zoning districts, the rule table read with ``csv`` and the controls CSV."""

from __future__ import annotations

import csv
from functools import lru_cache

import pandas as pd
import pytest
import test_analysis_sources as src

from digitalcity.analysis import (
    landuse_statistics,
    nonconforming_parcels,
    plan_conformance,
    zoning_compliance,
    zoning_compliance_summary,
    zoning_landuse_crosstab,
)
from digitalcity.config import PROJECT_ROOT

RULES = PROJECT_ROOT / "layers" / "cambridge" / "use_rules_zoning_vs_landuse.csv"


@pytest.fixture(scope="module")
def cambridge(loaded, catalog, engine):
    return src.city(catalog, engine)


@pytest.fixture(scope="module")
def conformance(cambridge):
    return plan_conformance(cambridge)


@pytest.fixture(scope="module")
def compliance(cambridge):
    return zoning_compliance(cambridge)


@pytest.fixture(scope="module")
def independent(engine, loaded):
    """Per parcel: the zone code covering most of it (overlay in the local CRS), its share,
    and the parcel figures and classes the loader stored (joined by feature id)."""
    parcels = src.parcels()
    zoning = src.read("CDD_ZoningDistricts.geojson")
    pairs = src.overlay_areas(parcels, zoning)
    pairs["zone"] = zoning.loc[pairs["right"], "ZONE_TYPE"].to_numpy()
    by_zone = pairs.groupby(["left", "zone"])["area_m2"].sum().reset_index()
    by_zone = by_zone.sort_values(["left", "area_m2", "zone"], ascending=[True, False, True])
    best = by_zone.drop_duplicates("left").set_index("left")
    best["share"] = best["area_m2"] / parcels.geometry.area.loc[best.index]
    figures = pd.read_sql(
        "SELECT fid, landuse_l1, landuse_l2, land_area_sqft, gross_area_sqft, stories "
        "FROM cambridge.parcels ORDER BY fid",
        engine,
    ).set_index("fid")
    return figures.join(best[["zone", "share"]])


@lru_cache
def _rules() -> dict[str, dict[str, str]]:
    with RULES.open(encoding="utf-8") as fh:
        return {r["zone_prefix"]: r for r in csv.DictReader(fh)}


def _family(zone) -> tuple[str | None, set[str]]:
    rules = _rules()
    if not isinstance(zone, str):
        return None, set()
    prefix = max((p for p in rules if zone.startswith(p)), key=len, default=None)
    return (
        (rules[prefix]["family"], set(rules[prefix]["permitted"].split()))
        if prefix
        else (None, set())
    )


def test_rule_families_agree_with_the_zoning_code_table():
    codes = list(
        csv.DictReader((PROJECT_ROOT / "layers/cambridge/cambridge_zoning_codes.csv").open())
    )
    parents = {c["code"]: c["parent"] for c in codes if c["level"] == "2"}
    zones = set(src.read("CDD_ZoningDistricts.geojson")["ZONE_TYPE"])
    for zone in zones:
        assert _family(zone)[0] == parents[zone], zone


def test_dominant_district_and_conformance_match_overlay(cambridge, conformance, independent):
    result = conformance
    ours = result.frame.set_index("fid").sort_index()
    assert len(ours) == 13116
    both = ours.join(independent.rename(columns={"zone": "zone_ind", "share": "share_ind"}))
    same_zone = (both["zone"] == both["zone_ind"]) | (both["zone"].isna() & both["zone_ind"].isna())
    assert same_zone.mean() > 0.999, both.loc[~same_zone, ["zone", "zone_ind", "share"]]
    agree = both[same_zone & both["zone"].notna()]
    assert agree["share"].to_numpy() == pytest.approx(agree["share_ind"].to_numpy(), abs=1e-3)
    expected = []
    for zone, l1, l2 in zip(both["zone_ind"], both["landuse_l1"], both["landuse_l2"], strict=True):
        family, permitted = _family(zone)
        if family is None or pd.isna(l1):
            expected.append("unknown")
        else:
            expected.append("conforming" if {l1, l2} & permitted else "nonconforming")
    expected = pd.Series(expected, index=both.index)
    assert (expected == both["status"]).mean() > 0.999
    counts = both["status"].value_counts()
    assert counts["unknown"] == (both["landuse_l1"].isna() | both["zone"].isna()).sum()
    assert abs(counts["nonconforming"] - (expected == "nonconforming").sum()) <= 3
    assert result.summary["nonconforming"]["parcels"] == counts["nonconforming"]
    # residence districts do not permit offices: those parcels are flagged
    flagged = ours[(ours["family"] == "RES-C") & (ours["level2"] == "0902")]
    assert len(flagged) > 0 and (flagged["status"] == "nonconforming").all()
    only = nonconforming_parcels(cambridge).frame
    assert len(only) == counts["nonconforming"] and set(only["status"]) == {"nonconforming"}
    assert "RES-C" in result.provenance["rules"]["C"]["family"]


def test_crosstab_reconciles_with_landuse_totals(cambridge, conformance):
    table = zoning_landuse_crosstab(cambridge).frame.set_index("family")
    by_family = conformance.frame.groupby("family")["area_m2"].sum() / 1e4
    assert table.loc[by_family.index, "total"].to_numpy() == pytest.approx(by_family.to_numpy())
    totals = landuse_statistics(cambridge)
    assert table["total"].sum() * 1e4 == pytest.approx(totals.summary["area_m2"], rel=1e-9)
    by_class = totals.frame.set_index(totals.frame["code"].fillna("unclassified"))["area_ha"]
    for code, area in by_class.items():
        assert table[code].sum() == pytest.approx(area, rel=1e-9), code
    assert {"RES-C", "OPEN-SPACE", "INDUSTRY"} <= set(table.index)
    counts = zoning_landuse_crosstab(cambridge, by="zone", value="parcels").frame
    assert counts["total"].sum() == 13116


def test_compliance_statuses_follow_the_controls(compliance, independent):
    result = compliance
    ours = result.frame.set_index("fid").sort_index()
    controls = pd.read_csv(src.CAMBRIDGE / "zoning_controls.csv").set_index("zone_type")
    ind = independent.join(controls[["max_far", "max_height_ft"]], on="zone")
    far = ind["gross_area_sqft"] / ind["land_area_sqft"].where(ind["land_area_sqft"] > 0)
    far_status = pd.Series("unknown", index=ind.index)
    known = far.notna() & ind["max_far"].notna()
    far_status[known & (far > ind["max_far"])] = "over"
    far_status[known & (far <= ind["max_far"])] = "within"
    height = ind["stories"].where(ind["stories"] > 0) * 10
    h_status = pd.Series("unknown", index=ind.index)
    h_known = height.notna() & ind["max_height_ft"].notna()
    h_status[h_known & (height > ind["max_height_ft"])] = "over"
    h_status[h_known & (height <= ind["max_height_ft"])] = "within"
    same_zone = ours["zone"] == ind["zone"]
    assert same_zone.mean() > 0.999
    assert (ours.loc[same_zone, "far_status"] == far_status[same_zone]).all()
    assert (ours.loc[same_zone, "height_status"] == h_status[same_zone]).all()
    assert ours.loc[ours["far"].notna(), "far"].to_numpy() == pytest.approx(
        far[ours["far"].notna()].to_numpy()
    )
    # a missing control or figure is never compliant
    assert not (
        (ours["max_far"].isna() | ours["far"].isna()) & (ours["far_status"] != "unknown")
    ).any()
    assert (
        (ours.loc[ours["status"] == "within", ["far_status", "height_status"]] == "within")
        .all()
        .all()
    )
    special = ours[ours["zone"].str.startswith("SD-", na=False)]
    assert len(special) > 0 and (special["status"] == "unknown").all()
    assert "10 ft per story" in result.units["implied_height_ft"].replace("assumed ", "")
    assert any("10 ft per story" in a for a in result.provenance["assumptions"])
    assert sum(result.summary.values()) == 13116


def test_compliance_summary_per_district(cambridge, compliance):
    per_parcel = compliance.frame
    summary = zoning_compliance_summary(cambridge).frame.set_index("zone")
    assert summary["parcels"].sum() == 13116
    c1a = per_parcel[per_parcel["zone"] == "C-1A"]
    assert summary.loc["C-1A", "max_far"] == 1.25 and summary.loc["C-1A", "max_height_ft"] == 45
    assert summary.loc["C-1A", "over"] == (c1a["status"] == "over").sum()
    assert summary.loc["C-1A", "far_over"] == (c1a["far_status"] == "over").sum()
    assert (summary[["over", "within", "unknown"]].sum(axis=1) == summary["parcels"]).all()


def test_use_rules_are_read_as_the_other_code_files(tmp_path):
    """The rule table is read by the code tables' reader: a file saved as GBK ended the
    analysis in a UnicodeDecodeError; a bad header or row names the file and row."""
    from digitalcity.analysis.rules import load_use_rules
    from digitalcity.catalog.codes import code_tables
    from digitalcity.errors import CatalogError

    tables = code_tables(PROJECT_ROOT / "layers")
    standard, zoning = tables["tdyh_2023"], tables["cambridge_zoning"]
    text = RULES.read_text(encoding="utf-8-sig")
    rules = load_use_rules(RULES, standard, zoning)
    assert len(rules.rules) == len(list(csv.DictReader(text.splitlines())))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((text + "X,B,07,居住\n").encode("gbk"))
    with pytest.raises(CatalogError, match=r"gbk\.csv: not a valid UTF-8 CSV"):
        load_use_rules(gbk, standard, zoning)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(text + "ZZ,B,99,none\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"unknown\.csv: row \d+: not tdyh_2023 codes: \['99'\]"):
        load_use_rules(unknown, standard, zoning)
