"""GCJ-02 ("Mars") and BD-09 (Baidu) offsets, vectorised with numpy.

All functions take and return longitude, latitude in decimal degrees, always in
lon/lat order. WGS84 means EPSG:4326 lon/lat (CGCS2000, EPSG:4490, is the same to
well under a metre here). Inputs may be scalars or array-likes that broadcast
together; scalar input gives a ``(float, float)`` pair, anything else numpy arrays.

The forward formulas are the widely published ones (Krasovsky semi-major axis
6378245 m); the GCJ-02 inverse is iterative and good to about a centimetre.
Outside the rough mainland-China box, GCJ-02 equals WGS84 and the GCJ functions
return the input unchanged. The BD-09 step (GCJ-02 <-> BD-09) is applied everywhere.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_one_step",
    "in_china_box",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]

_A = 6378245.0  # semi-major axis of Krasovsky 1940, metres
_EE = 0.00669342162296594323  # first eccentricity squared of Krasovsky 1940
_X_PI = np.pi * 3000.0 / 180.0  # BD-09 rotation constant
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# Rough bounding box of mainland China used by every public implementation, degrees.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271


def _as_arrays(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    """Broadcast lon/lat to float64 arrays; the flag says whether both were scalars."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64), scalar


def _out(x: FloatArray, y: FloatArray, scalar: bool) -> Any:
    if scalar:
        return float(x), float(y)
    return x, y


def in_china_box(lon: Any, lat: Any) -> NDArray[np.bool_]:
    """True where lon/lat (degrees) fall in the rough mainland-China box where GCJ-02 applies."""
    x, y, _ = _as_arrays(lon, lat)
    return (x >= _LON_MIN) & (x <= _LON_MAX) & (y >= _LAT_MIN) & (y <= _LAT_MAX)


def place_in_china(
    center: tuple[float, float] | None, bbox: tuple[float, float, float, float] | None
) -> bool:
    """Whether a city (its centre, else its bbox's, lon/lat degrees) lies in the China box."""
    if center is None and bbox is not None:
        center = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
    return center is not None and bool(np.asarray(in_china_box(*center)).item())


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 in degrees at WGS84 lon/lat (no box test)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    # Shared oscillating term of both polynomials.
    wave_x = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += wave_x
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += wave_x
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon: Any, lat: Any) -> Any:
    """WGS84 lon/lat (degrees) -> GCJ-02 lon/lat (degrees); unchanged outside China."""
    x, y, scalar = _as_arrays(lon, lat)
    inside = in_china_box(x, y)
    with np.errstate(invalid="ignore"):
        dlon, dlat = _gcj_delta(x, y)
    return _out(np.where(inside, x + dlon, x), np.where(inside, y + dlat, y), scalar)


@overload
def gcj02_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(lon: Any, lat: Any, *, tol_deg: float = 1e-7, max_iter: int = 30) -> Any:
    """GCJ-02 lon/lat (degrees) -> WGS84 lon/lat (degrees) by fixed-point iteration.

    Starts from the one-step inverse and repeats x <- x - (forward(x) - target) until
    the largest change is below ``tol_deg`` (1e-7 deg is about 1 cm) or ``max_iter``
    steps. Points outside the China box (tested on the GCJ-02 input) are unchanged.
    """
    gx, gy, scalar = _as_arrays(lon, lat)
    inside = in_china_box(gx, gy) & np.isfinite(gx) & np.isfinite(gy)
    tx, ty = gx[inside], gy[inside]
    with np.errstate(invalid="ignore"):
        dlon, dlat = _gcj_delta(tx, ty)
        wx, wy = tx - dlon, ty - dlat  # one-step inverse
        for _ in range(max_iter):
            dlon, dlat = _gcj_delta(wx, wy)
            step_x = wx + dlon - tx
            step_y = wy + dlat - ty
            wx = wx - step_x
            wy = wy - step_y
            if step_x.size == 0 or max(np.abs(step_x).max(), np.abs(step_y).max()) < tol_deg:
                break
    out_x, out_y = gx.copy(), gy.copy()
    out_x[inside] = wx
    out_y[inside] = wy
    return _out(out_x, out_y, scalar)


def gcj02_to_wgs84_one_step(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]:
    """The classic one-step GCJ-02 -> WGS84 inverse (error 1-2 m), kept for comparison."""
    gx, gy, _ = _as_arrays(lon, lat)
    inside = in_china_box(gx, gy)
    with np.errstate(invalid="ignore"):
        dlon, dlat = _gcj_delta(gx, gy)
    return np.where(inside, gx - dlon, gx), np.where(inside, gy - dlat, gy)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon: Any, lat: Any) -> Any:
    """GCJ-02 lon/lat (degrees) -> BD-09 lon/lat (degrees), published forward formula."""
    x, y, scalar = _as_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT, scalar)


@overload
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(lon: Any, lat: Any) -> Any:
    """BD-09 lon/lat (degrees) -> GCJ-02 lon/lat (degrees), published inverse formula.

    The published inverse is not an exact algebraic inverse; its round-trip error is
    of the order of 1e-6 deg (decimetres).
    """
    bx, by, scalar = _as_arrays(lon, lat)
    x = bx - _BD_DLON
    y = by - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta), z * np.sin(theta), scalar)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon: Any, lat: Any) -> Any:
    """WGS84 lon/lat (degrees) -> BD-09 lon/lat (degrees), via GCJ-02."""
    x, y, scalar = _as_arrays(lon, lat)
    gx, gy = wgs84_to_gcj02(x, y)
    return _out(*gcj02_to_bd09(gx, gy), scalar)


@overload
def bd09_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(
    lon: Any, lat: Any, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(lon: Any, lat: Any, *, tol_deg: float = 1e-7, max_iter: int = 30) -> Any:
    """BD-09 lon/lat (degrees) -> WGS84 lon/lat (degrees), via GCJ-02 (iterative step)."""
    x, y, scalar = _as_arrays(lon, lat)
    gx, gy = bd09_to_gcj02(x, y)
    wx, wy = gcj02_to_wgs84(gx, gy, tol_deg=tol_deg, max_iter=max_iter)
    return _out(wx, wy, scalar)
