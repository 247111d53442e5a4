"""A site boundary (红线) from a file a planner brings: a CAD drawing, a shapefile, a
GeoPackage, GeoJSON, KML or FlatGeobuf, or a survey's list of boundary points (界址点坐标, a
``.txt``: ``boundary_text``), its areas read, reprojected, repaired and merged into
one (multi)polygon in lon/lat (CRS84), so the planner map can draw it and run the area's
statistics on it.

The file goes through the loader's own steps: archives unpacked and shapefiles mended
(``catalog.prepared``), the CRS resolved as a layer's is (``crs.resolve_crs``: the one given
wins over the file's; a CAD drawing declares none), every geometry checked, reprojected and
repaired (``ingest.geometry.check_geometries``; closed CAD polylines are areas). Areas are m² in
the city's local metric CRS.
"""

from __future__ import annotations

import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
import pyproj
import shapely

from digitalcity.boundary_text import CoordinateTextError, read_coordinate_text
from digitalcity.catalog.model import CityDef, Titles
from digitalcity.catalog.prepared import PreparedSource
from digitalcity.crs import parse_crs, resolve_crs, transform_geometries
from digitalcity.crs.chinese import place_in_china
from digitalcity.editing.validate import geometry_reason_zh
from digitalcity.errors import SourceError
from digitalcity.ingest.geometry import check_geometries

# what a boundary may come as (by the file name's ending)
SUFFIXES = (".dxf", ".zip", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".txt")
MAX_BYTES = 20 * 1024 * 1024
MAX_FEATURES = 10_000
LISTED_REJECTS = 20  # rejected features named in a report (all are counted)


class BoundaryError(SourceError):
    """A file that gives no boundary: a 400 whose ``message`` member says why in the
    request's language (``detail``: in English)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.said = Titles(zh=zh, en=en)

    def members_in(self, lang: str) -> dict[str, object]:
        """The problem's members in ``lang``: its message."""
        return {"message": self.said.get(lang)}


@dataclass(frozen=True)
class Boundary:
    """The merged area (CRS84), its area (m², local CRS), how many areas made it, the CRS it
    was read in, and the features left out with why."""

    geometry: shapely.Geometry
    area_m2: float
    parts: int
    crs: str
    rejected: list[tuple[int, str]]
    rejected_count: int

    def to_feature(self, name: str, city: CityDef, lang: str = "en") -> dict[str, Any]:
        """As a GeoJSON Feature in CRS84, its figures in ``properties`` (why features were
        left out in ``lang``)."""
        said = (lambda why: geometry_reason_zh(why, city)) if lang == "zh" else (lambda why: why)
        return {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(self.geometry),
            "properties": {
                "name": name,
                "area_m2": round(self.area_m2, 1),
                "parts": self.parts,
                "crs": self.crs,
                "rejected": [{"feature": i, "reason": said(why)} for i, why in self.rejected],
                "rejected_count": self.rejected_count,
            },
        }


def _checked_name(name: str) -> str:
    """The file name's last part if it ends as a boundary may (else a SourceError)."""
    base = Path(name.replace("\\", "/")).name
    if not base.lower().endswith(SUFFIXES) or len(base) > 200:
        endings = ", ".join(SUFFIXES)
        raise BoundaryError(
            f"a boundary file ends in one of {endings}; got {base[:100]!r}",
            f"红线文件的扩展名须为 {endings} 之一，而不是 {base[:100]!r}",
        )
    return base


def _read_areas(path: Path) -> tuple[np.ndarray, str | None, bool]:
    """Every geometry of the file's layers that may hold areas, the CRS they declare, and
    whether the file is a CAD drawing (closed lines are its areas)."""
    # GDAL's and GEOS's warnings about a damaged file (an unclosed ring) are recorded, not
    # raised: where warnings are errors (the tests) they would escape GDAL's error handler as
    # errors nothing can catch; the geometries they concern come out missing, and reported
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return _read_all(path)


def _read_all(path: Path) -> tuple[np.ndarray, str | None, bool]:
    """``_read_areas`` without its warnings' handling."""
    geoms: list[np.ndarray] = []
    crs = None
    try:
        for layer, kind in pyogrio.list_layers(path):
            if kind is None:  # a table without geometries (a GeoPackage's attributes)
                continue
            meta, _, wkb, _ = pyogrio.raw.read(
                path, layer=layer, columns=[], max_features=MAX_FEATURES + 1
            )
            if meta.get("crs") and crs is None:
                crs = meta["crs"]
            if wkb is not None:
                # a geometry GEOS cannot build (a ring left open by a damaged file) is missing,
                # and reported as such, not an error of the whole file
                geoms.append(np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object))
    except (OSError, RuntimeError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FeatureError, pyogrio.errors.GeometryError,
            pyogrio.errors.FieldError, pyogrio.errors.CRSError) as exc:  # fmt: skip
        said = str(exc).splitlines()[0].replace(str(path), path.name).split("; ")[0][:200]
        raise BoundaryError(f"cannot read the file: {said}", f"无法读取该文件：{said}") from None
    found = np.concatenate(geoms) if geoms else np.array([], dtype=object)
    if len(found) > MAX_FEATURES:
        raise too_many()
    return found, crs, path.suffix.lower() == ".dxf"


def _read_points(path: Path, city: CityDef) -> tuple[np.ndarray, str | None, bool]:
    """``_read_areas`` of a list of boundary points (``boundary_text``): in a city in China
    a plain list's pairs are X (northing) then Y."""
    try:
        polygons, crs = read_coordinate_text(
            path.read_bytes(), northing_first=place_in_china(city.center, city.bbox)
        )
    except CoordinateTextError as exc:
        raise BoundaryError(str(exc), exc.zh) from None
    if len(polygons) > MAX_FEATURES:
        raise too_many()
    return polygons, crs, False


def read_boundary(path: Path, city: CityDef, crs: str | None = None) -> Boundary:
    """The boundary in the file at ``path`` (``crs``: the CRS of its coordinates when the
    file declares none or a wrong one: an EPSG code, ``CGCS2000-GK3``, ``GCJ-02``…). Raises
    ``SourceError`` (a 400) for a file that is not one, holds no area near the city, or whose
    CRS is unknown."""
    if path.suffix.lower() == ".txt":
        geoms, file_crs, cad = _read_points(path, city)
    else:
        try:
            prepared = PreparedSource(path, None)
        except SourceError as exc:  # an archive refused (a path out of it, a bomb, several files)
            raise BoundaryError(str(exc), f"无法打开该文件：{exc}") from None
        try:
            geoms, file_crs, cad = _read_areas(prepared.path)
        finally:
            prepared.close()
    present = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
    if not len(present):
        raise BoundaryError("the file holds no geometry", "文件中没有图形")
    sample = shapely.get_coordinates(present[:50])[:, 0]
    try:
        source = resolve_crs(crs, file_crs, sample)
    except SourceError as exc:
        if file_crs is None and not crs:
            raise BoundaryError(
                "the file declares no CRS (CAD drawings do not): choose the CRS of its coordinates",
                "文件未注明坐标系（CAD 图都不注明）：请选择其坐标所用的坐标系",
            ) from None
        raise BoundaryError(str(exc), f"无法识别坐标系：{exc}") from None
    storage = pyproj.CRS.from_user_input(city.storage_crs)
    checked = check_geometries(
        geoms, source, city, "MultiPolygon", storage.is_geographic, closed_lines_are_polygons=cad
    )
    kept = checked.geometry[~shapely.is_missing(checked.geometry)]
    rejected = sorted(checked.rejected.items())
    if not len(kept):
        why = rejected[0][1] if rejected else "no areas"
        raise BoundaryError(
            f"no area in the file can be used ({why})",
            f"文件中没有可用的面（{geometry_reason_zh(why, city) if rejected else '没有面'}）",
        )
    merged = shapely.union_all(kept)
    lonlat = transform_geometries(np.array([merged]), parse_crs(city.storage_crs), "EPSG:4326")[0]
    local = transform_geometries(np.array([merged]), parse_crs(city.storage_crs), city.local_crs)[0]
    return Boundary(
        geometry=lonlat,
        area_m2=float(local.area),
        parts=len(kept),
        crs=str(source),
        rejected=rejected[:LISTED_REJECTS],
        rejected_count=len(rejected),
    )


def too_many() -> BoundaryError:
    """The refusal of a file of more than MAX_FEATURES features."""
    return BoundaryError(
        f"a boundary file holds at most {MAX_FEATURES:,} features",
        f"红线文件最多包含 {MAX_FEATURES:,} 个要素",
    )


def too_large() -> BoundaryError:
    """The refusal of a file above MAX_BYTES."""
    mb = MAX_BYTES // 1024 // 1024
    return BoundaryError(f"a boundary file is at most {mb} MB", f"红线文件不能超过 {mb} MB")


def boundary_from_bytes(data: bytes, name: str, city: CityDef, crs: str | None = None) -> Boundary:
    """``read_boundary`` of an uploaded file (``name``: its file name, whose ending says the
    format), written to a temporary folder removed afterwards."""
    if len(data) > MAX_BYTES:
        raise too_large()
    if not data:
        raise BoundaryError("the file is empty", "文件是空的")
    base = _checked_name(name)
    with tempfile.TemporaryDirectory(prefix="digitalcity-boundary-") as folder:
        path = Path(folder) / base
        path.write_bytes(data)
        # In a thread of its own: pyogrio 0.13 leaves GDAL's error handler pushed in the
        # thread that failed to open a file, so a server thread that read a garbled upload
        # turned GDAL's later warnings there (a shapefile export's shortened field names)
        # into Python warnings raised where nothing can catch them (tests/test_boundary.py
        # then tests/test_exports.py). The one-off thread ends with whatever it leaked.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="boundary") as one_off:
            return one_off.submit(read_boundary, path, city, crs).result()
