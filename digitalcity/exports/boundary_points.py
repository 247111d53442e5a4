"""Polygons written as a survey's boundary points (界址点坐标), in the Ministry of Natural
Resources' coordinate exchange format (自然资源部坐标交换格式), as land staff hand in a site
for approval and as ``digitalcity.boundary_text`` reads back.

A ``[属性描述]`` header names the CRS (for a CGCS2000 Gauss–Krüger CRS: 2000国家大地坐标系,
its zone width and number; otherwise the CRS's name and EPSG code) and a ``[地块坐标]``
section holds each polygon as a parcel: a line ending in ``@`` (number of points, area in
hectares, feature id, name), then its points ``J<n>,<ring>,X,Y`` with X the northing and Y the
easting, to the millimetre; ring 1 is the outline and 2… its holes, each closed by its first
point again. Every part of a multipolygon is a parcel of its own with the feature's id.
Coordinates are in a projected CRS, metres or feet as that CRS is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

import pyproj
import shapely

from digitalcity.crs.zones import gk_zone_of_epsg

HECTARE = 10_000.0  # m² (for a CRS in feet the figure is in its square feet / 10,000)


def write_boundary_points(
    out: TextIO, srid: int, features: Iterable[tuple[int, str | None, bytes | None]]
) -> int:
    """Write ``features`` (feature id, name, WKB of its polygon or multipolygon, x the
    easting, in EPSG ``srid``) to ``out``; the number of features written (those without a
    polygon are skipped)."""
    out.write(_header(srid))
    written = 0
    for fid, name, wkb in features:
        if wkb is None:
            continue
        parts = [
            g
            for g in shapely.get_parts(shapely.from_wkb(wkb))
            if isinstance(g, shapely.Polygon) and not g.is_empty
        ]
        for polygon in parts:
            out.write(_parcel(fid, name, polygon))
        written += bool(parts)
    return written


def _header(srid: int) -> str:
    crs = pyproj.CRS.from_epsg(srid)
    zone = gk_zone_of_epsg(srid)
    lines = ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=digitalcity"]
    if zone is not None:
        lines += [
            "坐标系=2000国家大地坐标系",
            f"几度分带={zone.width}",
            "投影类型=高斯克吕格",
            "计量单位=米",
            f"带号={zone.zone}",
        ]
    else:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        lines += [f"坐标系={crs.name} (EPSG:{srid})", f"计量单位={unit}"]
    lines += ["精度=0.001", "[地块坐标]"]
    return "\r\n".join(lines) + "\r\n"


def _parcel(fid: int, name: str | None, polygon: shapely.Polygon) -> str:
    rings = [polygon.exterior, *polygon.interiors]
    count = sum(len(r.coords) for r in rings)
    label = (name or "").replace(",", "，").replace("@", "＠").replace("\n", " ").strip()
    lines = [f"{count},{polygon.area / HECTARE:.4f},{fid},{label},面,,,,@"]
    point = 0
    for number, ring in enumerate(rings, 1):
        for x, y in ring.coords:
            point += 1
            lines.append(f"J{point},{number},{y:.3f},{x:.3f}")
    return "\r\n".join(lines) + "\r\n"
