"""Plan versus current use: zoning district against actual land use, by the rule table in
``layers/`` (see ``rules.py``); the crosstab and the parcels whose use does not fit."""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.classes import _tables, class_field
from digitalcity.analysis.districts import METHOD, planning_layers, stage_parcel_districts
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.rules import UseRules, load_use_rules
from digitalcity.analysis.sqlrun import geo_frame
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.errors import CatalogError

STATUS = ("conforming", "nonconforming", "unknown")
UNITS = {
    "area_m2": "m²",
    "share": "share of the parcel's area in its district (0-1)",
}


def _rules(city: City, parcels: LayerDef, zoning: LayerDef) -> UseRules:
    root = city.catalog.root
    rel = require(city.id, "zoning rules", bindings_for(city).zoning_rules)
    if root is None:
        raise CatalogError("the catalog has no layers directory to read the rule table from")
    tables = _tables(root)
    standard = class_field(city, parcels, "level1").table
    if standard is None:
        raise CatalogError(f"no code table for the standard classes of {parcels.id!r}")
    family_table = tables.get(zoning.classification.system) if zoning.classification else None
    return load_use_rules(root / rel, standard, family_table)


def plan_conformance(city: City) -> AnalysisResult:
    """Every parcel with its district, district family, land-use class and status:
    'conforming', 'nonconforming' (class not permitted in the family) or 'unknown' (no class,
    no district, or a district the rule table does not cover). GeoDataFrame in the storage CRS."""
    gdf, rules, prov = _classified(city)
    counts = gdf.groupby("status")["area_m2"].agg(["size", "sum"])
    summary: dict[str, Any] = {
        s: {"parcels": int(counts["size"].get(s, 0)), "area_m2": float(counts["sum"].get(s, 0.0))}
        for s in STATUS
    }
    summary["rules"] = str(rules.path.name)
    return AnalysisResult(gdf, city.definition.storage_crs, UNITS, prov, summary)


def nonconforming_parcels(city: City) -> AnalysisResult:
    """The parcels of ``plan_conformance`` whose use is not permitted in their district."""
    result = plan_conformance(city)
    gdf = result.frame[result.frame["status"] == "nonconforming"].reset_index(drop=True)
    prov = {**result.provenance, "analysis": "nonconforming_parcels"}
    return AnalysisResult(gdf, result.crs, result.units, prov, result.summary)


def zoning_landuse_crosstab(
    city: City,
    *,
    by: Literal["family", "zone"] = "family",
    value: Literal["area_ha", "parcels"] = "area_ha",
) -> AnalysisResult:
    """Crosstab of zoning district family (or zone code) against level-1 land-use class.

    Rows: families/zones (plus 'none' for parcels outside every district); columns: level-1
    codes ('unclassified' for parcels without a class) and 'total'; cells: parcel area in
    hectares (local CRS) or parcel counts. Each parcel counts once, in its district.
    """
    by = params.choice(by, "by", ("family", "zone"))
    value = params.choice(value, "value", ("area_ha", "parcels"))
    gdf, _, prov = _classified(city)
    rows = gdf[by].fillna("none")
    cols = gdf["level1"].fillna("unclassified")
    if value == "area_ha":
        table = pd.crosstab(rows, cols, values=gdf["area_m2"] / 10_000, aggfunc="sum").fillna(0.0)
    else:
        table = pd.crosstab(rows, cols)
    table["total"] = table.sum(axis=1)
    table.index.name, table.columns.name = by, None
    prov = {**prov, "analysis": "zoning_landuse_crosstab", "parameters": {"by": by, "value": value}}
    units = {"*": "ha" if value == "area_ha" else "parcels"}
    return AnalysisResult(
        table.reset_index(), None, units, prov, {"total": float(table["total"].sum())}
    )


def _classified(city: City) -> tuple[gpd.GeoDataFrame, UseRules, dict]:
    parcels, zoning, _ = planning_layers(city)
    rules = _rules(city, parcels, zoning)
    l1 = class_field(city, parcels, "level1").field
    l2 = class_field(city, parcels, "level2").field
    with city.engine.begin() as conn:
        stage_parcel_districts(conn, city, {"label": parcels.label_field, "l1": l1, "l2": l2})
        gdf = geo_frame(conn, city, "parcel_use_district")
        prov = provenance(
            conn,
            city,
            "plan_conformance",
            {},
            [parcels, zoning],
            method=f"{METHOD}; the district's family and permitted classes come from the rule "
            f"table {rules.path.name} (longest zone-code prefix)",
            assumptions=[
                "a parcel without a class, without a district or in a district no rule covers "
                "is 'unknown', never conforming",
                "the rule table simplifies the zoning ordinance's use table; not a legal finding",
            ],
        )
    gdf = gdf.rename(columns={"l1": "level1", "l2": "level2"})
    for col in ("zone", "level1", "level2"):
        gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), None)
    matched = [rules.match(z) for z in gdf["zone"]]
    gdf["family"] = [r.family if r else None for r in matched]
    fits = [
        r.permits(a, b) if r else None
        for r, a, b in zip(matched, gdf["level1"], gdf["level2"], strict=True)
    ]
    gdf["status"] = [
        "unknown" if f is None else "conforming" if f else "nonconforming" for f in fits
    ]
    gdf["permitted"] = [" ".join(sorted(r.permitted)) if r else None for r in matched]
    order = [
        "fid",
        "label",
        "level1",
        "level2",
        "zone",
        "family",
        "share",
        "status",
        "permitted",
        "area_m2",
        "geometry",
    ]
    prov["rules"] = {
        r.prefix: {"family": r.family, "permitted": sorted(r.permitted), "note": r.note}
        for r in rules.rules.values()
    }
    return gdf[order], rules, prov
