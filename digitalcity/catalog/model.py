"""The layer and city model: what a ``layers/<city>/*.toml`` file may say, validated.

Every model is frozen; the registry built from them is immutable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from digitalcity.catalog.cartography import DefaultOn, LabelDef, StyleDef
from digitalcity.catalog.codes import code_rewriter

AccessLevel = Literal["public", "internal", "restricted"]
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
SourceFormat = Literal[
    "geojson",
    "topojson",
    "shapefile",
    "gpkg",
    "filegdb",
    "flatgeobuf",
    "kml",
    "mapinfo",
    "gml",
    "dxf",
    "csv",
    "xlsx",
    "ods",
    "geotiff",
    "geoparquet",
    "zip",  # an archive: the format of the data file inside (``catalog.archives``)
]
FORMAT_BY_SUFFIX: dict[str, SourceFormat] = {
    "geojson": "geojson",
    "json": "geojson",
    "topojson": "topojson",
    "shp": "shapefile",
    "gpkg": "gpkg",
    "gdb": "filegdb",  # an Esri File Geodatabase: a folder
    "fgb": "flatgeobuf",
    "kml": "kml",
    "kmz": "kml",  # zipped KML, as Google Earth and 奥维互动地图 save it (GDAL's LIBKML reads it)
    "tab": "mapinfo",
    "mif": "mapinfo",
    "gml": "gml",
    "dxf": "dxf",  # a CAD drawing: its entities, with their CAD layer in "Layer"
    "csv": "csv",
    "tsv": "csv",  # columns separated by tabs (``catalog.delimited_text``)
    "txt": "csv",  # Excel's "Text (Tab delimited)" and "Unicode Text"
    "xlsx": "xlsx",
    "ods": "ods",
    "tif": "geotiff",
    "tiff": "geotiff",
    "parquet": "geoparquet",  # read by pyarrow (``ingest.geoparquet``)
    "geoparquet": "geoparquet",
}


# formats common in Chinese surveying and planning that GDAL (and so this loader) cannot read,
# with what to export them as
UNREADABLE_FORMATS = {
    "dwg": "AutoCAD DWG (CASS drawings): save it as DXF from CAD",
    "wt": "MapGIS points: export them to Shapefile from MapGIS",
    "wl": "MapGIS lines: export them to Shapefile from MapGIS",
    "wp": "MapGIS areas: export them to Shapefile from MapGIS",
    "mdb": "an Esri personal geodatabase: export it to a File Geodatabase or GeoPackage",
    "rar": "a RAR archive: repack it as .zip",
    "7z": "a 7-Zip archive: repack it as .zip",
}


def unreadable_format(path: str) -> str | None:
    """What a file of a known unreadable format is and what to export it as, or None."""
    return UNREADABLE_FORMATS.get(_suffix(path))


def format_of(path: str) -> SourceFormat | None:
    """The format a file's suffix names (None for none we read)."""
    return FORMAT_BY_SUFFIX.get(_suffix(path))


def _suffix(path: str) -> str:
    """A path's suffix, lower case, without its dot (a folder's trailing slash ignored)."""
    return path.lower().rstrip("/\\").rsplit(".", 1)[-1]


Aggregate = Literal["master", "sum", "count", "count_other", "mode_other", "first"]
# what a field's value becomes when a feature is split along a line: the same on every part,
# shared out by each part's share of the area (polygons) or length (lines), or kept by the
# part that keeps the feature's id (the largest) and empty on the new parts
SplitPolicy = Literal["duplicate", "ratio", "keep"]
# when features are merged into one: the value of the feature whose id the merged one keeps,
# or the sum of theirs
MergePolicy = Literal["keep", "sum"]

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
RESERVED_COLUMNS = {"fid", "geom"}
NUMERIC = {"integer", "float"}


def _identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{what} {value!r} must be lower-case letters, digits and '_', starting with a letter"
        )
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Titles(Frozen):
    """A text in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en


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
        _identifier(value, "field name")
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


class MasterRow(Frozen):
    """Which row of a one-to-many join carries the record's own values.

    Rows whose ``column`` is in ``values`` are master rows (e.g. a condominium's
    building row); when a key has none, the single row or the first row is used.
    """

    column: str
    values: tuple[str, ...]


class JoinDef(Frozen):
    """A table joined onto the layer's rows by key or by row order."""

    name: str
    path: str
    how: Literal["key", "row_order"] = "key"
    left_key: str | None = None
    right_key: str | None = None
    row_id: str | None = None
    master: MasterRow | None = None
    encoding: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _identifier(value, "join name")

    @model_validator(mode="after")
    def _keys_for_key_join(self) -> JoinDef:
        if self.how == "key" and not (self.left_key and self.right_key):
            raise ValueError(f"join {self.name!r}: a key join needs left_key and right_key")
        return self


MAX_SNAP_M = 1.0  # the largest snapping tolerance (m): further than that is a redraw, not a snap


class AttachmentsDef(Frozen):
    """Files kept with a layer's features (photos, scanned deeds: 附件): who may read them (an
    access level, on top of the layer's), and the largest file in MB. The layer's editors add
    and remove them."""

    access: AccessLevel = "internal"
    max_mb: int = Field(default=20, ge=1, le=100)


class EditingDef(Frozen):
    """Editing of a layer through the API and ``City``: on or off, the roles that may, whether
    its features keep attachments, the snapping tolerance in metres (``snap_m``: a drawn
    vertex that close to a neighbouring feature's vertex is put exactly on it; 0: none) and
    whether edits may make features overlap (``no_overlaps``)."""

    enabled: bool = True
    roles: tuple[Literal["planner", "land_bureau", "admin"], ...] = ("land_bureau", "admin")
    attachments: AttachmentsDef | None = None
    snap_m: float = Field(default=0, ge=0, le=MAX_SNAP_M)
    # topology rule (拓扑规则, polygon layers): an edit may not make a feature overlap another
    # by more than it did (or, for a new one, at all) beyond the tolerance (m², ellipsoid)
    no_overlaps: bool = False
    overlap_tolerance_m2: float = Field(default=0.1, ge=0, le=10_000)


SEARCH_PRIORITY_BY_KIND: dict[str, int] = {
    "landuse": 80,  # parcels and their addresses
    "boundary": 75,  # districts, neighbourhoods
    "planning": 70,
    "basemap": 60,
    "population": 50,
    "infrastructure": 40,
}


class SourceDef(Frozen):
    """Where a layer's rows come from and how to read them."""

    path: str
    format: SourceFormat | None = None
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    xy: str | None = None  # one column holding "x,y" (a POI export's "118.089,24.479")
    xy_order: Literal["xy", "yx"] = "xy"  # "yx": the column holds "latitude,longitude"
    id_field: str | None = None
    # id_field holds text codes: ids derived from them (``ingest.text_ids``), stable across loads
    id_from_text: bool = False
    band: int = Field(default=1, ge=1)  # a GeoTIFF's band, read as cells (attribute "value")
    member: str | None = None  # the data file inside a .zip archive holding several
    joins: tuple[JoinDef, ...] = ()

    @property
    def resolved_format(self) -> SourceFormat:
        """``format``, else the one its path's suffix names; for a ``.zip`` archive, the
        format of its ``member``, or "zip" (the format of its one data file, known once it is
        unpacked: ``catalog.archives``)."""
        if self.format:
            return self.format
        archive = self.path.lower().endswith(".zip")
        if archive and self.member is None:
            return "zip"
        found = format_of(self.member if archive and self.member else self.path)
        if found is None:
            advice = unreadable_format(self.path)
            if advice:
                raise ValueError(f"{self.path!r} cannot be read: {advice}")
            raise ValueError(f"cannot tell the format of {self.path!r}: set source.format")
        return found

    def file_format(self, read: Path) -> SourceFormat | None:
        """The format of ``read``, the file the rows are read from: the source's own, or
        for an archive the data file unpacked from it (``catalog.archives``)."""
        return self.format or format_of(read.name)

    @property
    def location_columns(self) -> list[str]:
        """The columns that locate a table's rows: ``wkt``, ``xy``, or ``x`` and ``y``."""
        return [c for c in (self.wkt, self.xy, self.x, self.y) if c]

    @model_validator(mode="after")
    def _csv_needs_geometry(self) -> SourceDef:
        fmt = self.resolved_format
        ways = [bool(self.wkt), bool(self.xy), bool(self.x or self.y)]
        if fmt in ("csv", "xlsx", "ods") and not (self.wkt or self.xy or (self.x and self.y)):
            raise ValueError("a CSV or spreadsheet source needs wkt, xy, or both x and y columns")
        if sum(ways) > 1 or bool(self.x) != bool(self.y):
            raise ValueError("locate rows one way: wkt, xy, or both x and y")
        if self.id_from_text and not self.id_field:
            raise ValueError("id_from_text needs id_field, the column of codes")
        names = [j.name for j in self.joins]
        if len(names) != len(set(names)):
            raise ValueError("join names must be unique")
        return self


class Crosswalk(Frozen):
    """Maps the native code to a standard code system through a data file."""

    to: str
    file: str
    level1_field: str
    level2_field: str


class CodeRewrite(Frozen):
    """A rule of a classification's ``normalise``: a native code that ``match`` (a regular
    expression) matches whole is written as ``to`` (``\\1``: its first group)."""

    match: str
    to: str

    @model_validator(mode="after")
    def _compiles(self) -> CodeRewrite:
        try:
            pattern = re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"match {self.match!r} is not a regular expression: {exc}") from None
        for group in re.findall(r"\\(\d+)|\\g<(\w+)>", self.to):
            number, name = group
            if (number and int(number) > pattern.groups) or (
                name and not name.isdigit() and name not in pattern.groupindex
            ):
                raise ValueError(f"to {self.to!r} names a group {self.match!r} lacks")
        return self


class Classification(Frozen):
    """How a layer's features are classified, coloured and explained in legends.
    ``normalise``: rules that write a native code as the code table and crosswalk do (the
    first that matches applies), for sources that write codes their own way."""

    field: str
    system: str
    crosswalk: Crosswalk | None = None
    normalise: tuple[CodeRewrite, ...] = ()

    @property
    def normaliser(self) -> Callable[[str], str]:
        """A native code as the code table and crosswalk write it (white space stripped)."""
        return _rewriter(tuple((rule.match, rule.to) for rule in self.normalise))


@lru_cache(maxsize=64)
def _rewriter(rules: tuple[tuple[str, str], ...]) -> Callable[[str], str]:
    return code_rewriter(rules)


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
        return _identifier(value, "layer id")

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
            _identifier(self.theme, "theme")
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


class CityRoles(Frozen):
    """Which layers play which part in planning queries (identify, analyses)."""

    parcels: str | None = None
    zoning: str | None = None
    overlays: tuple[str, ...] = ()
    population: str | None = None
    streets: str | None = None
    hydrants: str | None = None
    districts: str | None = None
    facilities: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="facility type -> layer ids, e.g. school -> [...]"
    )
    facility_titles: dict[str, Titles] = Field(
        default_factory=dict,
        description="zh/en titles of facility types (keys of facilities) the package does not know",
    )
    life_circle: tuple[str, ...] = Field(
        default=(), description="facility layers of the 15-minute life circle (15分钟生活圈)"
    )
    hydrants_in_service: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="field -> values of hydrants counted as in service"
    )
    residential_class: str | None = Field(
        default=None, description="standard level-1 code of residential land (dasymetric mask)"
    )
    zoning_rules: str | None = Field(
        default=None, description="rule table (under layers/) of uses permitted per district"
    )


class CityDef(Frozen):
    """A city: its titles, its storage CRS and its local metric CRS for measurement."""

    id: str
    title: Titles
    storage_crs: str
    local_crs: str
    country: str | None = None
    center: tuple[float, float] | None = None
    default_zoom: float = 12
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="lon/lat extent (WGS84) used to reject far-away coordinates"
    )
    demo: bool = True
    roles: CityRoles = Field(default_factory=CityRoles)
    land_use_primary: Literal["native", "standard"] = Field(
        default="standard",
        description="the land-use classification maps, legends and cards show first, for layers "
        "with a crosswalk: 'native' (the city's own codes, e.g. a US assessor's use classes, "
        "coloured by their level-1 class) or 'standard' (the national classes it maps to)",
    )
    # -- own source directory (issue 13): see catalog/sources.py --
    source_dir: str | None = Field(
        default=None,
        description="the city's source folder: absolute, or relative to the source data dir",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _identifier(value, "city id")

    @property
    def schema_name(self) -> str:
        """The PostgreSQL schema holding the city's layer tables."""
        return self.id
