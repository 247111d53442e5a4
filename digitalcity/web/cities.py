"""What the map pages need to know about cities and layers, as JSON-ready dicts.

Everything comes from the catalog and goes through ``digitalcity.catalog.access``: a layer or
field the role may not see is absent. Coordinates are lon/lat (CRS84).
"""

from __future__ import annotations

from typing import Any

from digitalcity.catalog import Catalog, CityDef, LayerDef, Role, visible_fields, visible_layer
from digitalcity.catalog.access import may_read_attachments, may_write_attachments
from digitalcity.catalog.codes import CodeTable
from digitalcity.catalog.descriptions import Descriptions
from digitalcity.catalog.field_codes import field_codes
from digitalcity.catalog.ids import collection_id
from digitalcity.catalog.roles import facility_titles
from digitalcity.coordinates import crs_for_pages
from digitalcity.planning.card import CONTROL_MEANINGS


def city_summary(city: CityDef, lang: str = "en") -> dict[str, Any]:
    """Title, centre (lon, lat), default zoom and lon/lat bbox of a city."""
    return {
        "id": city.id,
        "title": city.title.get(lang),
        "titles": {"zh": city.title.zh, "en": city.title.en},
        "center": list(city.center) if city.center else None,
        "zoom": city.default_zoom,
        "bbox": list(city.bbox) if city.bbox else None,
        "has_parcels": city.roles.parcels is not None,
        "local_crs": city.local_crs,  # the CRS a city's CAD drawings are most likely in
    }


def cities(catalog: Catalog, lang: str = "en") -> list[dict[str, Any]]:
    """Every city of the catalog, in declaration order."""
    return [city_summary(c, lang) for c in catalog.cities.values()]


def _described(descriptions: Descriptions) -> dict[str, dict[str, Any]]:
    """Every code of the system that has a plain description, in zh and en."""
    out = {}
    for code in descriptions.table:
        zh = descriptions.describe(code.code, "zh")
        if zh is not None:
            out[code.code] = {"zh": zh, "en": descriptions.describe(code.code, "en")}
    return out


def _editing(layer: Any, fields: Any, codes: dict[str, CodeTable]) -> dict[str, Any]:
    """What the caller may write on an editable layer: the fields (visible, not read-only, not
    derived) with their types, the code list of the classification field (zh/en names), the
    geometry type the map's shape editor draws (stored as given, CRS84 on the wire) and the
    snapping tolerance in metres (0: the editor does not snap)."""
    cls = layer.classification
    writable = [f for f in fields if not f.read_only and not f.derived]
    coded = field_codes(layer, codes)
    return {
        "geometry": layer.geometry_type,
        "snap_m": layer.editing.snap_m,
        "fields": [{"name": f.name, "type": f.type} for f in writable],
        "codes": (
            {cls.field: [[c.code, c.name_zh, c.name_en] for c in coded[cls.field]]}
            if cls and cls.field in coded and cls.field in {f.name for f in writable}
            else {}
        ),
    }


def _names(layer: LayerDef, visible: set[str]) -> dict[str, str] | None:
    """The field a card's title reads in each language (``LayerDef.name_field``); None
    without one the caller may see."""
    names = {lang: layer.name_field(lang, visible) for lang in ("zh", "en")}
    return {lang: f for lang, f in names.items() if f} or None


def layer_meta(
    catalog: Catalog,
    city_id: str,
    role: Role,
    descriptions: dict[str, Descriptions] | None = None,
    codes: dict[str, CodeTable] | None = None,
) -> dict[str, Any]:
    """Per layer ``role`` may see: collection id, titles (zh/en), kind, label field and the
    visible fields with titles and units; plus the city's roles (parcels, zoning, ...).
    With ``descriptions`` (the static site, which has no card endpoint), the zoning layer
    carries its districts' plain descriptions."""
    city = catalog.city(city_id)
    layers: dict[str, Any] = {}
    for layer in catalog.city_layers(city_id):
        if not visible_layer(role, layer):
            continue
        fields = visible_fields(role, layer)
        names = {f.name for f in fields}
        layers[layer.id] = {
            "collection": collection_id(layer),
            "title": {"zh": layer.title.zh, "en": layer.title.en},
            "kind": layer.kind,
            "access": layer.access,
            "geometry": layer.geometry_type,
            "label": layer.label_field if layer.label_field in names else None,
            "names": _names(layer, names),
            "search": [n for n in layer.search_fields if n in names],
            "semantics": {k: v for k, v in layer.semantics.items() if v in names},
            "fields": {
                f.name: {"title": {"zh": f.title.zh, "en": f.title.en}, "unit": f.unit}
                for f in fields
            },
        }
        editing = layer.editing
        if editing is not None and editing.enabled and role in editing.roles:
            layers[layer.id]["editing"] = _editing(layer, fields, codes or {})
        if may_read_attachments(role, layer):  # files kept with its features (附件)
            layers[layer.id]["attachments"] = {"write": may_write_attachments(role, layer)}
    roles = city.roles
    zoning = layers.get(roles.zoning) if roles.zoning else None
    cls = catalog.layer(city_id, roles.zoning).classification if roles.zoning and zoning else None
    if zoning is not None and cls is not None and descriptions and cls.system in descriptions:
        zoning["descriptions"] = _described(descriptions[cls.system])
    return {
        "city": city_summary(city),
        "local_crs": crs_for_pages(city.local_crs),  # the pointer's coordinates (planner)
        "layers": layers,
        "roles": {
            "parcels": roles.parcels if roles.parcels in layers else None,
            "zoning": roles.zoning if roles.zoning in layers else None,
            "overlays": [x for x in roles.overlays if x in layers],
            "population": roles.population if roles.population in layers else None,
            # the street network walking catchments follow (the planner's catchments tool)
            "streets": roles.streets if roles.streets in layers else None,
            "life_circle": [x for x in roles.life_circle if x in layers],
            "facilities": sorted(
                {x for ids in roles.facilities.values() for x in ids} & set(layers)
            ),
        },
        "controls": list(CONTROL_MEANINGS),
        "facility_titles": {
            kind: {"zh": title.zh, "en": title.en}
            for kind, title in facility_titles(
                city, {x.id: x.title for x in catalog.city_layers(city_id) if x.id in layers}
            ).items()
        },
    }
