"""The layer and city model: what a ``layers/<city>/*.toml`` file may say, validated. The
parts of a layer's definition live in modules of their own (``source_def``, ``classification``,
``editing_def``; the city's in ``city_def``) and are named here too.

Every model is frozen; the registry built from them is immutable.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from digitalcity.catalog.base import IDENTIFIER, AccessLevel, Frozen, Titles, identifier
from digitalcity.catalog.cartography import DefaultOn, LabelDef, StyleDef
from digitalcity.catalog.city_def import CityDef, CityRoles
from digitalcity.catalog.classification import Classification, CodeRewrite, Crosswalk
from digitalcity.catalog.editing_def import MAX_SNAP_M, AttachmentsDef, EditingDef
from digitalcity.catalog.formats import (
    FORMAT_BY_SUFFIX,
    UNREADABLE_FORMATS,
    SourceFormat,
    format_of,
    unreadable_format,
)
from digitalcity.catalog.source_def import JoinDef, MasterRow, SourceDef

__all__ = [
    "FORMAT_BY_SUFFIX",
    "IDENTIFIER",
    "KIND_TITLES",
    "MAX_SNAP_M",
    "NUMERIC",
    "RESERVED_COLUMNS",
    "SEARCH_PRIORITY_BY_KIND",
    "UNREADABLE_FORMATS",
    "AccessLevel",
    "Aggregate",
    "AttachmentsDef",
    "CityDef",
    "CityRoles",
    "Classification",
    "CodeRewrite",
    "Crosswalk",
    "EditingDef",
    "FieldDef",
    "FieldType",
    "Frozen",
    "GeometryType",
    "JoinDef",
    "LayerDef",
    "LayerKind",
    "MasterRow",
    "MergePolicy",
    "Simplify",
    "SourceDef",
    "SourceFormat",
    "SplitPolicy",
    "Titles",
    "format_of",
    "unreadable_format",
]


LayerKind = Literal["landuse", "planning", "infrastructure", "population", "boundary", "basemap"]


# What each kind is called where layers are grouped by it: the maps' switchers and the API's
# HTML pages (the pages' scripts get this table in their config).
KIND_TITLES: dict[str, dict[str, str]] = {
    "landuse": {"zh": "土地利用", "en": "Land use"},
    "planning": {"zh": "规划", "en": "Planning"},
    "infrastructure": {"zh": "市政设施", "en": "Infrastructure"},
    "population": {"zh": "人口", "en": "Population"},
    "boundary": {"zh": "边界与底图", "en": "Boundaries & basemap"},
    "basemap": {"zh": "边界与底图", "en": "Boundaries & basemap"},
}


GeometryType = Literal[
    "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"
]


FieldType = Literal["string", "integer", "float", "boolean", "date", "datetime"]


Aggregate = Literal["master", "sum", "count", "count_other", "mode_other", "first"]


# what a field's value becomes when a feature is split along a line: the same on every part,
# shared out by each part's share of the area (polygons) or length (lines), or kept by the
# part that keeps the feature's id (the largest) and empty on the new parts
SplitPolicy = Literal["duplicate", "ratio", "keep"]


# when features are merged into one: the value of the feature whose id the merged one keeps,
# or the sum of theirs
MergePolicy = Literal["keep", "sum"]


RESERVED_COLUMNS = {"fid", "geom"}


NUMERIC = {"integer", "float"}


class FieldDef(Frozen):
    """One typed attribute column of a layer.

    ``source`` names the source column (``"Col"``) or a joined table's column
    (``"<join>.Col"``); it defaults to the field name.
    """

    name: str
    type: FieldType = "string"
    source: str | None = None
    title: Titles
    description: Titles | None = None
    unit: str | None = None
    queryable: bool = True
    access: AccessLevel = "public"
    aggregate: Aggregate = "master"
    derived: bool = False
    read_only: bool = False  # editing: the field is kept as loaded (e.g. an assessor's figure)
    # derived from another text field of the layer: its Chinese place names for English
    # readers (长宁区 → Changning District: digitalcity.romanise), written by loads and edits
    romanise: str | None = None
    split: SplitPolicy = "duplicate"  # editing: splitting a feature (README "Split and merge")
    merge: MergePolicy = "keep"  # editing: merging features

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        identifier(value, "field name")
        if value in RESERVED_COLUMNS:
            raise ValueError(f"field name {value!r} is reserved")
        return value

    @model_validator(mode="before")
    @classmethod
    def _romanised_is_derived(cls, data: Any) -> Any:
        """A romanised field is derived: no source column is read for it, and edits refuse
        a value for it (they write it from the field it romanises)."""
        if isinstance(data, dict) and data.get("romanise") is not None:
            if data.get("source") is not None:
                raise ValueError("a romanised field reads no source column: leave out 'source'")
            return {**data, "derived": True}
        return data

    @property
    def source_column(self) -> str:
        return self.source or self.name

    @model_validator(mode="after")
    def _shares_of_numbers(self) -> FieldDef:
        """Only numbers are shared out on a split or summed on a merge."""
        numeric = self.type in ("integer", "float")
        if self.split == "ratio" and not numeric:
            raise ValueError(f"field {self.name!r}: split = 'ratio' needs a number field")
        if self.merge == "sum" and not numeric:
            raise ValueError(f"field {self.name!r}: merge = 'sum' needs a number field")
        return self

    @property
    def join_name(self) -> str | None:
        """The join this field comes from, or None for the main source."""
        if "." in self.source_column:
            return self.source_column.split(".", 1)[0]
        return None

    @property
    def join_column(self) -> str:
        return self.source_column.split(".", 1)[-1]


SEARCH_PRIORITY_BY_KIND: dict[str, int] = {
    "landuse": 80,  # parcels and their addresses
    "boundary": 75,  # districts, neighbourhoods
    "planning": 70,
    "basemap": 60,
    "population": 50,
    "infrastructure": 40,
}


class Simplify(Frozen):
    """Tolerance in metres applied to tiles at zooms up to ``max_zoom``."""

    max_zoom: int = Field(ge=0, le=24)
    tolerance_m: float = Field(ge=0)


class LayerDef(Frozen):
    """A layer of a city: the one definition that drives table, API, tiles, legend and style."""

    id: str
    city: str
    title: Titles
    description: Titles | None = None
    kind: LayerKind
    geometry_type: GeometryType
    source: SourceDef
    fields: tuple[FieldDef, ...] = ()
    classification: Classification | None = None
    access: AccessLevel = "public"
    min_zoom: int = Field(default=10, ge=0, le=24)
    max_zoom: int = Field(default=22, ge=0, le=24)
    simplify: tuple[Simplify, ...] = ()
    detail_zoom: int | None = Field(
        default=None,
        ge=0,
        le=24,
        description="tiles below this zoom carry only the fields the map draws there "
        "(classification, graduated colour, the label's where it is drawn; a static site's "
        "also its label and search fields), keeping dense layers light; None: all fields",
    )
    label_field: str | None = None
    editing: EditingDef | None = Field(default=None, description="who may edit the layer")
    label: LabelDef | None = Field(
        default=None, description="map labels: field(s), zooms, placement, priority, size"
    )
    style: StyleDef = Field(default_factory=StyleDef, description="how the map draws the layer")
    default_on: DefaultOn = Field(
        default_factory=DefaultOn, description="shown when the planner / public map opens"
    )
    theme: str | None = Field(
        default=None,
        description="thematic fill of the public map (landuse, zoning, population...): "
        "layers with a theme are shown one at a time",
    )
    search_fields: tuple[str, ...] = ()
    search_priority: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="rank of the layer's search hits (100 first); default by kind",
    )
    time_field: str | None = None
    semantics: dict[str, str] = Field(
        default_factory=dict,
        description="what a field means to the platform, e.g. {address = 'address', "
        "land_area = 'land_area_sqft'}: code refers to meanings, never to column names",
    )
    order: int = 100

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return identifier(value, "layer id")

    @model_validator(mode="after")
    def _consistent(self) -> LayerDef:
        if self.min_zoom > self.max_zoom:
            raise ValueError(f"min_zoom {self.min_zoom} exceeds max_zoom {self.max_zoom}")
        if self.editing and self.editing.no_overlaps and "Polygon" not in self.geometry_type:
            raise ValueError("[editing] no_overlaps applies to polygon layers only")
        names = [f.name for f in self.all_fields]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"duplicate field names: {sorted(duplicates)}")
        joins = {j.name for j in self.source.joins}
        for f in self.fields:
            if f.join_name and f.join_name not in joins:
                raise ValueError(f"field {f.name!r} reads from unknown join {f.join_name!r}")
        known = set(names)
        label_fields = self.label.fields if self.label else ()
        for ref in (self.label_field, *label_fields, *self.search_fields, *self.semantics.values()):
            if ref and ref not in known:
                raise ValueError(f"{ref!r} is not a field of layer {self.id!r}")
        if self.time_field and self.field(self.time_field).type not in ("date", "datetime"):
            raise ValueError(f"time_field {self.time_field!r} must be a date or datetime field")
        if self.classification and self.classification.field not in known:
            raise ValueError(f"classification field {self.classification.field!r} is not a field")
        for f in self.fields:
            if f.romanise is not None and (
                f.romanise not in known
                or self.field(f.romanise).type != "string"
                or self.field(f.romanise).romanise is not None
                or f.type != "string"
            ):
                raise ValueError(
                    f"field {f.name!r} (a string) romanises {f.romanise!r}, which must be "
                    "another string field of the layer, itself read from the source"
                )
        if self.theme is not None:
            identifier(self.theme, "theme")
        if self.label and self.label.placement == "line" and "LineString" not in self.geometry_type:
            raise ValueError(f"label placement 'line' needs a line layer, not {self.geometry_type}")
        graduated = self.style.graduated
        if graduated and (
            graduated.field not in known or self.field(graduated.field).type not in NUMERIC
        ):
            raise ValueError(f"graduated field {graduated.field!r} must be a numeric field")
        if graduated and self.classification:
            raise ValueError("a layer is coloured by its classification or graduated, not both")
        if self.label and self.label.repeat and "Polygon" not in self.geometry_type:
            raise ValueError(f"label repeat applies to polygon layers, not {self.geometry_type}")
        return self

    def name_field(self, lang: str, visible: Container[str]) -> str | None:
        """The field naming a feature in ``lang`` (cards, search hits) among the fields a caller
        may see (``visible``): the map label's field for ``lang`` where the label reads
        ``label_field`` (a Chinese name's English form, ``FieldDef.romanise``), else
        ``label_field``; None when the caller may see neither."""
        field = self.label_field
        if field is None or field not in visible:
            return None
        if self.label is not None and field in self.label.fields:
            named = self.label.field_for(lang)[0]
            return named if named in visible else field
        return field

    @property
    def label_fields(self) -> tuple[str, ...]:
        """Fields a map label reads (tiles must carry them): ``[label]``, else ``label_field``."""
        if self.label:
            return self.label.fields
        return (self.label_field,) if self.label_field else ()

    @property
    def all_fields(self) -> tuple[FieldDef, ...]:
        """Declared fields plus those derived from the classification crosswalk."""
        cw = self.classification.crosswalk if self.classification else None
        if not cw:
            return self.fields
        derived = tuple(
            FieldDef(
                name=name,
                type="string",
                title=Titles(zh=label_zh, en=label_en),
                derived=True,
            )
            for name, label_zh, label_en in (
                (cw.level1_field, "标准用地一级类", "Standard land-use class, level 1"),
                (cw.level2_field, "标准用地二级类", "Standard land-use class, level 2"),
            )
        )
        return self.fields + derived

    def semantic(self, meaning: str) -> FieldDef | None:
        """The field that carries ``meaning`` (see ``semantics``), if the layer declares one."""
        name = self.semantics.get(meaning)
        return self.field(name) if name else None

    def field(self, name: str) -> FieldDef:
        for f in self.all_fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def qualified_id(self) -> str:
        return f"{self.city}.{self.id}"

    @property
    def search_rank(self) -> int:
        """The layer's search priority: its own, else its kind's (0-100, 100 first)."""
        if self.search_priority is not None:
            return self.search_priority
        return SEARCH_PRIORITY_BY_KIND.get(self.kind, 40)
