"""The zoning districts a polygon (a site's red line, a study area) falls in: the polygon's area
and share in each district and the district's limits, as the planner map's area statistics
give them (``planning.site.zones_within``). Areas are m² in the city's local metric CRS."""

from __future__ import annotations

import pandas as pd

from digitalcity.analysis import params
from digitalcity.analysis.bindings import require
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.catalog.semantics import CONTROL_KEYS
from digitalcity.city import City
from digitalcity.planning.site import zones_within

LANGS = ("en", "zh")


def zoning_in_polygon(
    city: City,
    polygon: params.PolygonLike,
    *,
    polygon_crs: str | int = "EPSG:4326",
    lang: str = "en",
) -> AnalysisResult:
    """Zoning districts inside ``polygon`` (in ``polygon_crs``, lon/lat by default): one row
    per district code with the polygon's area in it (m²), its share of the polygon, how many
    of the district's features it meets, and each limit the plan sets (a value in its unit;
    ``no_limit`` names the limits the plan leaves open); names in ``lang``."""
    lang = params.choice(lang, "lang", LANGS)
    layer = city.layer(require(city.id, "zoning", city.definition.roles.zoning))
    with city.engine.begin() as conn:
        area = params.polygon(conn, city, polygon, polygon_crs)
        prov = provenance(
            conn,
            city,
            "zoning_in_polygon",
            {
                "polygon_crs": str(polygon_crs),
                "polygon": params.describe(area, city),
                "lang": lang,
            },
            [layer],
            method=(
                f"area of the polygon inside each {layer.id} feature, summed by district code, "
                f"areas in {city.local_crs}"
            ),
        )
        found = zones_within(city, area, lang, conn) or {"zones": []}
    rows = []
    units = {"area_m2": "m²", "share": "ratio"}
    for zone in found["zones"]:
        row = {
            "zone_code": zone["zone_code"],
            "zone_name": zone["zone_name"],
            "area_m2": zone["area_m2"],
            "share": zone["share"],
            "features": zone["features"],
        }
        for control in zone["controls"]:
            row[control["control"]] = control["value"]
            if control["unit"]:
                units[control["control"]] = control["unit"]
        row["no_limit"] = ";".join(
            c["control"] for c in zone["controls"] if c["status"] == "no_limit"
        )
        rows.append(row)
    columns = ["zone_code", "zone_name", "area_m2", "share", "features"]
    controls = [c for c in CONTROL_KEYS if any(c in r for r in rows)]
    frame = pd.DataFrame(rows, columns=[*columns, *controls, "no_limit"])
    zoned = float(frame["area_m2"].sum()) if len(frame) else 0.0
    summary = {
        "area_m2": round(float(area.area), 2),
        "zoned_m2": round(zoned, 2),
        "districts": len(frame),
    }
    return AnalysisResult(frame, None, units, prov, summary)
