"""What goes into a tile: which layers and fields a role sees at a zoom, and how much to simplify.

Everything here is derived from the catalog; nothing names a layer or a column.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from digitalcity.catalog import Catalog, CityDef, FieldDef, LayerDef, Role, visible_fields
from digitalcity.catalog.access import visible_layer
from digitalcity.tiles.tms import pixel_size

POINT_TYPES = {"Point", "MultiPoint"}
MVT_TYPES = {"string": "String", "date": "String", "datetime": "String", "boolean": "Boolean"}


@dataclass(frozen=True)
class LayerPlan:
    """One layer of a tile for one role: the layer and the fields written as properties."""

    layer: LayerDef
    fields: tuple[FieldDef, ...]


def plan_layer(layer: LayerDef, role: Role) -> LayerPlan | None:
    """The plan of ``layer`` for ``role``; None when the role may not see the layer."""
    if not visible_layer(role, layer):
        return None
    return LayerPlan(layer, visible_fields(role, layer))


def in_zoom(layer: LayerDef, z: int) -> bool:
    return layer.min_zoom <= z <= layer.max_zoom


def city_plans(
    catalog: Catalog, city_id: str, role: Role, loaded: Callable[[LayerDef], bool]
) -> tuple[LayerPlan, ...]:
    """Plans of every loaded layer of the city that ``role`` may see, bottom layer first."""
    plans = (plan_layer(layer, role) for layer in catalog.city_layers(city_id) if loaded(layer))
    return tuple(p for p in plans if p is not None)


def drawn_fields(layer: LayerDef, z: int, *, searchable: bool = False) -> set[str]:
    """Fields the maps need at zoom ``z`` below the layer's ``detail_zoom``: classification and
    graduated colour, and the label's fields at the zooms that draw the label.

    ``searchable`` (a static site, which has no API to search or to read a feature from): the
    label, name and search fields too, at every zoom. The API's maps search and read features
    through the API, so their tiles leave them out: Cambridge's densest z13 tile (7,069
    parcels) carried 202 KB of parcels deflated with addresses and map-lot ids, 113 without.
    """
    names: set[str] = set()
    if layer.style.graduated:
        names.add(layer.style.graduated.field)
    cls = layer.classification
    if cls:
        names.add(cls.field)
        if cls.crosswalk:
            names |= {cls.crosswalk.level1_field, cls.crosswalk.level2_field}
    if searchable:
        names |= {*layer.label_fields, *layer.search_fields}
        if layer.label_field:
            names.add(layer.label_field)
    elif layer.label is not None and layer.label.min_zoom <= z <= layer.label.max_zoom:
        names |= set(layer.label.fields)
    return names


def plan_at_zoom(plan: LayerPlan, z: int, *, searchable: bool = False) -> LayerPlan:
    """``plan`` at zoom ``z``: below the layer's ``detail_zoom`` only its drawn fields
    (``drawn_fields``).

    Measured on Cambridge's densest z13 tile (7,069 parcels): all 18 fields 658 KB gzipped,
    the drawn and searched ones 236 KB (a static site's), geometry alone 114 KB.
    """
    detail = plan.layer.detail_zoom
    if detail is None or z >= detail:
        return plan
    keep = drawn_fields(plan.layer, z, searchable=searchable)
    return LayerPlan(plan.layer, tuple(f for f in plan.fields if f.name in keep))


LABEL_POINTS = "-label"  # suffix of a layer's label-point MVT layer: no layer id has a hyphen


def label_points_layer(layer: LayerDef) -> str:
    """The name of the MVT layer holding ``layer``'s label points."""
    return layer.id + LABEL_POINTS


def has_label_points(layer: LayerDef) -> bool:
    """Whether the layer's labels are drawn from label points, one per feature at a point
    inside it (``ST_PointOnSurface``): polygon layers with point labels, unless the label
    ``repeat``s. MapLibre would otherwise place a polygon's label in every tile the polygon
    crosses, so a neighbourhood's name stood two or three times on one screen."""
    label = layer.label
    return (
        label is not None
        and label.placement == "point"
        and not label.repeat
        and "Polygon" in layer.geometry_type
    )


def label_zooms(layer: LayerDef) -> range:
    """Zooms whose tiles carry the layer's label points (empty without them)."""
    if not has_label_points(layer) or layer.label is None:
        return range(0)
    first = max(layer.min_zoom, layer.label.min_zoom)
    return range(first, min(layer.max_zoom, layer.label.max_zoom) + 1)


def label_fields(plan: LayerPlan) -> tuple[FieldDef, ...]:
    """The fields of ``plan``'s label points: the label's own, those the role sees."""
    names = set(plan.layer.label_fields)
    return tuple(f for f in plan.fields if f.name in names)


def at_zoom(
    plans: Iterable[LayerPlan], z: int, *, searchable: bool = False
) -> tuple[LayerPlan, ...]:
    """The plans whose layers are meant for zoom ``z`` (min_zoom..max_zoom), with the fields
    tiles carry at ``z`` (``plan_at_zoom``)."""
    return tuple(plan_at_zoom(p, z, searchable=searchable) for p in plans if in_zoom(p.layer, z))


def fieldset_key(plans: Iterable[LayerPlan]) -> str:
    """Short stable hash of the layers and property names in a tile (differs per role)."""
    text = ";".join(f"{p.layer.id}:{','.join(f.name for f in p.fields)}" for p in plans)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def finest_simplified_zoom(layer: LayerDef) -> int | None:
    """The highest zoom at which the layer is simplified; None for points or no ``simplify``."""
    if layer.geometry_type in POINT_TYPES or not layer.simplify:
        return None
    return max(s.max_zoom for s in layer.simplify)


def _scale(city: CityDef) -> float:
    """EPSG:3857 units per metre at the city's centre latitude (1 / cos φ)."""
    lat = city.center[1] if city.center else 0.0
    return 1.0 / max(math.cos(math.radians(lat)), 1e-6)


def tolerance(layer: LayerDef, city: CityDef, z: int) -> float:
    """Simplification tolerance for ``layer`` at zoom ``z``, in EPSG:3857 units (0: none).

    The layer's ``simplify`` entry for ``z`` (the one with the smallest ``max_zoom >= z``),
    in metres, is converted at the city's centre latitude; at zooms up to the finest entry
    the tolerance is at least half a screen pixel, so low zooms stay small. Above it, and
    for points, nothing is simplified (ST_AsMVTGeom still snaps to the 4096 grid).
    """
    finest = finest_simplified_zoom(layer)
    if finest is None or z > finest:
        return 0.0
    metres = min((s for s in layer.simplify if s.max_zoom >= z), key=lambda s: s.max_zoom)
    return max(metres.tolerance_m * _scale(city), pixel_size(z) / 2)


def simplified_zooms(layer: LayerDef) -> range:
    """Zooms at which a pre-simplified geometry is kept for the layer (may be empty)."""
    finest = finest_simplified_zoom(layer)
    if finest is None:
        return range(0)
    return range(layer.min_zoom, min(finest, layer.max_zoom) + 1)


def mvt_type(field: FieldDef) -> str:
    """TileJSON field type: String, Number or Boolean."""
    return MVT_TYPES.get(field.type, "Number")
