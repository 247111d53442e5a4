"""Site boundaries as land surveys write them in text (界址点坐标, a ``.txt`` file).

Two forms are read:

- the coordinate exchange format of the Ministry of Natural Resources (自然资源部坐标交换格式):
  a ``[属性描述]`` section (坐标系, 几度分带, 带号…) and a ``[地块坐标]`` section in which each
  parcel starts with a line ending in ``@`` and lists its points as ``点号,圈号,X,Y``: ring 1
  the outline, rings 2… its holes, X the northing and Y the easting (the zone number in front
  of Y or not);
- a plain list of points, one a line, ``J1 3378500.12 500200.45`` or ``3378500.12,500200.45``
  (a point name first or not), a ring ending where its first point comes again or at a blank
  line, each ring a parcel of its own. In a city in China the pair is X (northing) then Y
  (easting), as Chinese surveys write it; elsewhere easting then northing.

Polygons come out with x the easting and y the northing, in the CRS the header names
(CGCS2000 Gauss–Krüger by its zone; other datums are left for the planner to choose, as for a
CAD drawing) or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import shapely

from digitalcity.crs.zones import GK3_ZONES, GK6_ZONES, gk3_epsg, gk6_epsg
from digitalcity.errors import SourceError

_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_SPLIT = re.compile(r"[,，;；\t ]+")


class CoordinateTextError(SourceError):
    """A line that is neither a point nor part of the format: its number and why, zh and en."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


@dataclass
class _Ring:
    number: str  # the ring's number (圈号) in the exchange format; "" in a plain list
    points: list[tuple[float, float]] = field(default_factory=list)  # (easting, northing)


def read_coordinate_text(data: bytes, *, northing_first: bool) -> tuple[np.ndarray, str | None]:
    """The polygons a boundary text holds (x the easting, y the northing) and the CRS its
    header names (``EPSG:n``), or None. ``northing_first``: a plain list's pairs are X (the
    northing) then Y, as in China. Raises ``CoordinateTextError`` naming the first line that
    cannot be read."""
    text = _decoded(data)
    lines = text.splitlines()
    if any(line.strip() == "[地块坐标]" for line in lines):
        return _exchange_format(lines)
    return _plain_list(lines, northing_first), None


def _decoded(data: bytes) -> str:
    """UTF-8 (with or without its mark), else GB18030, as Chinese surveying software writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _exchange_format(lines: list[str]) -> tuple[np.ndarray, str | None]:
    header: dict[str, str] = {}
    parcels: list[list[_Ring]] = []
    section = ""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        if section == "[属性描述]":
            key, _, value = line.partition("=")
            header[key.strip()] = value.strip()
        elif section == "[地块坐标]":
            if line.endswith("@"):
                parcels.append([])
                continue
            fields = [f.strip() for f in line.split(",")]
            if len(fields) < 4 or not parcels:
                raise _bad_line(number, line, "点号,圈号,X,Y")
            ring_number, x, y = fields[1], _number(fields[2]), _number(fields[3])
            if x is None or y is None:
                raise _bad_line(number, line, "点号,圈号,X,Y")
            rings = parcels[-1]
            if not rings or rings[-1].number != ring_number:
                rings.append(_Ring(ring_number))
            rings[-1].points.append((y, x))  # X is the northing
    polygons = [_polygon(rings) for rings in parcels if rings]
    return np.array(polygons, dtype=object), _header_crs(header, polygons)


def _plain_list(lines: list[str], northing_first: bool) -> np.ndarray:
    rings: list[_Ring] = [_Ring("")]
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            if rings[-1].points:
                rings.append(_Ring(""))
            continue
        values = [v for v in _SPLIT.split(line) if v]
        if values and _number(values[0]) is None:
            values = values[1:]  # the point's name
        numbers = [_number(v) for v in values]
        if len(numbers) != 2 or numbers[0] is None or numbers[1] is None:
            if number == 1 and not rings[-1].points:
                continue  # a header row ("点号 X Y")
            raise _bad_line(number, line, "X Y")
        a, b = numbers[0], numbers[1]
        point = (b, a) if northing_first else (a, b)
        ring = rings[-1]
        ring.points.append(point)
        if len(ring.points) > 3 and point == ring.points[0]:
            rings.append(_Ring(""))
    return np.array([_polygon([r]) for r in rings if r.points], dtype=object)


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


def _polygon(rings: list[_Ring]) -> shapely.Geometry:
    """The outline (first ring) with its holes; a ring of fewer than three points is None (the
    boundary check reports it as a geometry it could not use)."""
    closed = []
    for ring in rings:
        points = (
            ring.points if ring.points[0] == ring.points[-1] else [*ring.points, ring.points[0]]
        )
        if len(points) < 4:
            return None
        closed.append(points)
    return shapely.Polygon(closed[0], closed[1:])


def _header_crs(header: dict[str, str], polygons: list[shapely.Geometry]) -> str | None:
    """The CRS the header names: CGCS2000 Gauss–Krüger by its zone (带号; 3- or 6-degree by
    几度分带), the zone number in the eastings or not as the coordinates have it. Other datums
    (Xian 1980, Beijing 1954) are not named: the planner chooses their CRS."""
    system = header.get("坐标系", "")
    if "2000" not in system or ("投影类型" in header and "高斯" not in header["投影类型"]):
        return None
    try:
        zone = int(float(header.get("带号", "")))
    except ValueError:
        return None
    eastings = shapely.get_coordinates([p for p in polygons if p is not None])[:, 0]
    prefixed = bool(len(eastings)) and bool((eastings >= 1e7).all())
    width = header.get("几度分带", "3").strip()
    if width == "6" and zone in GK6_ZONES:
        return f"EPSG:{gk6_epsg(zone, prefixed=prefixed)}"
    if width != "6" and zone in GK3_ZONES:
        return f"EPSG:{gk3_epsg(zone, prefixed=prefixed)}"
    return None


def _bad_line(number: int, line: str, form: str) -> CoordinateTextError:
    shown = line[:60]
    return CoordinateTextError(
        f"line {number} is not a point ({form}): {shown!r}",
        f"第 {number} 行不是坐标点（{form}）：{shown!r}",
    )
