"""A drafted layer's ``[semantics]``: what its fields mean to the analyses and cards (a
parcel's land and floor area, a zone's FAR and height limits, a unit's population), read off
the columns' names, on the kinds of layer each meaning belongs to (``catalog.semantics``)."""

from __future__ import annotations

import re

from digitalcity.catalog.draft.naming import Naming, about_people, split_words
from digitalcity.catalog.semantics import SEMANTIC_KEYS

_NUMBER = ("integer", "float")

# meaning -> (column name pattern, field types); the first field that matches carries it
_BY_NAME: dict[str, tuple[str, tuple[str, ...]]] = {
    "parcel_id": (
        r"(^|_)(parcel_?id|pin|map_?lot|ml|zddm|zdbh)$|宗地代码|宗地编号|地块编号|地块编码",
        ("string",),
    ),
    "land_area": (
        r"(land|lot|site|parcel)_?area|宗地面积|用地面积|土地面积|地块面积|(^|_)(zdmj|ydmj|tdmj)$",
        _NUMBER,
    ),
    "floor_area": (
        r"(floor|gross|building|bldg)_?area|建筑面积|(^|_)jzmj$",
        _NUMBER,
    ),
    "stories": (
        r"^(stories|storeys|floors|levels|num_?floors|building_?levels)$|层数|楼层数",
        _NUMBER,
    ),
    "year_built": (r"year_?built|built_?year|建成年份|建成年代|建造年份", _NUMBER),
    "max_far": (r"(^|_)(max_?)?far($|_)|容积率|(^|_)rjl$", _NUMBER),
    "max_height": (r"height|限高|建筑高度|(^|_)xg$", _NUMBER),
    "min_open_space": (r"open_?space|绿地率|(^|_)ldl$", _NUMBER),
    "population": (r"^(pop|popu|population|人口|总人口|常住人口)$", _NUMBER),
}


def semantics_of(
    fields: list[tuple[str, str, str]],
    kind: str,
    names: Naming,
    classified: str | None,
) -> dict[str, str]:
    """Meaning -> field for a layer of ``kind`` with ``fields`` ((field, source column,
    type)), its ``names`` (``draft.naming``) and its classified field (``classified``):
    only meanings that belong on that kind of layer, each field carrying one meaning."""
    found: dict[str, str] = {}
    if kind == "landuse":
        found.update({"address": names.address or "", "land_use": classified or ""})
    if kind == "planning":
        found.update({"zone_code": classified or "", "zone_name": names.name or ""})
    found = {k: v for k, v in found.items() if v}
    taken = set(found.values())
    for meaning, (pattern, types) in _BY_NAME.items():
        if kind not in SEMANTIC_KEYS[meaning].kinds or meaning in found:
            continue
        for name, column, field_type in fields:
            words = split_words(column).lower()
            if (
                name not in taken
                and field_type in types
                and not about_people(column)
                and (re.search(pattern, words) or re.search(pattern, name))
            ):
                found[meaning] = name
                taken.add(name)
                break
    return found
