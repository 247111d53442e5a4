"""The load's EPSG:3857 tile copy projected by the loader: the copy's binary COPY rows are
the layer's (``copybinary.copy_rows``) with every geometry's x and y rewritten in place, from
EPSG:4326 degrees to spherical Web Mercator metres, and its SRID set to 3857. PostgreSQL
then stores them as they come: no row trigger, no ``ST_Transform``.

Measured on the 246,900 SYNTHETIC roads (2.55 million points), one backend: the copy's COPY
through a row trigger calling ``ST_Transform`` took 1.04-1.13 s of server CPU, the projected
rows 0.40-0.41 s; projecting them here takes 0.16 s. Encoding them again instead
(``shapely.transform`` and ``to_wkb``, then a second ``copy_binary``) took 0.9 s.

The formula is PROJ's for EPSG:3857 (``x = R λ``, ``y = R asinh(tan φ)``, R = 6,378,137 m).
numpy's vectorised ``tan`` and ``arcsinh`` may differ from the C library's that PROJ calls
in the last bit of y: within 1e-8 m of ``ST_Transform``, a ten-thousandth of the finest
tile grid (z22: 2.3 mm a unit).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.errors import LoadError
from digitalcity.ingest.copybinary import le32

RADIUS_M = 6_378_137.0
WEB_MERCATOR_SRID = 3857
_WORLD = (-180.0, -85.0, 180.0, 85.0)
_AGREE_M = 1e-6

_SRID_FLAG = 0x2000_0000
_Z_FLAG = 0x8000_0000
_M_FLAG = 0x4000_0000
_FOUR = np.arange(4)
# A binary COPY row of the layer (copybinary.copy_rows): int16 field count, then each field
# as an int32 length and its bytes; the feature id (bigint, never null) is first, the
# geometry second.
_ID_LENGTH_AT = 2
_GEOMETRY_LENGTH_AT = 2 + 4 + 8
_GEOMETRY_AT = _GEOMETRY_LENGTH_AT + 4


def lonlat_to_web_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 longitudes and latitudes (degrees) to EPSG:3857 x and y (metres)."""
    return RADIUS_M * np.radians(lon), RADIUS_M * np.arcsinh(np.tan(np.radians(lat)))


def projects_as_lonlat(
    engine: Engine, srid: int, bbox: tuple[float, float, float, float] | None
) -> bool:
    """Whether geometries stored in ``srid`` reach EPSG:3857 through this module's formula:
    PostGIS's ``ST_Transform`` of lon/lat points, on a grid over ``bbox`` (degrees; the world
    when None), agrees within a micrometre. True for EPSG:4326 and for geographic CRSs the
    database relates to it without a datum shift (CGCS2000, EPSG:4490); False for projected
    CRSs (their coordinates are not degrees), and when the database cannot say.

    An answer is kept for the process's later loads into the same database (a city's layers
    share their CRS and bbox): PostGIS's transformations do not change while it runs."""
    key = (str(engine.url), srid, bbox)
    if key not in _ANSWERS:
        answer = _asked(engine, srid, bbox)
        if answer is None:
            return False
        _ANSWERS[key] = answer
    return _ANSWERS[key]


_ANSWERS: dict[tuple[str, int, tuple[float, float, float, float] | None], bool] = {}


def _asked(
    engine: Engine, srid: int, bbox: tuple[float, float, float, float] | None
) -> bool | None:
    """``projects_as_lonlat`` asked of the database; None when it cannot say."""
    west, south, east, north = bbox or _WORLD
    lon, lat = (
        a.ravel() for a in np.meshgrid(np.linspace(west, east, 7), np.linspace(south, north, 7))
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                _TRANSFORMED, {"xs": lon.tolist(), "ys": lat.tolist(), "srid": srid}
            ).all()
    except sa.exc.SQLAlchemyError:
        return None
    x, y = lonlat_to_web_mercator(lon, lat)
    theirs = np.array(rows, dtype=float)
    return bool(
        len(theirs) == len(x)
        and np.all(np.abs(theirs[:, 0] - x) <= _AGREE_M)
        and np.all(np.abs(theirs[:, 1] - y) <= _AGREE_M)
    )


_TRANSFORMED = sa.text(
    "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y), "
    ":srid), 3857) AS p, n FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) "
    "WITH ORDINALITY AS t(x, y, n)) AS s ORDER BY n"
)


def projected_rows(data: pa.Buffer, starts: np.ndarray) -> pa.Buffer:
    """A copy of the binary COPY rows ``data`` (row ``i`` at byte ``starts[i]``) whose
    geometries, EPSG:4326 EWKB, are EPSG:3857 EWKB of the same length; every other byte
    as it was. Raises LoadError for a geometry that is not EWKB with an SRID (the loader
    writes no other)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    if not len(starts):
        return pa.py_buffer(buf)
    starts = np.asarray(starts, dtype=np.int64)
    if (_int32(buf, starts + _ID_LENGTH_AT, ">i4") != 8).any():
        raise LoadError("tile copy: a row does not start with its feature id")
    lengths = _int32(buf, starts + _GEOMETRY_LENGTH_AT, ">i4")
    if (lengths < 9).any():
        raise LoadError("tile copy: a row has no geometry")
    geometries = starts + _GEOMETRY_AT
    try:
        at, points, stride = _coordinate_runs(buf, geometries, geometries + lengths)
    except IndexError:  # a count pointing past the batch's end
        raise LoadError("tile copy: a geometry is cut short") from None
    _project(buf, at, points, stride)
    buf[(geometries + 5)[:, None] + _FOUR] = le32(WEB_MERCATOR_SRID)
    return pa.py_buffer(buf)


def _int32(buf: np.ndarray, at: np.ndarray, dtype: str = "<u4") -> np.ndarray:
    """The 4-byte integers at byte offsets ``at`` (little-endian unsigned by default)."""
    return buf[at[:, None] + _FOUR].copy().view(dtype).ravel().astype(np.int64)


class _Runs:
    """Coordinate runs found so far: where each starts, its points, bytes per point."""

    def __init__(self) -> None:
        self.at: list[np.ndarray] = []
        self.points: list[np.ndarray] = []
        self.stride: list[np.ndarray] = []

    def add(self, at: np.ndarray, points: np.ndarray, stride: np.ndarray) -> None:
        self.at.append(at)
        self.points.append(points)
        self.stride.append(stride)


def _coordinate_runs(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of coordinates in the EWKB geometries at ``starts`` (each ending at
    ``ends``): its first byte, its number of points and the bytes a point takes (16 in 2D,
    24 with Z or M, 32 with both). Raises LoadError when one is not little-endian EWKB of a
    point, line string or polygon, or a multi-geometry of them, with an SRID."""
    if (buf[starts] != 1).any():
        raise LoadError("tile copy: a geometry is not little-endian EWKB")
    types = _int32(buf, starts + 1)
    if not (types & _SRID_FLAG).all():
        raise LoadError("tile copy: a geometry has no SRID")
    dims = types & (_Z_FLAG | _M_FLAG)
    kinds = types & 0xFF
    if ((types & ~(_SRID_FLAG | _Z_FLAG | _M_FLAG)) != kinds).any():
        raise LoadError("tile copy: a geometry is not a simple feature")
    runs = _Runs()
    for kind in np.unique(kinds):
        for flags in np.unique(dims[kinds == kind]):
            chosen = (kinds == kind) & (dims == flags)
            stride = 16 + 8 * (bool(flags & _Z_FLAG) + bool(flags & _M_FLAG))
            body = starts[chosen] + 9
            if 1 <= kind <= 3:
                end = _single(buf, int(kind), body, stride, runs)
            elif 4 <= kind <= 6:
                end = _multi(buf, int(kind), int(flags), body, stride, runs)
            else:
                raise LoadError(f"tile copy: unexpected geometry type {int(kind)}")
            if (end != ends[chosen]).any():
                raise LoadError("tile copy: a geometry's length does not match its content")
    if not runs.at:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(runs.at), np.concatenate(runs.points), np.concatenate(runs.stride)


def _single(buf: np.ndarray, kind: int, at: np.ndarray, stride: int, runs: _Runs) -> np.ndarray:
    """The runs of points (1), line strings (2) or polygons (3) whose bodies (after byte
    order and type) start at ``at``; returns where each geometry ends."""
    strides = np.full(len(at), stride, dtype=np.int64)
    if kind == 1:
        runs.add(at, np.ones(len(at), dtype=np.int64), strides)
        return at + stride
    if kind == 2:
        points = _int32(buf, at)
        runs.add(at + 4, points, strides)
        return at + 4 + stride * points
    rings = _int32(buf, at)
    cursor = at + 4
    for live in _still_going(rings):
        points = _int32(buf, cursor[live])
        runs.add(cursor[live] + 4, points, strides[live])
        cursor[live] += 4 + stride * points
    return cursor


def _multi(
    buf: np.ndarray, kind: int, flags: int, at: np.ndarray, stride: int, runs: _Runs
) -> np.ndarray:
    """The runs of multi-geometries (4, 5, 6) whose bodies start at ``at``: each part is a
    whole WKB geometry of the single kind (no SRID); returns where each ends."""
    parts = _int32(buf, at)
    cursor = at + 4
    for live in _still_going(parts):
        part = cursor[live]
        if (buf[part] != 1).any() or (_int32(buf, part + 1) != ((kind - 3) | flags)).any():
            raise LoadError("tile copy: a multi-geometry holds an unexpected part")
        cursor[live] = _single(buf, kind - 3, part + 5, stride, runs)
    return cursor


def _still_going(counts: np.ndarray) -> list[np.ndarray]:
    """For k = 0, 1, …: the positions whose count exceeds k (those with a k-th item). Sorted
    once, so a geometry of many parts costs its own parts, not the batch's size each: a
    batch of 4,000 squares with one multipolygon of 20,000 parts and one polygon of 20,000
    holes takes 0.67 s (2,000 parts: 0.07 s; the squares alone: 5 ms)."""
    order = np.argsort(-counts, kind="stable")
    descending = -counts[order]
    most = int(counts.max(initial=0))
    return [order[: np.searchsorted(descending, -k, side="left")] for k in range(most)]


def _project(
    buf: np.ndarray,
    at: np.ndarray,
    points: np.ndarray,
    stride: np.ndarray,
) -> None:
    """Rewrite, in ``buf``, the x and y (the first two little-endian doubles of each point)
    of every run. A double may start at any byte: the runs are taken by their offset modulo
    8, each group through one float64 view of the buffer at that offset, whose slots its
    points' x and y are (one boolean mask per group over the runs, not over the points:
    these masks took 0.19 of 0.35 s on the roads)."""
    offset = at % 8
    for c in np.unique(offset):
        mine = offset == c
        counts = points[mine]
        total = int(counts.sum())
        if not total:
            continue
        first = np.cumsum(counts) - counts
        within = np.arange(total) - np.repeat(first, counts)
        slots = (
            np.repeat((at[mine] - c) // 8, counts) + np.repeat(stride[mine] // 8, counts) * within
        )
        view = buf[c : c + (len(buf) - c) // 8 * 8].view("<f8")
        x, y = lonlat_to_web_mercator(view[slots], view[slots + 1])
        view[slots] = x
        view[slots + 1] = y
