"""Layer tables derived from the catalog: names, columns, indexes.

A layer's current rows live in ``<city>.<layer>``; earlier versions are kept as
``<city>.<layer>__v<n>`` and a load builds ``<city>.<layer>__staging`` first.
"""

from __future__ import annotations

from functools import lru_cache

import pyproj
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection

from digitalcity.catalog.model import CityDef, FieldDef, LayerDef
from digitalcity.crs import epsg_code

SQL_TYPES: dict[str, sa.types.TypeEngine] = {
    "string": sa.Text(),
    "integer": sa.BigInteger(),
    "float": sa.Double(),
    "boolean": sa.Boolean(),
    "date": sa.Date(),
    "datetime": sa.DateTime(timezone=True),
}

STAGING_SUFFIX = "__staging"

# pg_attribute rather than information_schema.columns, whose view PostgreSQL plans afresh at
# every call (1-2 ms a lookup, four per load: a tenth of loading a layer of ten points)
_TABLE_COLUMNS = sa.text(
    "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = to_regclass(:qualified) AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum"
)


def table_columns(conn: Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type name) of each column of ``schema.table``, in order; none when there is
    no such table. Type names as PostgreSQL's catalog spells them: int8, text, geometry."""
    quote = conn.dialect.identifier_preparer.quote
    qualified = f"{quote(schema)}.{quote(table)}"
    return [(str(r[0]), str(r[1])) for r in conn.execute(_TABLE_COLUMNS, {"qualified": qualified})]


def row_etag_sql(relation: str) -> str:
    """SQL for a feature's ETag: the md5 of its whole row as text, for the row of
    ``relation`` (a quoted name or alias in the statement's FROM). ``ROW(r.*)``, not ``r``: a
    column named like its table would be read instead of the row (``x::text`` of a table
    ``x`` with a column ``x`` is that column)."""
    return f"md5(ROW({relation}.*)::text)"


def version_table_name(layer: LayerDef, version: int) -> str:
    return f"{layer.id}__v{version}"


def staging_table_name(layer: LayerDef) -> str:
    return f"{layer.id}{STAGING_SUFFIX}"


def storage_srid(city: CityDef) -> int:
    return epsg_code(city.storage_crs)


def storage_is_geographic(city: CityDef) -> bool:
    """Whether the city's storage CRS is in degrees (lon/lat), asked of PROJ once per CRS."""
    return _geographic(city.storage_crs)


@lru_cache(maxsize=32)
def _geographic(crs: str) -> bool:
    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def column_for(field: FieldDef) -> sa.Column:
    return sa.Column(field.name, SQL_TYPES[field.type], nullable=True)


_TABLES: dict[tuple[object, ...], sa.Table] = {}


def layer_table(
    layer: LayerDef, city: CityDef, name: str | None = None, *, primary_key: bool = True
) -> sa.Table:
    """The SQLAlchemy table of ``layer`` (the current table unless ``name`` is given).

    Current tables are memoised by their full shape, so SQLAlchemy's statement cache can
    reuse compiled SQL across requests.
    """
    srid = storage_srid(city)
    key = (
        city.schema_name,
        name or layer.id,
        primary_key,
        layer.geometry_type,
        srid,
        tuple((f.name, f.type) for f in layer.all_fields),
    )
    table = _TABLES.get(key) if name is None else None
    if table is None:
        table = sa.Table(
            name or layer.id,
            sa.MetaData(),
            sa.Column(
                "fid", sa.BigInteger(), primary_key=primary_key, autoincrement=False, nullable=False
            ),
            sa.Column(
                "geom",
                Geometry(layer.geometry_type, srid=srid, spatial_index=False),
                nullable=False,
            ),
            *(column_for(f) for f in layer.all_fields),
            schema=city.schema_name,
        )
        if name is None:  # staging tables get per-load indexes attached: never shared
            _TABLES[key] = table
    return table


def create_layer_table(conn: Connection, table: sa.Table) -> None:
    """Create a layer table with its geometries stored uncompressed (``STORAGE EXTERNAL``):
    large ones then cost no compression when written (COPY of 262k parcels: 1.15 → 0.89 s)
    nor decompression when read, and PostGIS reads their bounding box without the rest; the
    table grows by 5 %."""
    table.create(conn)
    quote = conn.dialect.identifier_preparer.quote
    store_uncompressed(conn, f"{quote(str(table.schema))}.{quote(table.name)}", ["geom"])


def store_uncompressed(conn: Connection, table: str, columns: list[str]) -> None:
    """``STORAGE EXTERNAL`` for ``columns`` of ``table`` (quoted, schema-qualified): values too
    large to stay inline go out of line uncompressed (see ``create_layer_table``)."""
    quote = conn.dialect.identifier_preparer.quote
    alters = ", ".join(f"ALTER COLUMN {quote(c)} SET STORAGE EXTERNAL" for c in columns)
    conn.exec_driver_sql(f"ALTER TABLE {table} {alters}")


def indexed_fields(layer: LayerDef) -> list[str]:
    """The attribute fields with a b-tree index: search fields and the classification code."""
    indexed = list(layer.search_fields)
    if layer.classification:
        indexed.append(layer.classification.field)
    return list(dict.fromkeys(indexed))


def load_statistics_columns(layer: LayerDef) -> list[str]:
    """The columns analysed as part of a load, before the new version goes live: those the
    platform's own queries filter and order on (geometry, feature id, indexed fields). The
    full ANALYZE (every column and the expression indexes) is autovacuum's: a column-list
    ANALYZE leaves the table's change counter as it is, so autovacuum still sees the load."""
    return ["fid", "geom", *indexed_fields(layer)]


def index_statements(table: sa.Table, layer: LayerDef, tag: str) -> list[sa.Executable]:
    """GiST on the geometry, b-tree on classification and search fields, and trigram GIN on
    text search fields (fuzzy and substring search, Chinese included).

    ``tag`` makes index names unique per version, so versions can be renamed freely.
    """
    statements: list[sa.Executable] = [
        sa.schema.CreateIndex(
            sa.Index(f"{layer.id}_{tag}_geom", table.c.geom, postgresql_using="gist")
        )
    ]
    for name in indexed_fields(layer):
        statements.append(
            sa.schema.CreateIndex(sa.Index(f"{layer.id}_{tag}_{name}", table.c[name]))
        )
    prep = sa.dialects.postgresql.dialect().identifier_preparer
    for name in layer.search_fields:
        if layer.field(name).type != "string":
            continue
        statements.append(
            sa.DDL(
                f"CREATE INDEX {prep.quote(f'{layer.id}_{tag}_{name}_trgm')} ON "
                f"{prep.quote(str(table.schema))}.{prep.quote(table.name)} "
                f"USING gin (lower({prep.quote(name)}) gin_trgm_ops)"
            )
        )
    return statements
