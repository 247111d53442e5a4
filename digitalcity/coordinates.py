"""Coordinates typed into a search box, read as places in a city (坐标定位).

A pair of numbers is read every way a surveyor or a map service writes one: longitude and
latitude in either order (decimal degrees, or degrees, minutes and seconds with their
hemisphere: ``24°28′44″N 118°05′20″E``), and x and y in the city's local CRS in either order
(a Chinese survey writes X, the northing, first), the easting with or without its
Gauss–Krüger zone number (``39512345.6``: zone 39). Only the readings that fall inside the
city's extent are kept, so numbers that are not coordinates there give none. Places are in
WGS 84 lon/lat degrees; the values as read keep the order of their CRS's axes.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyproj

from digitalcity.catalog.model import CityDef
from digitalcity.crs.chinese import bd09_to_wgs84, gcj02_to_wgs84, place_in_china
from digitalcity.crs.zones import GK3_ZONES, GK6_ZONES, PREFIX_MIN_EASTING, gk3_epsg, gk6_epsg

LONLAT = "EPSG:4326"
# the offset lon/lat of Chinese map services: Amap and Tencent Maps (GCJ-02), Baidu (BD-09)
OFFSETS = {"GCJ-02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84}
MAX_TEXT = 80  # longer text is not a pair of coordinates
SAME_PLACE_M = 1.0  # readings closer than this are one place

# one coordinate: a signed decimal number, or degrees with minutes and seconds, each with an
# optional hemisphere letter after it, or (as GPS receivers write) before it when the text
# starts with one, or 东经/北纬
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
_DEGREES = (
    rf"(?P<deg>{_NUMBER})\s*(?:(?:°|度)\s*(?:(?P<min>\d+(?:\.\d+)?)\s*(?:′|'|分)\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:″|\"|''|秒)\s*)?)?"
)
_SUFFIXED = re.compile(_DEGREES + r"\s*(?P<hemi>[NSEWnsew](?![A-Za-z]))?")
_PREFIXED = re.compile(r"(?P<hemi>[NSEW])?\s*" + _DEGREES)
_STARTS_PREFIXED = re.compile(r"\s*[NSEW]\s*[+-]?\d")
# what may stand around the numbers: axis names, separators and labels
_LABELS = re.compile(
    r"(?i)\b(?:x|y|e|n|lon|lng|long|lat|longitude|latitude|easting|northing)\b"
    r"|经度|纬度|东经|北纬|坐标|[=:：,，;；/()（）\s]"
)
_GEOGRAPHIC_LABELS = re.compile(r"(?i)lon|lng|lat|经度|纬度|东经|北纬|°|度")


@dataclass(frozen=True)
class Reading:
    """A pair as typed: the two values (degrees already decimal), each one's hemisphere
    letter (N, S, E, W or empty) and whether the text says they are degrees."""

    first: float
    second: float
    hemispheres: tuple[str, str]
    degrees: bool


@dataclass(frozen=True)
class Place:
    """Where a reading puts the point: ``lon``/``lat`` (WGS 84 degrees); ``crs`` and
    ``crs_name``, the CRS the numbers were read in; ``values`` and ``axes``, the numbers in
    that CRS's axis order with its axis abbreviations (``Lon``/``Lat``, or ``X``/``Y``)."""

    lon: float
    lat: float
    crs: str
    crs_name: str
    values: tuple[float, float]
    axes: tuple[str, str]


def read_pair(text: str) -> Reading | None:
    """The two coordinates ``text`` holds, or None when it holds anything else (a word, an
    address, one number or three)."""
    if len(text) > MAX_TEXT:
        return None
    coordinate = _PREFIXED if _STARTS_PREFIXED.match(text) else _SUFFIXED
    found = [m for m in coordinate.finditer(text) if m.group("deg")]
    if len(found) != 2:
        return None
    rest = coordinate.sub(" ", text)
    if _LABELS.sub("", rest):
        return None
    hemis = tuple((m.group("hemi") or "").upper() for m in found)
    if any(hemis) and any(abs(float(m.group("deg"))) > 180 for m in found):
        hemis = ("", "")  # not hemispheres: an easting's E and a northing's N
    values = [_decimal(m, h) for m, h in zip(found, hemis, strict=True)]
    if any(v is None for v in values):
        return None
    degrees = bool(_GEOGRAPHIC_LABELS.search(text)) or any(hemis)
    first, second = (float(v) for v in values if v is not None)
    return Reading(first, second, (hemis[0], hemis[1]), degrees)


def _decimal(match: re.Match[str], hemisphere: str) -> float | None:
    """A coordinate's value in decimal (degrees, minutes, seconds added up); a west or south
    ``hemisphere`` makes it negative; minutes or seconds of 60 or more are not coordinates."""
    degrees = float(match.group("deg"))
    minutes = float(match.group("min") or 0)
    seconds = float(match.group("sec") or 0)
    if minutes >= 60 or seconds >= 60 or not math.isfinite(degrees):
        return None
    value = abs(degrees) + minutes / 60 + seconds / 3600
    negative = degrees < 0 or hemisphere in ("W", "S")
    return -value if negative else value


def places(text: str, city: CityDef) -> list[Place]:
    """Every reading of ``text`` that falls inside ``city``'s extent, lon/lat first, then
    the local CRS's; one per place. Empty when the city has no extent or the text holds no
    pair."""
    reading = read_pair(text)
    if reading is None or city.bbox is None:
        return []
    found: list[Place] = []
    for place in (*_geographic(reading, city), *_projected(reading, city)):
        if _inside(place, city.bbox) and not any(_near(place, p) for p in found):
            found.append(place)
    return found


def _geographic(reading: Reading, city: CityDef) -> list[Place]:
    """Longitude and latitude, in the order the hemisphere letters say, else both orders:
    WGS 84 first, then, in a city in China, as the offset lon/lat its map services copy
    (``OFFSETS``), each taken back to WGS 84."""
    a, b = reading.first, reading.second
    if reading.hemispheres[0] in ("N", "S") or reading.hemispheres[1] in ("E", "W"):
        orders = [(b, a)]
    elif reading.hemispheres[0] in ("E", "W") or reading.hemispheres[1] in ("N", "S"):
        orders = [(a, b)]
    else:
        orders = [(a, b), (b, a)]
    valid = [(lon, lat) for lon, lat in orders if -180 <= lon <= 180 and -90 <= lat <= 90]
    found = [Place(lon, lat, LONLAT, "WGS 84", (lon, lat), ("Lon", "Lat")) for lon, lat in valid]
    if place_in_china(city.center, city.bbox):
        for name, to_wgs84 in OFFSETS.items():
            for lon, lat in valid:
                x, y = to_wgs84(lon, lat)
                found.append(Place(float(x), float(y), name, name, (lon, lat), ("Lon", "Lat")))
    return found


def _projected(reading: Reading, city: CityDef) -> list[Place]:
    """Easting and northing in the city's local CRS, in either order; an easting that carries
    a Gauss–Krüger zone number is read in that zone's CRS instead."""
    if reading.degrees:
        return []
    found = []
    for east, north in ((reading.first, reading.second), (reading.second, reading.first)):
        crs = _zoned_crs(east) if east >= PREFIX_MIN_EASTING else city.local_crs
        if crs is None:
            continue
        place = _projected_place(crs, east, north)
        if place is not None:
            found.append(place)
    return found


def _zoned_crs(easting: float) -> str | None:
    """The CGCS2000 Gauss–Krüger CRS whose eastings carry the zone number ``easting`` does."""
    if easting >= 1e8:
        return None
    zone = int(easting // 1e6)
    if zone in GK3_ZONES:
        return f"EPSG:{gk3_epsg(zone, prefixed=True)}"
    if zone in GK6_ZONES:
        return f"EPSG:{gk6_epsg(zone, prefixed=True)}"
    return None


def _projected_place(crs: str, east: float, north: float) -> Place | None:
    to_lonlat, name, axes, east_first = _projection(crs)
    lon, lat = to_lonlat.transform(east, north)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    values = (east, north) if east_first else (north, east)
    return Place(float(lon), float(lat), crs, name, values, axes)


@lru_cache(maxsize=32)
def _projection(crs: str) -> tuple[pyproj.Transformer, str, tuple[str, str], bool]:
    """``crs`` to lon/lat (easting, northing in), its name, its axes' abbreviations in its
    own order, and whether its first axis is the easting."""
    source = pyproj.CRS.from_user_input(crs)
    axes = source.axis_info
    east_first = axes[0].direction.lower() == "east"
    transformer = pyproj.Transformer.from_crs(source, LONLAT, always_xy=True)
    return transformer, source.name, (axes[0].abbrev, axes[1].abbrev), east_first


def _inside(place: Place, bbox: tuple[float, float, float, float]) -> bool:
    west, south, east, north = bbox
    return west <= place.lon <= east and south <= place.lat <= north


def _near(a: Place, b: Place) -> bool:
    """Within ``SAME_PLACE_M`` of each other (a flat approximation, enough at a metre)."""
    dy = (a.lat - b.lat) * 111_320
    dx = (a.lon - b.lon) * 111_320 * math.cos(math.radians(a.lat))
    return math.hypot(dx, dy) < SAME_PLACE_M


@lru_cache(maxsize=32)
def crs_for_pages(crs: str) -> dict[str, Any]:
    """What a map page needs to write a point in ``crs`` (the pointer's coordinates): the
    code, the name, its PROJ.4 definition (for proj4js, which takes lon/lat and gives easting
    and northing), the axes' abbreviations in the CRS's own order, whether that order starts
    with the easting, and the unit's name."""
    source = pyproj.CRS.from_user_input(crs)
    with warnings.catch_warnings():  # "may lose important projection information": not here
        warnings.simplefilter("ignore", UserWarning)
        definition = source.to_proj4()
    _, name, axes, east_first = _projection(crs)  # the axes as the search reads them
    return {
        "code": crs,
        "name": name,
        "proj4": definition,
        "axes": list(axes),
        "east_first": east_first,
        "unit": source.axis_info[0].unit_name,
    }
