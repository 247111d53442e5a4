"""The closed set of semantic keys a layer may declare in ``[semantics]``.

Code refers to meanings, never to column names; a key outside this set is a
definition error (``check-layers``), so a typo cannot silently become "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SemanticKey:
    """One meaning: what it is, who needs it and on which kind of layer."""

    key: str
    meaning_en: str
    meaning_zh: str
    used_by: str
    kinds: tuple[str, ...] = ()


def _k(key: str, en: str, zh: str, used_by: str, *kinds: str) -> SemanticKey:
    return SemanticKey(key, en, zh, used_by, kinds)


SEMANTIC_KEYS: dict[str, SemanticKey] = {
    s.key: s
    for s in (
        _k("name", "feature name", "名称", "search, cards, districts"),
        _k("address", "street address", "地址", "search, parcel card", "landuse"),
        _k("parcel_id", "parcel identifier", "宗地编号", "search, parcel card", "landuse"),
        _k("land_area", "parcel land area (unit from the field)", "用地面积", "FAR", "landuse"),
        _k("floor_area", "gross floor area (unit from the field)", "建筑面积", "FAR", "landuse"),
        _k("stories", "number of storeys", "层数", "height compliance", "landuse"),
        _k("year_built", "year built", "建成年份", "parcel card", "landuse"),
        _k("land_use", "land-use code", "用地代码", "card", "landuse"),
        _k("land_use_description", "land-use label", "用地说明", "card", "landuse"),
        _k("zone_code", "zoning district code", "分区代码", "compliance, card", "planning"),
        _k("zone_name", "zoning district name", "分区名称", "card", "planning"),
        _k("max_far", "maximum floor-area ratio", "最大容积率", "compliance", "planning"),
        _k(
            "max_far_residential",
            "maximum residential FAR",
            "住宅最大容积率",
            "compliance",
            "planning",
        ),
        _k("max_height", "maximum height (unit from the field)", "限高", "compliance", "planning"),
        _k("min_open_space", "minimum open space share", "最小开敞空间", "card", "planning"),
        _k("controls_note", "note on the controls", "管控说明", "compliance", "planning"),
        _k("controls_source", "source of the controls", "管控来源", "compliance", "planning"),
        _k("population", "resident count", "人口", "population analyses", "population"),
    )
}


# The zoning controls a card shows, in order (each a key above, on the zoning layer).
CONTROL_KEYS = ("max_far", "max_far_residential", "max_height", "min_open_space")


def unknown_semantic_keys(keys: list[str] | tuple[str, ...]) -> list[str]:
    """Keys not in :data:`SEMANTIC_KEYS`, sorted."""
    return sorted(k for k in keys if k not in SEMANTIC_KEYS)
