"""Running the analysis SQL: ``sql/*.sql`` files with bound parameters, over temporary tables
staged from the layer tables in the city's local metric CRS.

Staging is the only place a layer's table and columns enter SQL, through SQLAlchemy Core
(``layer_table()``, quoted identifiers): the ``.sql`` files name only the fixed temporary tables
(``_parcels``, ``_zones``, …) and columns aliased here. Temporary tables are dropped at commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import pyproj
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.types import NullType

from digitalcity.analysis.errors import InvalidParameter, LayerNotLoaded
from digitalcity.catalog import visible_fields
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.crs import epsg_code
from digitalcity.db.schema import layer_table, storage_srid

_STATEMENT_END = re.compile(r";\s*(?:\n|$)")
_TEMP_NAME = re.compile(r"^_[a-z][a-z0-9_]*$")
_BIND = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=64)
def read_sql(name: str) -> tuple[str, ...]:
    """The statements of ``digitalcity/analysis/sql/<name>.sql``: whole-line ``--`` comments
    dropped, split at a ``;`` that ends a line."""
    text = (
        resources.files("digitalcity.analysis")
        .joinpath("sql", f"{name}.sql")
        .read_text(encoding="utf-8")
    )
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in _STATEMENT_END.split(code) if s.strip())


def run(conn: Connection, name: str, params: Mapping[str, Any] | None = None) -> sa.CursorResult:
    """Execute every statement of ``name``.sql with ``params``; returns the last result."""
    result = None
    for statement in read_sql(name):
        text = sa.text(statement)
        names = set(_BIND.findall(statement))
        used = {k: v for k, v in (params or {}).items() if k in names}
        result = conn.execute(text, used)
    assert result is not None, f"{name}.sql holds no statement"
    return result


class CreateTableAs(Executable, ClauseElement):
    """``CREATE [TEMP] TABLE <name> AS <select>`` with the select's bound parameters.

    A temporary table (``schema`` None) is dropped at commit; its name starts with ``_``.
    """

    inherit_cache = False

    def __init__(self, name: str, select: sa.Select, schema: str | None = None) -> None:
        if schema is None and not _TEMP_NAME.match(name):
            raise ValueError(f"bad temporary table name {name!r}")
        self.name, self.select, self.schema = name, select, schema


@compiles(CreateTableAs)
def _compile_create_table_as(element: CreateTableAs, compiler: Any, **kw: Any) -> str:
    quote = compiler.preparer.quote
    body = compiler.process(element.select, **kw)
    if element.schema is None:
        return f"CREATE TEMP TABLE {quote(element.name)} ON COMMIT DROP AS {body}"
    return f"CREATE TABLE {quote(element.schema)}.{quote(element.name)} AS {body}"


def copy_table(
    conn: Connection, source: sa.TableClause, target: str, schema: str | None = None
) -> None:
    """Copy every row and column of ``source`` into the new table ``target``."""
    conn.execute(
        CreateTableAs(target, sa.select(sa.literal_column("*")).select_from(source), schema)
    )


def _raw(expr: Any) -> Any:
    """``expr`` without geoalchemy2's result wrapping (ST_AsEWKB), for server-side tables."""
    return sa.type_coerce(expr, NullType())


def local_srid(city: City) -> int:
    return epsg_code(city.local_crs)


def check_fields(city: City, layer: LayerDef, names: Sequence[str]) -> None:
    """InvalidParameter unless every name is a field of ``layer`` the city's role may read."""
    allowed = {f.name for f in visible_fields(city.role, layer)}
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidParameter(
            f"unknown field(s) {unknown} of layer {layer.id!r} (readable: {sorted(allowed)})"
        )


def stage(
    conn: Connection,
    city: City,
    name: str,
    layer: LayerDef,
    columns: Mapping[str, str | None] | None = None,
    *,
    table_name: str | None = None,
    where: Mapping[str, Sequence[Any]] | None = None,
    fids: Sequence[int] | None = None,
    dump: bool = False,
    subdivide: int | None = None,
    near: str | None = None,
) -> None:
    """Copy ``layer`` into the temporary table ``name`` (fid, geom in the local CRS, columns).

    ``columns`` maps alias → field name (None: a NULL text column); ``where`` keeps rows whose field is one of the values,
    ``fids`` the rows with these feature ids;
    ``table_name`` reads a kept version table instead of the current one; ``dump`` splits
    multi-geometries into one row per part (fid repeated); ``subdivide`` cuts polygons into
    pieces of at most that many vertices (faster overlays; pieces tile the original exactly);
    ``near`` names a staged table (geometries in the local CRS): only rows that meet its extent
    (plus ``NEAR_MARGIN_M``) are copied — a drawn polygon over a 494,676-cell population grid
    stages ~1 % of it (bench/raster: 2.9 s → see the README).
    Adds a GiST index and statistics.
    """
    columns = dict(columns or {})
    check_fields(city, layer, [*(c for c in columns.values() if c), *(where or {})])
    # a kept version when named; else the layer as the city reads it (now, or as of an instant)
    table = layer_table(layer, city.definition, table_name) if table_name else city.relation(layer)
    geom: Any = sa.func.ST_Transform(table.c.geom, local_srid(city))
    if dump:
        geom = sa.func.ST_Dump(geom).scalar_table_valued("geom")
    if subdivide is not None:
        geom = sa.func.ST_Subdivide(geom, subdivide)
    select = sa.select(
        table.c.fid,
        _raw(geom).label("geom"),
        *(
            (table.c[field] if field else sa.cast(sa.null(), sa.Text)).label(alias)
            for alias, field in columns.items()
        ),
    )
    for field, values in (where or {}).items():
        select = select.where(table.c[field].in_(list(values)))
    if fids is not None:
        select = select.where(table.c.fid.in_(list(fids)))
    if near is not None:
        select = select.where(sa.func.ST_Intersects(table.c.geom, _extent_of(near, city)))
    try:
        conn.execute(CreateTableAs(name, select))
    except sa.exc.ProgrammingError as exc:
        if isinstance(exc.orig, psycopg.errors.UndefinedTable):
            raise LayerNotLoaded(
                f"layer {layer.qualified_id} is not loaded ({table.name} missing): "
                f"run `digitalcity load {layer.city}`"
            ) from None
        raise
    quoted = conn.dialect.identifier_preparer.quote(name)
    conn.exec_driver_sql(f"CREATE INDEX ON {quoted} USING gist (geom)")
    conn.exec_driver_sql(f"ANALYZE {quoted}")


NEAR_MARGIN_M = 200.0  # metres: covers the bend of a local box's edges once in lon/lat


def _extent_of(staged: str, city: City) -> Any:
    """The extent of a staged table's geometries (local CRS), widened by ``NEAR_MARGIN_M`` and
    in the storage CRS, as a scalar sub-select (the layer's GiST index then applies)."""
    geom = sa.table(staged, sa.column("geom")).c.geom
    box = sa.func.ST_Expand(
        sa.func.ST_SetSRID(sa.func.ST_Extent(geom), local_srid(city)), NEAR_MARGIN_M
    )
    return sa.select(sa.func.ST_Transform(box, storage_srid(city.definition))).scalar_subquery()


def stage_geometry(conn: Connection, name: str, geom: shapely.Geometry, srid: int) -> None:
    """A one-row temporary table ``name`` (id 1, geom) holding ``geom`` (already in ``srid``)."""
    select = sa.select(
        sa.literal(1).label("id"),
        _raw(sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(geom), sa.LargeBinary), srid)).label(
            "geom"
        ),
    )
    conn.execute(CreateTableAs(name, select))


def frame(
    conn: Connection,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    geometry: str | None = None,
    crs: str | None = None,
) -> pd.DataFrame:
    """Rows of the last statement of ``name``.sql as a DataFrame, or a GeoDataFrame when
    ``geometry`` names a WKB column (decoded; its CRS is ``crs``)."""
    result = run(conn, name, params)
    data = pd.DataFrame(result.mappings().all(), columns=list(result.keys()))
    if geometry is None:
        return data
    geoms = shapely.from_wkb([None if g is None else bytes(g) for g in data[geometry]])
    return gpd.GeoDataFrame(
        data.drop(columns=[geometry]),
        geometry=gpd.GeoSeries(geoms, index=data.index),
        crs=pyproj.CRS.from_user_input(crs) if crs else None,
    )


def geo_frame(
    conn: Connection, city: City, name: str, params: Mapping[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Rows of ``name``.sql as a GeoDataFrame of its ``geom`` column, in the city's storage CRS;
    ``:storage_srid`` and ``:local_srid`` are bound along with ``params``."""
    return frame(
        conn, name, {**storage_params(city), **(params or {})}, geometry="geom",
        crs=city.definition.storage_crs,
    )  # fmt: skip


def storage_params(city: City) -> dict[str, int]:
    """The two SRIDs every SQL file may use: ``:storage_srid`` and ``:local_srid``."""
    return {"storage_srid": storage_srid(city.definition), "local_srid": local_srid(city)}
