"""Checks of one edited feature against its layer definition; every fault is listed.

Geometry goes through the loader's own checks (``ingest.geometry.check_geometries``): the
edit's CRS to the storage CRS, inside the city's extent, repaired the way a load repairs (and
reported), cast to the layer's geometry type.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.crs.transform import resolve_crs
from digitalcity.db.schema import storage_is_geographic
from digitalcity.ingest import geometry as geometry_checks
from digitalcity.ingest.geometry import check_geometries
from digitalcity.query.crs_ref import CRSRef

INT64 = 2**63
_MULTI = {
    "Point": shapely.multipoints,
    "LineString": shapely.multilinestrings,
    "Polygon": shapely.multipolygons,
}


@dataclass(frozen=True)
class Fault:
    """What is wrong with an edit, in English and Chinese (the edit form shows it in the
    page's language; API clients get the request's, ``lang=`` or ``Accept-Language``)."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def about(self, prefix_en: str, prefix_zh: str) -> Fault:
        """The fault with what it concerns in front (``feature 2: ...``)."""
        return Fault(f"{prefix_en}{self.en}", f"{prefix_zh}{self.zh}")


@dataclass
class Checked:
    """A feature ready to write: field values (only those given), the geometry in the storage
    CRS (None when not given), what was repaired, and the faults (empty when writable)."""

    values: dict[str, Any] = field(default_factory=dict)
    geometry: shapely.Geometry | None = None
    repaired: bool = False
    faults: list[Fault] = field(default_factory=list)

    def fault(self, en: str, zh: str) -> None:
        self.faults.append(Fault(en, zh))


# what a field's value must be, by field type (en, zh)
_EXPECTED = {
    "string": ("text", "文本"),
    "integer": ("a whole number (64-bit)", "整数（64位）"),
    "float": ("a finite number", "有限的数值"),
    "boolean": ("true or false", "true 或 false"),
    "date": ("a date (YYYY-MM-DD)", "日期（YYYY-MM-DD）"),
    "datetime": ("an RFC 3339 timestamp", "RFC 3339 时间戳"),
}


def _value(f: FieldDef, value: Any) -> tuple[Any, tuple[str, str] | None]:
    """The value as the column holds it, or what it must be (en, zh)."""
    if value is None:
        return None, None
    kind = f.type
    if kind == "string":
        return (
            (str(value), None)
            if isinstance(value, str) and "\x00" not in value
            else (None, _EXPECTED["string"])
        )
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64
        return (value, None) if ok else (None, _EXPECTED["integer"])
    if kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value), None) if ok and math.isfinite(value) else (None, _EXPECTED["float"])
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, _EXPECTED["boolean"])
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)), None
        except ValueError:
            return None, _EXPECTED["date"]
    try:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None, _EXPECTED["datetime"]
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)), None


def check_properties(
    layer: LayerDef,
    role: Role,
    properties: Any,
    codes: dict[str, CodeTable],
    out: Checked,
) -> None:
    if properties is None:
        return
    if not isinstance(properties, dict):
        out.fault("properties must be a JSON object", "properties 必须是 JSON 对象")
        return
    writable = {f.name: f for f in visible_fields(role, layer)}
    cls = layer.classification
    for name, value in properties.items():
        definition = writable.get(name)
        if definition is None:  # unknown and hidden alike: a hidden field is not admitted to
            out.fault(f"{name!r}: no such field in {layer.id}", f"{name!r}：本图层没有此字段")
            continue
        if definition.read_only or definition.derived:  # derived: kept from its source field
            out.fault(f"{name!r}: read-only", f"{name!r}：只读字段，不能修改")
            continue
        cast, expected = _value(definition, value)
        if expected:
            title = definition.title.zh
            out.fault(
                f"{name!r}: {value!r} is not {expected[0]}", f"{title}：{value!r} 不是{expected[1]}"
            )
            continue
        if cls is not None and name == cls.field and cast is not None:
            table = codes.get(cls.system)
            code = cls.normaliser(str(cast))
            if table is not None and code not in table:
                out.fault(
                    f"{name!r}: {value!r} is not a code of {cls.system}",
                    f"{definition.title.zh}：{value!r} 不在代码表 {cls.system} 中",
                )
                continue
        out.values[name] = cast


def check_geometry(
    layer: LayerDef, city: CityDef, geometry: Any, crs: CRSRef, out: Checked
) -> None:
    if not isinstance(geometry, dict) or "type" not in geometry:
        out.fault("geometry must be a GeoJSON geometry object", "几何必须是 GeoJSON 几何对象")
        return
    try:
        geom = shape(geometry)
    except (
        ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.ShapelyError
    ) as exc:  # fmt: skip
        why = str(exc)[:200] or type(exc).__name__
        out.fault(f"geometry cannot be read: {why}", f"无法读取几何：{why}")
        return
    if geom.is_empty:
        out.fault("geometry is empty", "几何为空")
        return
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        out.fault("geometry has non-finite coordinates", "几何含有非有限的坐标")
        return
    if crs.swap_axes:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    source = resolve_crs(f"EPSG:{crs.srid}", None)
    geographic = storage_is_geographic(city)
    result = check_geometries(
        np.array([geom], dtype=object), source, city, layer.geometry_type, geographic
    )
    if result.rejected:
        reason = result.rejected[0]
        out.fault(f"geometry: {reason}", f"几何：{geometry_reason_zh(reason, city)}")
        return
    out.geometry = as_layer_type(layer, result.geometry[0])
    out.repaired = bool(result.repaired)


def as_layer_type(layer: LayerDef, geom: shapely.Geometry) -> shapely.Geometry:
    """A single shape as a one-part multi-shape for a layer of multi-shapes."""
    if layer.geometry_type.startswith("Multi") and not geom.geom_type.startswith("Multi"):
        return _MULTI[geom.geom_type]([geom])
    return geom


# The geometry checks' reasons (``ingest.geometry``, shared with the loader, whose reports are
# English) as an edit form shows them in Chinese, by the reason each begins with.
_REASONS_ZH = (
    (geometry_checks.MISSING, "几何缺失或无法读取"),
    (geometry_checks.EMPTY, "几何为空"),
    (geometry_checks.OUT_OF_RANGE, "坐标超出所声明坐标系的范围"),
    (geometry_checks.NOT_TRANSFORMED, "坐标无法转换到存储坐标系"),
    (geometry_checks.FAR_OUTSIDE, "远在{city}的范围之外"),
    (geometry_checks.UNREPAIRABLE, "几何无效且无法修复"),
)
_HINTS_ZH = (
    (geometry_checks.SWAPPED_HINT, "（x 与 y 似乎写反了）"),
    (geometry_checks.METRES_HINT, "（坐标看起来是米，而不是度）"),
)


def geometry_reason_zh(reason: str, city: CityDef) -> str:
    """``reason`` (a geometry check's, in English) in Chinese; one not known here keeps its
    English words after a Chinese lead."""
    for start, zh in _REASONS_ZH:
        if reason.startswith(start):
            hints = "".join(hint for mark, hint in _HINTS_ZH if mark in reason)
            return zh.format(city=city.title.zh) + hints
    if reason.endswith(" layer") and geometry_checks.DOES_NOT_FIT in reason:
        kind, target = reason.removesuffix(" layer").split(geometry_checks.DOES_NOT_FIT, 1)
        return f"{kind} 不符合本图层的几何类型 {target}"
    return f"几何有误（{reason}）"


def check_feature(
    layer: LayerDef,
    city: CityDef,
    role: Role,
    feature: Any,
    crs: CRSRef,
    codes: dict[str, CodeTable],
    *,
    needs_geometry: bool,
) -> Checked:
    """A GeoJSON Feature (or a merge patch of one, ``needs_geometry=False``) checked."""
    out = Checked()
    if not isinstance(feature, dict):
        out.fault("a feature must be a JSON object", "要素必须是 JSON 对象")
        return out
    if feature.get("type", "Feature") != "Feature":
        out.fault("type must be Feature", "type 必须是 Feature")
    check_properties(layer, role, feature.get("properties"), codes, out)
    if "geometry" in feature and feature["geometry"] is not None:
        check_geometry(layer, city, feature["geometry"], crs, out)
    elif needs_geometry or "geometry" in feature:
        out.fault("geometry is required", "缺少几何")
    return out
