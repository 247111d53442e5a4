"""OGC CRS references (URIs) for the API: parsing, axis order and the per-city supported list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyproj

from digitalcity.catalog.model import CityDef
from digitalcity.crs import epsg_code
from digitalcity.errors import DigitalCityError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG|OGC)/[^/]+/([A-Za-z0-9]+)$")
_CURIE = re.compile(r"^\[?(EPSG|OGC):(?:[^:]*:)?([A-Za-z0-9]+)\]?$", re.IGNORECASE)
ALWAYS_OFFERED = (4326, 4490, 3857)


class CRSNotSupported(DigitalCityError):
    title = "Unsupported CRS"


@dataclass(frozen=True)
class CRSRef:
    """A CRS as the API sees it: SRID and whether coordinates are given northing first."""

    srid: int
    swap_axes: bool
    uri: str


@lru_cache(maxsize=64)
def _northing_first(srid: int) -> bool:
    axes = pyproj.CRS.from_epsg(srid).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def crs_uri(srid: int) -> str:
    return _EPSG_URI.format(srid)


def parse_crs(text: str, allowed: tuple[str, ...] | None = None) -> CRSRef:
    """Parse an OGC CRS URI (or EPSG:n / CRS84); lat/lon CRSs keep their authority axis order."""
    value = text.strip()
    match = _URI.match(value) or _CURIE.match(value)
    if value.upper() == "CRS84" or (match and match.group(2).upper() == "CRS84"):
        ref = CRSRef(4326, False, CRS84)
    elif match and match.group(1).upper() == "EPSG" and match.group(2).isdigit():
        srid = int(match.group(2))
        try:
            swap = _northing_first(srid)
        except pyproj.exceptions.CRSError:
            raise CRSNotSupported(f"unknown CRS {text!r}") from None
        ref = CRSRef(srid, swap, crs_uri(srid))
    else:
        raise CRSNotSupported(f"unknown CRS {text!r}: use an OGC URI such as {CRS84}")
    if allowed is not None and ref.uri not in allowed:
        raise CRSNotSupported(f"CRS {text!r} is not offered here; supported: {', '.join(allowed)}")
    return ref


def supported_crs(city: CityDef) -> tuple[str, ...]:
    """CRS84 first (the default), then EPSG 4326, 4490, 3857, the storage and the local CRS."""
    srids = [*ALWAYS_OFFERED, epsg_code(city.storage_crs), epsg_code(city.local_crs)]
    return (CRS84, *dict.fromkeys(crs_uri(s) for s in srids))
