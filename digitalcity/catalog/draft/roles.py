"""The ``[roles]`` a drafted city's layers could play, suggested from their kinds, geometry
and names (as comments in ``city.toml``: only the staff know which layer is the parcels)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from digitalcity.catalog.draft.drafts import LayerDraft
from digitalcity.catalog.draft.naming import layer_kind, layer_words
from digitalcity.catalog.roles import ROLES

# role -> the words of a layer's name that make it the best candidate (any candidate else)
_PREFERRED = {
    "parcels": r"parcel|cadast|宗地|地块|地籍",
    "zoning": r"zoning(?!_?overlay)|控规|规划",
    "population": r"block|grid|网格|普查",
    "districts": r"district|neighbo|区|街道|乡镇",
    "streets": r"centerline|centreline|street|road|道路|路网",
    "hydrants": r"hydrant|消火栓|消防栓",
}
_OVERLAYS = r"overlay|叠加"  # overlay districts: a planning layer's name says so
_ONLY_PREFERRED = {"hydrants"}  # a point layer is not hydrants unless its name says so

# facility type (a key of catalog.roles.FACILITY_TITLES) -> the words of a layer's name
_FACILITIES = {
    "school": r"school|学校|中学|小学",
    "kindergarten": r"kindergarten|nursery|幼儿园",
    "hospital": r"hospital|医院",
    "clinic": r"clinic|卫生|诊所",
    "fire_station": r"fire_?station|firestation|消防站|消防队",
    "police_station": r"police|派出所|公安",
    "library": r"librar|图书馆",
    "subway_station": r"subway|metro|地铁",
    "bus_stop": r"bus_?(stop|shelter)|busstop|公交",
    "park": r"(^|_)park|公园",
}


def _fits(role: str) -> Callable[[LayerDraft], bool]:
    spec = ROLES[role]
    return lambda x: (
        x.geometry_type in spec.geometries and (not spec.kinds or layer_kind(x) in spec.kinds)
    )


def _named(layers: list[LayerDraft], words: str) -> list[str]:
    """The ids of ``layers`` whose names hold ``words`` (a regular expression)."""
    return [x.id for x in layers if re.search(words, layer_words(x))]


def suggested_roles(layers: list[LayerDraft]) -> list[str]:
    """``city.toml`` lines (TOML, to be uncommented) of the roles the drafted ``layers``
    could play: per role the layer whose name says so, else the first that fits the role's
    kinds and geometry; overlays and facility types by their layers' names."""
    chosen: dict[str, str] = {}
    for role, words in _PREFERRED.items():
        fitting = [x for x in layers if _fits(role)(x)]
        candidates = _named(fitting, words) or (
            [] if role in _ONLY_PREFERRED else [x.id for x in fitting]
        )
        if candidates:
            chosen[role] = candidates[0]
    lines = [f"{role} = {json.dumps(layer_id)}" for role, layer_id in chosen.items()]
    planning = [x for x in layers if _fits("overlays")(x) and x.id != chosen.get("zoning")]
    if overlays := _named(planning, _OVERLAYS):
        lines.append(f"overlays = {json.dumps(overlays)}")
    facilities = [x for x in layers if _fits("facilities")(x)]
    found = {kind: _named(facilities, words) for kind, words in _FACILITIES.items()}
    if any(found.values()):
        lines.append("[roles.facilities]")
        lines += [f"{kind} = {json.dumps(ids)}" for kind, ids in found.items() if ids]
    return lines
