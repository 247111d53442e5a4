"""Zoning compliance: built FAR (gross floor area / land area) and stories of each parcel
against its district's maximum FAR and height, and summaries per district."""

from __future__ import annotations

from typing import Any, NamedTuple

import geopandas as gpd
import pandas as pd

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.districts import METHOD, planning_layers, stage_parcel_districts
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import geo_frame
from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.units import factor
from digitalcity.city import City

STATUS = ("over", "within", "unknown")


class _Scales(NamedTuple):
    """Declared units of the bound fields and the factors that reconcile them."""

    land_unit: str
    floor_unit: str
    floor_to_land: float  # floor area unit -> land area unit, so FAR is a pure ratio
    height_to_ft: float  # height limit unit -> ft (the unit of the implied height)


def _scales(parcels: LayerDef, zoning: LayerDef, land: str, floor: str, height: str) -> _Scales:
    """Units from the field definitions; refuses missing, unknown or mismatched units."""
    land_unit = parcels.field(land).unit
    floor_unit = parcels.field(floor).unit
    to_land = factor(floor_unit, land_unit or "", f"{parcels.qualified_id}.{floor}")
    factor(land_unit, "m²", f"{parcels.qualified_id}.{land}")
    to_ft = factor(zoning.field(height).unit, "ft", f"{zoning.qualified_id}.{height}")
    return _Scales(land_unit or "", floor_unit or "", to_land, to_ft)


def _units(feet_per_story: float, scales: _Scales) -> dict[str, str]:
    return {
        "share": "share of the parcel's area in its district (0-1)",
        "land_area": f"{scales.land_unit} (as declared by the parcels layer)",
        "floor_area": f"{scales.floor_unit} (gross floor area, as declared)",
        "far": "ratio (gross floor area / land area)",
        "max_far": "ratio",
        "stories": "stories",
        "implied_height_ft": f"ft, assumed {feet_per_story:g} ft per story (stories × {feet_per_story:g})",
        "max_height_ft": "ft (converted from the height limit's declared unit)",
    }


def zoning_compliance(city: City, *, feet_per_story: float = 10.0) -> AnalysisResult:
    """Per parcel: built FAR against the district's maximum FAR and the height implied by the
    stories (``feet_per_story``, default 10 ft) against its height limit; each check and the
    overall ``status`` is 'over', 'within' or 'unknown' (a missing control or parcel figure is
    unknown, never compliant). GeoDataFrame in the storage CRS."""
    gdf, prov, scales = _compliance(city, feet_per_story)
    counts = gdf["status"].value_counts()
    summary = {s: int(counts.get(s, 0)) for s in STATUS}
    units = _units(feet_per_story, scales)
    return AnalysisResult(gdf, city.definition.storage_crs, units, prov, summary)


def zoning_compliance_summary(city: City, *, feet_per_story: float = 10.0) -> AnalysisResult:
    """Per district (zone code): its controls, parcel counts by status, and FAR figures."""
    gdf, prov, _ = _compliance(city, feet_per_story)
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    table["zone"] = table["zone"].fillna("none")
    grouped = table.groupby("zone")
    counts = [
        pd.crosstab(table["zone"], table[column])
        .reindex(columns=list(STATUS), fill_value=0)
        .add_prefix(prefix)
        for column, prefix in (("far_status", "far_"), ("height_status", "height_"), ("status", ""))
    ]
    out = pd.concat(
        [
            grouped[["max_far", "max_height_ft"]].first(),
            grouped.size().rename("parcels"),
            *counts,
            grouped["far"].median().rename("median_far"),
            grouped["far"].max().rename("max_built_far"),
        ],
        axis=1,
    ).reset_index()
    units = {
        "max_far": "ratio",
        "max_height_ft": "ft",
        "median_far": "ratio",
        "max_built_far": "ratio",
        "*": "parcels",
    }
    prov = {**prov, "analysis": "zoning_compliance_summary"}
    summary = {s: int(out[s].sum()) for s in STATUS}
    return AnalysisResult(out, None, units, prov, summary)


def _compliance(
    city: City, feet_per_story: float
) -> tuple[gpd.GeoDataFrame, dict[str, Any], _Scales]:
    feet_per_story = params.number(feet_per_story, "feet_per_story", 6.0, 20.0)
    bound = bindings_for(city)
    parcels, zoning, _ = planning_layers(city)
    parcel_columns = {
        "label": parcels.label_field,
        "land_area": require(city.id, "parcel land area", bound.parcel_land_area),
        "floor_area": require(city.id, "parcel floor area", bound.parcel_floor_area),
        "stories": require(city.id, "parcel stories", bound.parcel_stories),
    }
    zone_columns = {
        "max_far": require(city.id, "zoning maximum FAR", bound.zone_max_far),
        "max_height": require(city.id, "zoning height limit", bound.zone_max_height),
    }
    scales = _scales(
        parcels,
        zoning,
        parcel_columns["land_area"] or "",
        parcel_columns["floor_area"] or "",
        zone_columns["max_height"],
    )
    sql_params = {
        "feet_per_story": feet_per_story,
        "floor_to_land": scales.floor_to_land,
        "height_to_ft": scales.height_to_ft,
    }
    with city.engine.begin() as conn:
        stage_parcel_districts(conn, city, parcel_columns, zone_columns)
        gdf = geo_frame(conn, city, "zoning_compliance", sql_params)
        prov = provenance(
            conn,
            city,
            "zoning_compliance",
            {"feet_per_story": feet_per_story},
            [parcels, zoning],
            method=(
                f"{METHOD}; FAR = {parcels.id}.{bound.parcel_floor_area} / "
                f"{bound.parcel_land_area} against {zoning.id}.{bound.zone_max_far}; implied "
                f"height = {bound.parcel_stories} × {feet_per_story:g} ft against "
                f"{zoning.id}.{bound.zone_max_height}"
            ),
            assumptions=[
                f"building height is estimated as {feet_per_story:g} ft per story",
                "a missing control, land area, floor area or story count (0 stories counts as "
                "missing) makes that check 'unknown', never compliant",
                "parcel land area is the assessor's figure, not the polygon's area",
                f"units from the field definitions: floor area {scales.floor_unit}, land area "
                f"{scales.land_unit}, height limit converted to ft (x{scales.height_to_ft:g})",
            ],
        )
    return gdf, prov, scales
