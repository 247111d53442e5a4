"""Data quality checks (数据质检) of one layer: the faults a land bureau looks for before it
trusts a layer or after it has edited one.

- ``empty``: a feature without a geometry;
- ``invalid``: a geometry that breaks the OGC rules (a ring crossing itself, …), with
  GEOS's reason and where;
- ``duplicate``: two features with the same geometry (points: nearer than ``tolerance_m``);
- ``overlap`` (polygons): two features whose interiors overlap by at least ``min_area_m2``;
- ``gap`` (polygons): a hole enclosed by the features together, of ``min_area_m2`` to
  ``max_gap_m2`` (a sliver left between neighbours);
- ``undershoot`` (lines): a line's end that meets no other line but stops within
  ``tolerance_m`` of one;
- ``unknown_code``: a coded field's value that its code table does not hold.

Measured in the city's local metric CRS (areas m², distances m); geometries returned in the
city's storage CRS. Only the fields the caller may read are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.engine import Connection

from digitalcity.analysis import params
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import frame, geo_frame, local_srid, stage, stage_geometry
from digitalcity.catalog import visible_fields
from digitalcity.catalog.field_codes import field_codes, native_code_known
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

CHECKS = ("empty", "invalid", "duplicate", "overlap", "gap", "undershoot", "unknown_code")
UNITS = {"overlap": "m²", "gap": "m²", "undershoot": "m", "duplicate": "m"}
COLUMNS = ("check", "fid", "label", "other_fid", "other_label", "measure", "unit", "detail")
MAX_GAP_M2 = 1_000_000.0  # a hole larger than a square kilometre is land left open, not a gap
MAX_TOLERANCE_M = 100.0
MAX_LIMIT = 100_000  # faults listed per check at most


def checks_for(layer: LayerDef) -> tuple[str, ...]:
    """The checks that apply to ``layer``'s geometry type, in ``CHECKS`` order."""
    kind = layer.geometry_type.removeprefix("Multi")
    shape_only = {"Polygon": ("overlap", "gap"), "LineString": ("undershoot",)}.get(kind, ())
    return tuple(c for c in CHECKS if c not in ("overlap", "gap", "undershoot") or c in shape_only)


def data_quality(
    city: City,
    layer_id: str,
    *,
    checks: Sequence[str] | None = None,
    min_area_m2: float = 0.1,
    max_gap_m2: float = 100.0,
    tolerance_m: float = 1.0,
    polygon: params.PolygonLike | None = None,
    polygon_crs: str | int = "EPSG:4326",
    limit: int | None = None,
) -> AnalysisResult:
    """Check ``layer_id`` for the faults of ``checks`` (default: every check its geometry type
    has; ``checks_for``), in ``polygon`` (in ``polygon_crs``; the map's view) when given: the
    faults whose place meets it, found among the features around it. One row per fault: the
    check, the feature (``fid``, ``label``), the other feature when two are involved, a measure (overlap and gap area in m², undershoot
    and duplicate-point distance in m), a detail (the validity reason, the unknown code) and
    where (the overlap's or gap's shape, the undershoot's gap as a line, else a point on the
    feature or the feature), in the storage CRS; with ``limit``, the first ``limit`` of each
    check (overlaps and gaps largest first). Summary: features checked, faults by check (all
    of them), faults listed, the overlaps' and gaps' areas in all (m²)."""
    layer = city.layer(layer_id)
    applicable = checks_for(layer)
    chosen = _chosen(checks, applicable, layer)
    min_area_m2 = params.number(min_area_m2, "min_area_m2", 0.0, MAX_GAP_M2)
    max_gap_m2 = params.number(max_gap_m2, "max_gap_m2", 0.0, MAX_GAP_M2, low_open=True)
    tolerance_m = params.distance(tolerance_m, "tolerance_m", maximum=MAX_TOLERANCE_M)
    if min_area_m2 > max_gap_m2:
        raise params.InvalidParameter("min_area_m2 must not be larger than max_gap_m2")
    if limit is not None:
        limit = int(params.number(limit, "limit", 1, MAX_LIMIT))
    values = {
        "min_area_m2": min_area_m2, "max_gap_m2": max_gap_m2, "tolerance_m": tolerance_m,
        "limit": limit,
    }  # fmt: skip
    with city.engine.begin() as conn:
        area = None if polygon is None else params.polygon(conn, city, polygon, polygon_crs)
        if area is not None:
            # the features meeting the area and those around it (``NEAR_MARGIN_M``, more than
            # the largest tolerance): a fault that meets the area involves only such features,
            # so each is found as over the whole layer
            stage_geometry(conn, "_area", area, local_srid(city))
        near = None if area is None else "_area"
        stage(conn, city, "_features", layer, {"label": _label(city, layer)}, near=near)
        counted = "quality_count" if area is None else "quality_count_in_area"
        features = int(frame(conn, counted).iloc[0, 0])
        # in an area, every fault of its features is read, then those in the area listed
        listing = {**values, "limit": None} if area is not None else values
        totals: dict[str, int] = {}
        areas: dict[str, float] = {}
        frames = []
        for check in chosen:
            for found in _run(conn, city, layer, check, listing, near):
                if len(found):
                    totals[check] = totals.get(check, 0) + int(found["found"].iloc[0])
                    if "found_m2" in found:
                        areas[check] = float(found["found_m2"].iloc[0])
                kept = found.drop(columns=[c for c in ("found", "found_m2") if c in found])
                frames.append(_labelled(kept, check))
        prov = provenance(
            conn,
            city,
            "data_quality",
            {
                "layer": layer_id,
                "checks": list(chosen),
                **values,
                "polygon": params.describe(area, city),
            },
            [layer],
            method="PostGIS in the local CRS: ST_IsValidDetail; equal shapes by ST_Equals; "
            "overlaps by ST_Intersection of the polygons cut into pieces of at most 64 "
            "vertices; gaps as the interior rings of ST_Union; undershoots as line ends "
            "within the tolerance of another line and more than 1 cm from every line",
        )
    found = _frame(frames, city.definition.storage_crs)
    if area is not None:
        # the faults whose place meets the area (one without a place: none), counted before
        # each check's first ``limit`` are kept
        inside = gpd.GeoSeries([area], crs=city.local_crs).to_crs(found.crs).iloc[0]
        found = found[found.geometry.notna() & found.intersects(inside)]
        totals = {c: int((found["check"] == c).sum()) for c in chosen}
        areas = {c: float(found.loc[found["check"] == c, "measure"].sum()) for c in chosen}
        if limit is not None:
            found = found.groupby("check", sort=False).head(limit)
        found = found.reset_index(drop=True)
    by_check = {c: totals.get(c, 0) for c in chosen}
    summary = {
        "layer": layer_id,
        "features": features,
        "checks": list(chosen),
        "faults": sum(by_check.values()),
        "listed": len(found),
        "limit": limit,
        "by_check": by_check,
        "overlap_m2": areas.get("overlap", 0.0),
        "gap_m2": areas.get("gap", 0.0),
    }
    return AnalysisResult(
        found, city.definition.storage_crs, {"measure": "the row's unit (m² or m)"}, prov, summary
    )


def _chosen(checks: Sequence[str] | None, applicable: Iterable[str], layer: LayerDef) -> tuple:
    """The checks asked for, each one that applies to ``layer`` (InvalidParameter otherwise)."""
    allowed = tuple(applicable)
    if checks is None:
        return allowed
    if isinstance(checks, str) or not isinstance(checks, Sequence) or not checks:
        raise params.InvalidParameter(f"checks must be a non-empty list of {list(CHECKS)}")
    for check in checks:
        if check not in allowed:
            raise params.InvalidParameter(
                f"check {check!r} does not apply to layer {layer.id!r} "
                f"({layer.geometry_type}); its checks: {list(allowed)}"
            )
    return tuple(c for c in allowed if c in checks)


# each check's SQL (``analysis/sql/<name>.sql``); duplicates by the layer's kind of geometry
_SQL = {
    "empty": "quality_empty",
    "invalid": "quality_invalid",
    "overlap": "quality_overlaps",
    "gap": "quality_gaps",
    "undershoot": "quality_undershoots",
}


def _run(
    conn: Connection,
    city: City,
    layer: LayerDef,
    check: str,
    values: dict[str, Any],
    near: str | None,
) -> list[gpd.GeoDataFrame]:
    """The faults of one check: frames of its rows, each row with how many the check found
    (``found``) (``near``: the staged area the features were staged around)."""
    if check == "unknown_code":
        return _unknown_codes(conn, city, layer, near, values["limit"])
    points = layer.geometry_type.removeprefix("Multi") == "Point"
    if check == "duplicate":
        sql = "quality_duplicate_points" if points else "quality_duplicate_shapes"
    else:
        sql = _SQL[check]
    return [geo_frame(conn, city, sql, values)]


def _unknown_codes(
    conn: Connection, city: City, layer: LayerDef, near: str | None, limit: int | None
) -> list[gpd.GeoDataFrame]:
    """``unknown_code`` faults of each coded field the caller may read: a classification's
    codes its crosswalk does not map (else its table lacks), a standard class field's codes
    its table lacks."""
    readable = {f.name for f in visible_fields(city.role, layer)}
    cls = layer.classification
    out = []
    for field, codes in field_codes(layer, city.code_tables).items():
        if field not in readable or cls is None:
            continue
        if field == cls.field:
            known = native_code_known(layer, city.code_tables, city.catalog.root)
        else:
            listed = {c.code for c in codes}
            known = listed.__contains__
        conn.exec_driver_sql("DROP TABLE IF EXISTS _coded")
        columns = {"label": _label(city, layer), "code": field}
        stage(conn, city, "_coded", layer, columns, near=near)
        unknown = [c for c in frame(conn, "quality_codes")["code"] if not known(c.strip())]
        if unknown:
            found = geo_frame(
                conn, city, "quality_unknown_codes", {"codes": unknown, "limit": limit}
            )
            found["detail"] = [f"{field}={code}" for code in found["detail"]]
            out.append(found)
    return out


def _label(city: City, layer: LayerDef) -> str | None:
    """The layer's label field, when the caller may read it."""
    label = layer.label_field
    return label if label in {f.name for f in visible_fields(city.role, layer)} else None


def _labelled(found: gpd.GeoDataFrame, check: str) -> gpd.GeoDataFrame:
    """``found`` with every column of ``COLUMNS``, its check and its measure's unit."""
    found = found.copy()
    found.insert(0, "check", check)
    for column in ("other_fid", "other_label", "measure", "detail", "label"):
        if column not in found:
            found[column] = None
    found["unit"] = [
        UNITS.get(check) if m is not None and m == m else None for m in found["measure"]
    ]
    return found


def _frame(frames: list[gpd.GeoDataFrame], crs: str) -> gpd.GeoDataFrame:
    """The faults of every check in one frame of ``COLUMNS`` and geometry."""
    parts = [f for f in frames if len(f)]
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    found = pd.concat(parts, ignore_index=True)
    found["fid"] = found["fid"].astype("Int64")
    found["other_fid"] = found["other_fid"].astype("Int64")
    return gpd.GeoDataFrame(found[[*COLUMNS, "geometry"]], geometry="geometry", crs=crs)
