"""Land-use statistics: area (m², ha) and parcel counts by land-use class, city-wide, within a
polygon, or grouped by the zones of a polygon layer (zoning districts, neighbourhoods)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.classes import LEVELS, ClassField, Level, class_field
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import frame, stage
from digitalcity.analysis.zones import stage_zones
from digitalcity.city import City

UNITS = {
    "area_m2": "m²",
    "area_ha": "ha",
    "share": "fraction of the zone's parcel area (0-1)",
    "parcels": "parcels (counted where their point on surface lies)",
}


def landuse_statistics(
    city: City,
    *,
    level: Level = "level1",
    polygon: params.PolygonLike | None = None,
    polygon_crs: str | int = "EPSG:4326",
    group_by: str | None = None,
) -> AnalysisResult:
    """Area and parcel count per land-use class.

    ``level``: 'level1' / 'level2' (2023 guide classes) or 'native' (the city's own use codes).
    ``polygon`` (in ``polygon_crs``, lon/lat by default) restricts the statistics to its inside;
    ``group_by`` names a polygon layer (e.g. 'zoning_districts', 'neighbourhoods') whose zones,
    by label, get a row per class. Parcel areas are split exactly at polygon and zone edges and
    measured in the city's local metric CRS (m²), so the classes sum to each zone's total
    (parcels without a class are a row of their own, code None). Returns a DataFrame.
    """
    level = params.choice(level, "level", LEVELS)
    parcels = city.layer(require(city.id, "parcels", bindings_for(city).parcels))
    cls = class_field(city, parcels, level)
    with city.engine.begin() as conn:
        area = params.polygon(conn, city, polygon, polygon_crs) if polygon is not None else None
        zone_layers = stage_zones(conn, city, group_by, area)
        stage(conn, city, "_parcels", parcels, {"code": cls.field})
        sql = "landuse_city" if area is None and group_by is None else "landuse_by_zone"
        rows = frame(conn, sql)
        prov = provenance(
            conn,
            city,
            "landuse_statistics",
            {
                "level": level,
                "polygon": params.describe(area, city),
                "polygon_crs": str(polygon_crs),
                "group_by": group_by,
            },
            [parcels, *zone_layers],
            method=(
                "parcel polygons (and zones) projected to the local CRS; areas of exact "
                "intersections (ST_Intersection); class field "
                f"{parcels.id}.{cls.field} ({cls.system})"
            ),
        )
    out = _tidy(rows, cls)
    if group_by is None:
        out = out.drop(columns=["zone"])
    summary: dict[str, Any] = {
        "area_m2": float(out["area_m2"].sum()),
        "area_ha": float(out["area_m2"].sum() / 10_000),
        "parcels": int(out["parcels"].sum()),
        "classes": int(out["code"].nunique(dropna=False)),
    }
    return AnalysisResult(out, None, UNITS, prov, summary)


def _tidy(rows: pd.DataFrame, cls: ClassField) -> pd.DataFrame:
    out = rows.astype({"area_m2": float, "parcels": int})
    out["code"] = out["code"].astype(object).where(out["code"].notna(), None)
    names = [cls.names(c) for c in out["code"]]
    out["name_en"] = [n[0] for n in names]
    out["name_zh"] = [n[1] for n in names]
    out["colour"] = [cls.colour(c) for c in out["code"]]
    out["area_ha"] = out["area_m2"] / 10_000
    totals = out.groupby("zone", dropna=False)["area_m2"].transform("sum")
    out["share"] = out["area_m2"] / totals.where(totals > 0)
    out = out.sort_values(["zone", "area_m2"], ascending=[True, False], na_position="last")
    columns = [
        "zone",
        "code",
        "name_en",
        "name_zh",
        "colour",
        "area_m2",
        "area_ha",
        "share",
        "parcels",
    ]
    return out[columns].reset_index(drop=True)
