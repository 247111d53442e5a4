"""A layer's ``[source]``: the file its rows come from, how to read and locate them, and the
tables joined onto them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from digitalcity.catalog.base import Frozen, identifier
from digitalcity.catalog.formats import SourceFormat, format_of, unreadable_format


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
        return identifier(value, "join name")

    @model_validator(mode="after")
    def _keys_for_key_join(self) -> JoinDef:
        if self.how == "key" and not (self.left_key and self.right_key):
            raise ValueError(f"join {self.name!r}: a key join needs left_key and right_key")
        return self


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
