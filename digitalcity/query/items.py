"""The items query: one layer's features filtered by bbox, CQL2, datetime and id, paged,
projected to the requested CRS and rendered as GeoJSON feature text inside PostGIS.

Used by the API (items, single feature, CSV) and by exports; the WHERE clause builder is the
one the tile query uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from digitalcity.catalog.access import Role, visible_fields
from digitalcity.catalog.model import IDENTIFIER, CityDef, FieldDef, LayerDef
from digitalcity.db.schema import layer_table, row_etag_sql, storage_srid
from digitalcity.errors import DigitalCityError
from digitalcity.history.asof import AS_OF_PARAM, as_of_relation
from digitalcity.query.cql2_ast import Expr
from digitalcity.query.cql2_key import filter_key
from digitalcity.query.crs_ref import CRS84, CRSRef
from digitalcity.query.filter_sql import FilterContext, compile_filter

Relation = sa.Table | sa.Subquery  # a layer's table, or the layer as of an instant

WGS84_REF = CRSRef(4326, False, CRS84)
MAX_CONCAT_ARGS = 100  # PostgreSQL functions take at most 100 arguments
MAX_TEMPLATES = 512
# Compiled SQL of page statements without a filter, by the request's shape (see page_sql).
# Entries keep their layer and city alive, so the ids in a key are never reused meanwhile.
_TEMPLATES: dict[tuple[Any, ...], tuple[LayerDef, CityDef, str, dict[str, Any]]] = {}


class QueryError(DigitalCityError):
    title = "Invalid query parameter"


def _key(field: FieldDef, first: bool) -> sa.ColumnElement:
    """A property's key as JSON text in an SQL string constant (``"name":``, after a comma
    unless ``first``); catalog identifiers only (see IDENTIFIER), which need no escaping."""
    assert IDENTIFIER.match(field.name), field.name
    return sa.literal_column(f"""'{"" if first else ","}"{field.name}":'""", sa.Text)


def properties_json(
    table: Relation, fields: list[FieldDef], *, nulls: bool = True
) -> sa.ColumnElement:
    """The GeoJSON ``properties`` object of a row as compact JSON text: each value as
    ``to_json`` writes it (what ``json_build_object`` writes too); a missing value is
    ``null`` or, without ``nulls``, left out (in GeoJSON the two mean the same).

    Concatenated text rather than ``json_build_object``, which puts spaces around every
    colon and after every comma: on the 246,900 SYNTHETIC roads (20 fields) a page of 1,000
    is 8 % smaller (693 against 755 KB) and PostgreSQL builds it in 5.4-6.2 ms against
    7.2-7.5, and GDAL 3.6 reads a whole-layer copy 7 % faster."""
    if not nulls:
        return _sparse_properties(table, fields)
    parts: list[sa.ColumnElement] = [sa.literal_column("'{'", sa.Text)]
    for n, f in enumerate(fields):
        parts += [
            _key(f, n == 0),
            sa.func.coalesce(_json_text(table, f), sa.literal_column("'null'")),
        ]
    parts.append(sa.literal_column("'}'", sa.Text))
    return sa.func.concat(*_nested(parts, MAX_CONCAT_ARGS, lambda group: sa.func.concat(*group)))


def _sparse_properties(table: Relation, fields: list[FieldDef]) -> sa.ColumnElement:
    """``properties`` without its null members: ``"name":value`` is NULL when the value is
    (``||`` with NULL), and ``concat_ws`` skips NULL arguments, commas included. Beyond one
    call's arguments the groups nest, an all-null group made NULL again (``nullif``)."""
    comma = sa.literal_column("','", sa.Text)
    members: list[sa.ColumnElement] = [_key(f, True).op("||")(_json_text(table, f)) for f in fields]
    groups = _nested(  # the separator takes one of a call's arguments
        members,
        MAX_CONCAT_ARGS - 1,
        lambda group: sa.func.nullif(sa.func.concat_ws(comma, *group), ""),
    )
    return sa.func.concat("{", sa.func.concat_ws(comma, *groups), "}")


def _json_text(table: Relation, field: FieldDef) -> sa.ColumnElement:
    """A field's value as JSON text, as ``to_json`` writes it (NULL for a missing value)."""
    return sa.cast(sa.func.to_json(table.c[field.name]), sa.Text)


def _nested(
    parts: list[sa.ColumnElement],
    width: int,
    group: Callable[[list[sa.ColumnElement]], sa.ColumnElement],
) -> list[sa.ColumnElement]:
    """``parts`` folded by ``group`` calls of at most ``width`` arguments, level by level,
    until one call can take them all."""
    while len(parts) > width:
        parts = [group(parts[i : i + width]) for i in range(0, len(parts), width)]
    return parts


def queryables(layer: LayerDef, role: Role) -> dict[str, FieldDef]:
    """Fields the caller may filter and sort on."""
    return {f.name: f for f in visible_fields(role, layer) if f.queryable}


@dataclass(frozen=True)
class ItemsQuery:
    """A validated request for features of one layer (all coordinates in their stated CRS)."""

    layer: LayerDef
    city: CityDef
    role: Role
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: CRSRef = WGS84_REF
    crs: CRSRef = WGS84_REF
    limit: int = 10
    offset: int = 0
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    filter: Expr | None = None
    filter_crs: CRSRef = WGS84_REF
    datetime: tuple[dt.datetime | None, dt.datetime | None] | None = None
    feature_id: int | None = None
    equals: tuple[tuple[str, str], ...] = field(default=())
    after: int | None = None  # keyset paging: features with a larger id (default order only)
    as_of: dt.datetime | None = None  # the layer as it was at this instant (history)

    @cached_property
    def table(self) -> Relation:
        """The current table, or the layer as of ``as_of`` (same columns; one object per
        query, so every clause names the same relation)."""
        if self.as_of is not None:
            return as_of_relation(self.layer, self.city, self.as_of)
        return layer_table(self.layer, self.city)

    def output_fields(self) -> list[FieldDef]:
        visible = visible_fields(self.role, self.layer)
        if self.properties is None:
            return list(visible)
        by_name = {f.name: f for f in visible}
        unknown = [p for p in self.properties if p not in by_name]
        if unknown:
            raise QueryError(f"unknown properties {unknown}; available: {sorted(by_name)}")
        return [by_name[p] for p in self.properties]

    # -- WHERE ------------------------------------------------------------------------------
    def where(self, table: Relation) -> list[sa.ColumnElement[bool]]:
        """Every condition of the request; shared with the tile query."""
        clauses: list[sa.ColumnElement[bool]] = []
        srid = storage_srid(self.city)
        if self.bbox is not None:
            clauses.append(sa.func.ST_Intersects(table.c.geom, self._envelope(srid)))
        if self.filter is not None:
            ctx = FilterContext(
                table,
                queryables(self.layer, self.role),
                srid,
                self.filter_crs.srid,
                self.filter_crs.swap_axes,
            )
            clauses.append(compile_filter(self.filter, ctx))
        if self.datetime is not None:
            clauses.append(self._datetime_clause(table))
        if self.feature_id is not None:
            clauses.append(table.c.fid == sa.bindparam("feature_id", self.feature_id))
        allowed = queryables(self.layer, self.role)
        for n, (name, value) in enumerate(self.equals):
            if name not in allowed:
                raise QueryError(f"unknown query parameter {name!r}")
            column = table.c[name]
            bound = sa.bindparam(f"equals_{n}", value, sa.String)
            clauses.append(column == sa.cast(bound, column.type))
        return clauses

    def _bbox_values(self) -> dict[str, float]:
        assert self.bbox is not None
        x1, y1, x2, y2 = self.bbox
        if self.bbox_crs.swap_axes:
            x1, y1, x2, y2 = y1, x1, y2, x2
        if x1 > x2 or y1 > y2:
            raise QueryError("bbox must be minx,miny,maxx,maxy with min ≤ max")
        return {"bbox_minx": x1, "bbox_miny": y1, "bbox_maxx": x2, "bbox_maxy": y2}

    def _envelope(self, srid: int) -> sa.ColumnElement:
        corners = [sa.bindparam(k, v, sa.Float) for k, v in self._bbox_values().items()]
        envelope = sa.func.ST_MakeEnvelope(*corners, self.bbox_crs.srid, type_=Geometry())
        if self.bbox_crs.srid != srid:
            envelope = sa.func.ST_Transform(envelope, srid, type_=Geometry())
        return envelope

    def _datetime_clause(self, table: Relation) -> sa.ColumnElement[bool]:
        name = self.layer.time_field
        visible = {f.name for f in visible_fields(self.role, self.layer)}
        if not name or name not in visible:
            raise QueryError(f"collection {self.layer.id!r} has no time property for datetime")
        column = table.c[name]
        start, end = self.datetime  # type: ignore[misc]
        clauses = []
        if start is not None:
            bound = sa.bindparam("datetime_start", start, sa.DateTime(timezone=True))
            clauses.append(column >= sa.cast(bound, column.type))
        if end is not None:
            bound = sa.bindparam("datetime_end", end, sa.DateTime(timezone=True))
            clauses.append(column <= sa.cast(bound, column.type))
        return sa.and_(*clauses) if clauses else sa.true()

    # -- SELECTs ----------------------------------------------------------------------------
    def _output_geometry(self, table: Relation) -> sa.ColumnElement:
        geom: sa.ColumnElement = table.c.geom
        if self.crs.srid != storage_srid(self.city):
            geom = sa.func.ST_Transform(geom, self.crs.srid, type_=Geometry())
        if self.crs.swap_axes:
            geom = sa.func.ST_FlipCoordinates(geom, type_=Geometry())
        return geom

    def _ordered(self, select: sa.Select, table: Relation) -> sa.Select:
        allowed = {f.name for f in visible_fields(self.role, self.layer)}
        order = []
        for name, descending in self.sortby:
            if name in ("id", "fid"):
                column = table.c.fid
            elif name in allowed:
                column = table.c[name]
            else:
                raise QueryError(f"cannot sort by unknown property {name!r}")
            order.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
        return select.order_by(*order, table.c.fid)

    @property
    def lists_nulls(self) -> bool:
        """Whether features list their null properties: on a single feature and on the first
        page of a result, where clients that take a layer's fields from the first page they
        read (GDAL 3.6, QGIS 3.22) find every field; later pages leave them out (a missing
        property is null in GeoJSON), which on the 246,900 SYNTHETIC roads, 20 sparse fields,
        halves a whole layer's JSON (187 to 96 MB): GDAL 3.6 copies it in 13.7-13.9 instead
        of 18.4 s (bench.api.clients)."""
        return self.feature_id is not None or (self.after is None and self.offset == 0)

    def _decimals(self) -> int:
        return 7 if self.crs.srid in (4326, 4490) else 3

    def feature_json_select(self, *, extra_row: bool = False) -> sa.Select:
        """One row per feature: its GeoJSON text built in PostGIS (``feature``) and its id;
        for one current feature (``feature_id``, no as-of) its ETag too (``etag``).
        ``extra_row`` fetches one row past the page, to tell whether a next page exists (the
        match count is ``count_select``'s, run only when the page cannot tell it)."""
        table = self.table
        fields = self.output_fields()
        # Text concatenation, not json_build_object over the geometry: casting ST_AsGeoJSON's
        # text to json would make PostgreSQL parse every coordinate again (about 2x slower).
        geometry = sa.func.coalesce(
            sa.func.ST_AsGeoJSON(self._output_geometry(table), self._decimals()), "null"
        )
        properties = properties_json(table, fields, nulls=self.lists_nulls)
        feature = sa.func.concat(
            '{"type":"Feature","id":',
            table.c.fid,
            ',"geometry":',
            geometry,
            ',"properties":',
            properties,
            "}",
        )
        columns = [feature.label("feature"), table.c.fid.label("fid")]
        if self.feature_id is not None and self.as_of is None:
            columns.append(self._etag(table).label("etag"))
        select = sa.select(*columns).where(*self.where(table), *self._keyset(table))
        return self._paged(self._ordered(select, table), extra_row)

    @staticmethod
    def _etag(table: Relation) -> sa.ColumnElement[str]:
        """The current row's ETag, read with its feature (so the two always agree): the same
        hash as ``editing.store.etag``, of the whole row as the table stores it."""
        quote = postgresql.dialect().identifier_preparer.quote
        return sa.literal_column(row_etag_sql(quote(str(getattr(table, "name", "")))))

    def _keyset(self, table: Relation) -> list[sa.ColumnElement[bool]]:
        """``fid > after``: a deep page starts at its key in the primary-key index, so its
        cost does not grow with depth as an OFFSET's does (which reads and drops every row
        before it)."""
        if self.after is None:
            return []
        if self.sortby:
            raise QueryError("after cannot be combined with sortby")
        return [table.c.fid > sa.bindparam("after_id", self.after, sa.BigInteger)]

    def _paged(self, select: sa.Select, extra_row: bool) -> sa.Select:
        limit = sa.bindparam("page_limit", self.limit + int(extra_row), sa.Integer)
        return select.limit(limit).offset(sa.bindparam("page_offset", self.offset, sa.Integer))

    def _values(self, extra_row: bool) -> dict[str, Any]:
        """The request's own values, bound by name into a statement of its shape."""
        values: dict[str, Any] = {
            "page_limit": self.limit + int(extra_row),
            "page_offset": self.offset,
        }
        if self.bbox is not None:
            values.update(self._bbox_values())
        if self.feature_id is not None:
            values["feature_id"] = self.feature_id
        if self.after is not None:
            values["after_id"] = self.after
        if self.as_of is not None:
            values[AS_OF_PARAM] = self.as_of
        if self.datetime is not None:
            start, end = self.datetime
            if start is not None:
                values["datetime_start"] = start
            if end is not None:
                values["datetime_end"] = end
        values.update((f"equals_{n}", value) for n, (_, value) in enumerate(self.equals))
        return values

    def _shape(self, extra_row: bool) -> tuple[Any, ...]:
        """Everything that decides the SQL text of a page statement, but not its bound values."""
        return (
            id(self.city),
            id(self.layer),
            self.role,
            self.bbox is not None,
            self.bbox_crs,
            self.crs,
            self.properties,
            self.sortby,
            None if self.datetime is None else tuple(v is None for v in self.datetime),
            self.feature_id is not None,
            self.after is not None,
            self.lists_nulls,
            self.as_of is not None,
            tuple(name for name, _ in self.equals),
            extra_row,
        )

    def page_sql(
        self, dialect: sa.Dialect, *, extra_row: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """SQL text and parameters of :meth:`feature_json_select`, for the DB-API driver.

        The text is compiled once per request shape and reused (building and compiling the
        statement costs more than a small page of results: 2-4 ms of the server's CPU). A
        CQL2 filter is part of the shape (``cql2_key.filter_key``), so a map panned with one
        filter compiles it once; a filter too long to keep is compiled per request. Every
        user value travels as a bound parameter either way.
        """
        return self._sql(
            "page", lambda: self.feature_json_select(extra_row=extra_row), dialect, extra_row
        )

    def count_sql(self, dialect: sa.Dialect) -> tuple[str, dict[str, Any]]:
        """SQL text and parameters of :meth:`count_select`, compiled once per request shape
        like :meth:`page_sql` (through SQLAlchemy's execution, a count of a full page of
        parcels cost 1.5 ms of the server's CPU)."""
        return self._sql("count", self.count_select, dialect, False)

    def _sql(
        self, kind: str, statement: Callable[[], sa.Select], dialect: sa.Dialect, extra_row: bool
    ) -> tuple[str, dict[str, Any]]:
        filtered: tuple[Any, ...] = ()
        if self.filter is not None:
            text = filter_key(self.filter)
            if text is None:  # too long to keep: compiled for this request alone
                compiled = statement().compile(dialect=dialect)
                return str(compiled), dict(compiled.params)
            filtered = (text, self.filter_crs)
        key = (kind, dialect.name, *self._shape(extra_row), *filtered)
        template = _TEMPLATES.get(key)
        if template is None:
            compiled = statement().compile(dialect=dialect)
            if len(_TEMPLATES) >= MAX_TEMPLATES:
                _TEMPLATES.clear()
            template = (self.layer, self.city, str(compiled), dict(compiled.params))
            _TEMPLATES[key] = template
        _, _, sql, defaults = template
        return sql, {**defaults, **self._values(extra_row)}

    def rows_select(self) -> sa.Select:
        """Plain rows (fid, WKT geometry, fields) for CSV and tabular output."""
        table = self.table
        columns: list[sa.ColumnElement] = [
            table.c.fid.label("id"),
            sa.func.ST_AsText(self._output_geometry(table), self._decimals()).label("wkt"),
        ]
        columns += [table.c[f.name] for f in self.output_fields()]
        select = sa.select(*columns).where(*self.where(table), *self._keyset(table))
        return self._paged(self._ordered(select, table), extra_row=False)

    def export_select(self) -> sa.Select:
        """Rows for file exports: fid, WKB geometry in the output CRS with x the easting or
        longitude (as GIS files store it, whatever the CRS's axis order), and the fields."""
        table = self.table
        geom: sa.ColumnElement = table.c.geom
        if self.crs.srid != storage_srid(self.city):
            geom = sa.func.ST_Transform(geom, self.crs.srid, type_=Geometry())
        columns: list[sa.ColumnElement] = [table.c.fid, sa.func.ST_AsBinary(geom).label("wkb")]
        columns += [table.c[f.name] for f in self.output_fields()]
        select = sa.select(*columns).where(*self.where(table))
        return self._paged(self._ordered(select, table), extra_row=False)

    def count_select(self) -> sa.Select:
        table = self.table
        return sa.select(sa.func.count()).select_from(table).where(*self.where(table))
