"""Datum shifts between a source's CRS and the city's storage CRS.

Older Chinese data is on Beijing 1954 or Xian 1980 (Krassowsky and IAG 1975 ellipsoids); the
storage CRS is CGCS2000. PROJ knows no transformation between them and shifts nothing
("ballpark"), which misplaces features by tens to a hundred metres, silently. A bureau holds
its local transformation parameters; given in ``source.crs`` as ``+towgs84=…`` (or a WKT
``TOWGS84``: a bound CRS), they are applied on the way through WGS 84, since PROJ does not
apply them towards a datum it has no transformation for (a point near Beijing moved 63 m
less than it should). Without them, the load report says that positions may be off.
"""

from __future__ import annotations

import warnings

import pyproj
from pyproj.transformer import AreaOfInterest, TransformerGroup

WGS84 = pyproj.CRS.from_epsg(4326)
_SAME_AXIS_M = 1.0  # ellipsoids whose semi-major axes differ less are the same family
_SAME_INVERSE_FLATTENING = 0.01  # (WGS 84, GRS 1980 and CGCS2000 differ by 0.0000001)


def same_ellipsoid(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    """Whether two CRSs sit on practically one ellipsoid (WGS 84, GRS 1980 and CGCS2000 do):
    then a datum shift between them is metres at most, often centimetres."""
    first, second = a.ellipsoid, b.ellipsoid
    if first is None or second is None:
        return True
    return (
        abs(first.semi_major_metre - second.semi_major_metre) < _SAME_AXIS_M
        and abs(first.inverse_flattening - second.inverse_flattening) < _SAME_INVERSE_FLATTENING
    )


def through_wgs84(source: pyproj.CRS, target: pyproj.CRS) -> bool:
    """Whether ``source`` -> ``target`` must pass through WGS 84 to apply the datum
    transformation ``source`` carries (+towgs84: a bound CRS)."""
    return source.is_bound and target != WGS84


def unknown_datum_shift(
    source: pyproj.CRS, target: pyproj.CRS, area: tuple[float, float, float, float] | None
) -> str | None:
    """A warning when ``source`` and ``target`` sit on different ellipsoids and PROJ knows no
    transformation between their datums where ``area`` (lon/lat degrees: west, south, east,
    north) lies, so that coordinates move as if the datums agreed; None otherwise."""
    if source.is_bound or same_ellipsoid(source, target):
        return None
    aoi = AreaOfInterest(*area) if area else None
    with warnings.catch_warnings():  # "best transformation is not available": a missing grid
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(source, target, always_xy=True, area_of_interest=aoi)
    if any("Ballpark" not in t.description for t in group.transformers):
        return None
    names = (_datum_name(source), _datum_name(target))
    return (
        f"PROJ knows no transformation from {names[0]} to {names[1]} here: coordinates were "
        "moved as if the datums agreed and may be off by tens to a hundred metres; give "
        "source.crs with the local transformation's parameters (+towgs84=…, from the "
        "surveying authority)"
    )


def _datum_name(crs: pyproj.CRS) -> str:
    datum = (crs.geodetic_crs or crs).datum
    return datum.name if datum is not None else crs.name
