"""What a drafted layer is and what its features are called and found by, read off names:
its ``kind`` off the file's (or layer's) name; its name and address columns off theirs,
drafted as ``label_field``, ``search_fields`` and a map ``[label]``.

A column is a feature's name when its name says so (``name``, ``名称``, ``site_name``,
``学校名称``, ``label``; an area's unit: ``district``, ``区县``; on a line layer also a
street's name: ``street``, ``路名``), never a person's (``owner_name``, ``姓名``, ``联系人``:
no map labels people). It is an address when
its name says that (``address``, ``addr_street``, ``location``, ``地址``, ``门牌``, ``坐落``;
on a point or area layer also a street's name). Only a name is drawn on the map; cards and
search hits are titled by the name, else the address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from digitalcity.catalog.draft.density import DRAFT_ZOOMS
from digitalcity.catalog.draft.drafts import LayerDraft

# best first: the first pattern a column matches ranks it
_NAMES = (
    re.compile(r"(?i)^(name|名称|名字|地名|mc|title|标题)$"),
    re.compile(r"(?i)^(label|标注|注记)$"),
    re.compile(r"(?i)(^|_)name($|_)|名称$|^名称|地名"),
    # an area named by the unit it is: a district layer's "district", 区县, 乡镇, 社区
    re.compile(
        r"(?i)^(district|county|township|town|village|neighbou?rhood|community|"
        r"区|区县|县|乡镇|街道|社区|村|小区)$"
    ),
)
_STREETS = re.compile(r"(?i)(^|_)(street|road|st)(_?name)?$|路名|道路名|街道名|街路")
_ADDRESSES = re.compile(r"(?i)(^|_)(address|addr|full_?address|location)($|_)|地址|门牌|坐落")
# a column about people: their names and contacts, and the staff who edited a record (a GIS
# export's created_user, last_edited_user); never a map label, and drafted staff-only
_PEOPLE = re.compile(
    r"(?i)owner|contact|user|editor|person|creator|phone|(^|_)tel($|_)|mobile|e_?mail|"
    r"id_?card|ssn|姓名|联系|负责人|法人|户主|权利人|经办|电话|手机|邮箱|身份证"
)

# a layer's kind by the words of its file's or layer's name, the first kind matched: zoning
# before districts ("ZoningDistricts"), districts before census ("districts_census2020")
_KINDS = (
    ("planning", r"zoning|zone_?plan|land_?use_?plan|控规|规划|容积率|用地规划"),
    ("boundary", r"boundar|district|admin|neighbo|ward|行政|区划|边界|街道|乡镇|县界|市界"),
    ("population", r"census|demograph|population|(^|_)pop(_|$)|人口|普查|网格人口"),
    (
        "landuse",
        r"parcel|cadast|land_?use|landuse|(^|_)lots?(_|$)|open_?space|dltb|"
        r"宗地|地块|地籍|用地|土地|绿地|公园|三调|图斑|地类",
    ),
    (
        "infrastructure",
        r"road|street|centerline|centreline|highway|transit|subway|metro|bus|rail|bridge|"
        r"pipe|sewer|drain|hydrant|消火栓|water_?main|utilit|pole|light|infra|school|hospital|"
        r"clinic|health|fire|police|librar|municipal|station|shelter|facilit|道路|路网|管线|管网|"
        r"消防|学校|医院|卫生|设施|车站|地铁|公交|桥",
    ),
    ("basemap", r"building|hydro|water|river|lake|basemap|建筑|房屋|水系|河流|湖"),
)


# a column of a quantity per area: a choropleth's proper field (a count per unit is not)
_DENSITY = re.compile(r"(?i)(^|_)dens(ity)?($|_)|per_?(km2|sq)|/km|密度")


def density_field(fields: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """The first numeric field whose column's name says it is a density: (field, column)."""
    return next(
        (
            (name, column)
            for name, column, kind in fields
            if kind in ("integer", "float") and _DENSITY.search(split_words(column))
        ),
        None,
    )


# a field's unit, when its column's name writes it (first match; none guessed from a bare
# "area" or "height", whose unit differs by country and source, nor for shares and rates,
# written as fractions or as percentages; a population only by the bare name: POPU_URB is a
# share, in Xiamen's census columns)
_UNITS = (
    ("persons/km²", r"(pop|人口).*(dens|密度)|人口密度"),
    ("km²", r"km2|km²|sq_?km|平方公里|平方千米"),
    ("ft²", r"sq_?ft|sqft|ft2|ft²|平方英尺"),
    ("m²", r"(^|_)(m2|sqm|sq_m|area_m)($|_)|m²|平方米"),
    ("ha", r"(^|_)(ha|hectares?)($|_)|公顷"),
    ("km", r"(^|_)km($|_)|公里|千米"),
    ("ft", r"(^|_)(ft|feet)($|_)|英尺"),
    ("m", r"_m$|（米）|\(m\)|\(米\)"),
    ("persons", r"^(pop|popu|population|人口|总人口|常住人口|户籍人口)$"),
)


def unit_of(column: str, kind: str) -> str | None:
    """The unit a numeric column's name writes (``catalog.units``), else None."""
    if kind not in ("integer", "float"):
        return None
    words = split_words(column).lower()
    return next((unit for unit, pattern in _UNITS if re.search(pattern, words)), None)


def layer_words(layer: LayerDraft) -> str:
    """A drafted layer's names in lower case: its id, its file's stem, its layer's name in
    the file and its file's in an archive (camel case split by underscores)."""
    parts = (layer.id, Path(layer.path).stem, layer.layer or "", layer.member or "")
    return " ".join(split_words(p).lower() for p in parts if p)


def layer_kind(layer: LayerDraft) -> str:
    """The kind a layer's names say it is; ``boundary`` when they say none."""
    words = layer_words(layer)
    return next((kind for kind, pattern in _KINDS if re.search(pattern, words)), "boundary")


# a label drawn from the first zoom whose densest tile holds at most this many features. Real
# Cambridge: street centre lines 595 at z14, 218 at z15, where their hand-written labels
# start; fire stations 8 at z10
LABEL_FEATURES = 500


@dataclass(frozen=True)
class Naming:
    """A drafted layer's names: its ``name`` field (its map label) and ``address`` field
    (None: none found), its ``search_fields``, and the zoom its map label starts at."""

    name: str | None
    address: str | None
    search_fields: tuple[str, ...]
    label_min_zoom: int

    @property
    def label_field(self) -> str | None:
        """What cards and search hits are titled by: the name, else the address."""
        return self.name or self.address


def split_words(column: str) -> str:
    """``column`` with its camel case split by underscores: "StreetName" -> "Street_Name"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", column)


def about_people(column: str) -> bool:
    """Whether a column's name says it holds a person's name or contact (``_PEOPLE``)."""
    return bool(_PEOPLE.search(split_words(column)))


def _rank(column: str, patterns: tuple[re.Pattern[str], ...]) -> int | None:
    if about_people(column):
        return None
    words = split_words(column)
    return next((n for n, p in enumerate(patterns) if p.search(words)), None)


def _best(
    fields: list[tuple[str, str, str]],
    patterns: tuple[re.Pattern[str], ...],
    unless: re.Pattern[str] | None = None,
) -> str | None:
    """The field whose text column ranks first under ``patterns`` (ties: the first), leaving
    out columns that match ``unless``."""
    ranked = [
        (rank, n, name)
        for n, (name, column, kind) in enumerate(fields)
        if kind == "string"
        and not (unless and unless.search(split_words(column)))
        and (rank := _rank(column, patterns)) is not None
    ]
    return min(ranked)[2] if ranked else None


def label_zoom(counts: dict[int, int]) -> int:
    """The first zoom whose densest tile holds at most ``LABEL_FEATURES`` features."""
    zooms = sorted(counts) or [DRAFT_ZOOMS[0]]
    return next((z for z in zooms if counts.get(z, 0) <= LABEL_FEATURES), zooms[-1])


def naming(
    fields: list[tuple[str, str, str]],
    geometry_type: str,
    text_id: str | None,
    counts: dict[int, int],
) -> Naming:
    """The names of a layer with ``fields`` ((field, source column, type)), of
    ``geometry_type``, whose ids are the text codes of field ``text_id`` (None: not text),
    whose densest tiles hold ``counts`` (zoom -> features). A street's name names a line,
    but is the address of a point or an area."""
    if "LineString" in geometry_type:
        name = _best(fields, (*_NAMES, _STREETS))
        address = _best(fields, (_ADDRESSES,))
    else:
        name = _best(fields, _NAMES, unless=_STREETS)
        address = _best(fields, (_ADDRESSES, _STREETS))
    searched = tuple(dict.fromkeys(f for f in (name, address, text_id) if f))
    return Naming(name, address, searched, label_zoom(counts))
