"""CGCS2000 Gauss-Krüger zones and their EPSG codes (the one place these codes live).

Longitudes are degrees east; eastings are metres in always-xy order (x = easting).
3-degree zones 25-45 have central meridian 3 x zone; EPSG:4513-4533 put the zone
number in the easting (false easting zone x 1e6 + 5e5), EPSG:4534-4554 do not.
6-degree zones 13-23 have central meridian 6 x zone - 3; EPSG:4491-4501 are
prefixed, EPSG:4502-4512 are not (checked against the EPSG names in PROJ 9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pyproj.exceptions import CRSError

__all__ = [
    "GK3_ZONES",
    "GK6_ZONES",
    "GKZone",
    "detect_prefixed_zone",
    "gk3_epsg",
    "gk3_zone",
    "gk6_epsg",
    "gk6_zone",
    "gk_zone_of_epsg",
    "local_gk_crs_for",
]

GK3_ZONES = range(25, 46)
GK6_ZONES = range(13, 24)

_GK3_PREFIXED_0 = 4513  # zone 25, zone number in the easting
_GK3_PLAIN_0 = 4534  # zone 25 (CM 75E), false easting 500 km
_GK6_PREFIXED_0 = 4491  # zone 13
_GK6_PLAIN_0 = 4502  # zone 13 (CM 75E)

PREFIX_MIN_EASTING = 1e7  # eastings at or above this carry a zone number


@dataclass(frozen=True)
class GKZone:
    """A CGCS2000 Gauss-Krüger zone as identified from an EPSG code."""

    width: Literal[3, 6]
    zone: int
    prefixed: bool

    @property
    def central_meridian(self) -> int:
        """Central meridian, degrees east."""
        return 3 * self.zone if self.width == 3 else 6 * self.zone - 3

    @property
    def epsg(self) -> int:
        """EPSG code of this zone."""
        if self.width == 3:
            return gk3_epsg(self.zone, prefixed=self.prefixed)
        return gk6_epsg(self.zone, prefixed=self.prefixed)


def gk3_zone(lon: float) -> int:
    """3-degree zone number for a longitude in degrees: round(lon / 3)."""
    return int(math.floor(lon / 3.0 + 0.5))


def gk6_zone(lon: float) -> int:
    """6-degree zone number for a longitude in degrees: floor(lon / 6) + 1."""
    return int(math.floor(lon / 6.0)) + 1


def gk3_epsg(zone: int, *, prefixed: bool) -> int:
    """EPSG code of CGCS2000 3-degree zone 25-45, with or without the zone in the easting."""
    if zone not in GK3_ZONES:
        raise ValueError(f"CGCS2000 3-degree Gauss-Krüger zone {zone} is outside 25-45")
    return (_GK3_PREFIXED_0 if prefixed else _GK3_PLAIN_0) + zone - GK3_ZONES.start


def gk6_epsg(zone: int, *, prefixed: bool = True) -> int:
    """EPSG code of CGCS2000 6-degree zone 13-23, with or without the zone in the easting."""
    if zone not in GK6_ZONES:
        raise ValueError(f"CGCS2000 6-degree Gauss-Krüger zone {zone} is outside 13-23")
    return (_GK6_PREFIXED_0 if prefixed else _GK6_PLAIN_0) + zone - GK6_ZONES.start


def gk_zone_of_epsg(epsg: int | None) -> GKZone | None:
    """The Gauss-Krüger zone an EPSG code stands for, or None for any other code."""
    if epsg is None:
        return None
    tables: tuple[tuple[int, Literal[3, 6], range, bool], ...] = (
        (_GK3_PREFIXED_0, 3, GK3_ZONES, True),
        (_GK3_PLAIN_0, 3, GK3_ZONES, False),
        (_GK6_PREFIXED_0, 6, GK6_ZONES, True),
        (_GK6_PLAIN_0, 6, GK6_ZONES, False),
    )
    for first, width, zones, prefixed in tables:
        if first <= epsg < first + len(zones):
            return GKZone(width, zones.start + epsg - first, prefixed)
    return None


def detect_prefixed_zone(x: ArrayLike) -> int | None:
    """Zone number carried by eastings (metres, always-xy x), or None if none carry one.

    Eastings >= 1e7 carry the zone as x // 1e6. Non-finite values are ignored.
    Raises ``pyproj.exceptions.CRSError`` when some eastings carry a zone and others
    do not, when they disagree on the zone, or when one is too large to carry one.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    xs = xs[np.isfinite(xs)]
    if xs.size == 0:
        return None
    prefixed = xs >= PREFIX_MIN_EASTING
    if not prefixed.any():
        return None
    if not prefixed.all():
        raise CRSError(
            f"{int((~prefixed).sum())} of {xs.size} eastings lack the zone prefix (< 1e7 m) "
            "while others carry one"
        )
    if (xs >= 1e8).any():  # no zone number has three digits
        raise CRSError("eastings beyond 100,000 km carry no zone prefix")
    zones = np.unique(np.floor(xs / 1e6).astype(np.int64))
    if zones.size != 1:
        raise CRSError(f"eastings carry several zone prefixes: {zones.tolist()}")
    return int(zones[0])


def local_gk_crs_for(lon: float) -> int:
    """EPSG code of the unprefixed CGCS2000 3-degree zone containing a longitude (degrees)."""
    return gk3_epsg(gk3_zone(lon), prefixed=False)
