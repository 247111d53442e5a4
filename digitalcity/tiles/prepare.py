"""EPSG:3857 copies of layer tables for fast tiles, one per layer version.

Measured on Cambridge parcels (PostGIS 3.3): reading a z14 tile from a 3857 copy with the
geometry pre-simplified for that zoom takes ~30 ms against ~75 ms reprojecting and
simplifying per request. A copy is ``digitalcity_tiles."<city>__<layer>__v<version>"``;
building it takes the loader's per-layer advisory lock and checks the version is still
current, so a copy never holds another version's rows. Older copies are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog import Catalog, CityDef, LayerDef
from digitalcity.db.schema import store_uncompressed
from digitalcity.tiles.content import simplified_zooms, tolerance
from digitalcity.tiles.query import property_columns, qualified, quote, read_sql

log = logging.getLogger(__name__)

SCHEMA = "digitalcity_tiles"
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_CURRENT = sa.text(
    "SELECT version FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer AND is_current"
)
_TABLES = sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema")


def copy_name(layer: LayerDef, version: int) -> str:
    """Table name of a layer version's copy (hashed when longer than PostgreSQL allows)."""
    name = f"{layer.city}__{layer.id}__v{version}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(f"{layer.city}.{layer.id}".encode()).hexdigest()[:16]
    return f"t_{digest}__v{version}"


def copy_table(layer: LayerDef, version: int) -> str:
    """Quoted, schema-qualified name of the copy."""
    return qualified(SCHEMA, copy_name(layer, version))


def _copy_pattern(layer: LayerDef) -> re.Pattern[str]:
    stem = re.escape(copy_name(layer, 1)[: -len("1")])
    return re.compile(rf"^{stem}(\d+)$")


def existing_copies(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(_TABLES, {"schema": SCHEMA})}


def copy_exists(engine: Engine, layer: LayerDef, version: int) -> bool:
    """True when the copy of ``layer`` at ``version`` exists (read-only: works on a standby)."""
    try:
        with engine.connect() as conn:
            return copy_name(layer, version) in existing_copies(conn)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("cannot look for the tile copy of %s: %s", layer.qualified_id, exc)
        return False


def _build(
    conn: Connection, layer: LayerDef, city: CityDef, version: int, table: str | None = None
) -> None:
    target = copy_table(layer, version)
    source = qualified(city.schema_name, table or layer.id)
    columns = property_columns(layer.all_fields)
    zooms = simplified_zooms(layer)
    nulls = "".join(f", NULL::geometry AS {quote(f'g{z}')}" for z in zooms)
    values = "".join(f", ST_Simplify(m.geom, :tol_{z})" for z in zooms)
    params = {f"tol_{z}": tolerance(layer, city, z) for z in zooms}
    conn.exec_driver_sql(
        read_sql("copy_create.sql").format(
            target=target, source=source, columns=columns, simplified=nulls
        )
    )
    fill = read_sql("copy_fill.sql").format(
        target=target, source=source, columns=columns, simplified=values
    )
    # uncompressed: a tile on a large polygon then costs no decompression (the 119,241-vertex
    # road surface at z16: 6.3 -> 3.2 ms)
    store_uncompressed(conn, target, ["geom", *(f"g{z}" for z in zooms)])
    conn.execute(sa.text(fill), params)
    name = copy_name(layer, version)
    conn.exec_driver_sql(f"ALTER TABLE {target} ADD PRIMARY KEY (fid)")
    conn.exec_driver_sql(f"CREATE INDEX {quote(name[:56] + '_geom')} ON {target} USING gist (geom)")
    conn.exec_driver_sql(f"ANALYZE {target}")


def build_copy_in_load(
    conn: Connection, layer: LayerDef, city: CityDef, version: int, staging: str
) -> None:
    """In a load's transaction (``versions.swap_in``): the EPSG:3857 copy of ``version`` built
    from the staging table, and the copies of other versions dropped, so the copy commits
    with the load and the API never waits for one."""
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
    conn.execute(_LOCK, {"key": layer.qualified_id})
    tables = existing_copies(conn)
    if copy_name(layer, version) in tables:  # left by an aborted run of this version
        conn.exec_driver_sql(f"DROP TABLE {copy_table(layer, version)}")
    _build(conn, layer, city, version, staging)
    pattern = _copy_pattern(layer)
    for name in tables:
        found = pattern.match(name)
        if found and int(found[1]) != version:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified(SCHEMA, name)}")


def settle_copy(engine: Engine, layer: LayerDef, version: int) -> None:
    """VACUUM the tile copy of ``version`` once its load has committed: its rows were written
    by INSERT … SELECT, so without it the first tiles read after a load set every tuple's
    hint bits and write each page back (COPY FREEZE does this for the layer table). The
    loader pays one pass over the copy instead of the first map readers. A copy that is gone
    or busy is left to autovacuum."""
    target = copy_table(layer, version)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.execute(sa.select(sa.func.to_regclass(target))).scalar() is not None:
                conn.exec_driver_sql(f"VACUUM {target}")
    except sa.exc.SQLAlchemyError as exc:
        log.warning("tile copy %s not vacuumed: %s", target, exc)


def prepare_layer(engine: Engine, layer: LayerDef, city: CityDef, version: int) -> bool:
    """Make sure the copy of ``layer`` at ``version`` exists; drop older copies.

    Returns True when the copy exists afterwards, False when ``version`` is no longer
    current (a newer load won) or the database refused (e.g. no CREATE privilege).
    """
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        with engine.begin() as conn:
            conn.execute(_LOCK, {"key": layer.qualified_id})
            current = conn.execute(_CURRENT, {"city": layer.city, "layer": layer.id}).scalar()
            if current != version:
                return False
            tables = existing_copies(conn)
            if copy_name(layer, version) not in tables:
                _build(conn, layer, city, version)
            pattern = _copy_pattern(layer)
            for name in tables:
                found = pattern.match(name)
                if found and int(found[1]) != version:
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified(SCHEMA, name)}")
        return True
    except sa.exc.SQLAlchemyError as exc:
        log.warning("no EPSG:3857 tile copy of %s: %s", layer.qualified_id, exc)
        return False


def prepare_city(engine: Engine, catalog: Catalog, city_id: str) -> int:
    """Build the copies of every loaded layer of ``city_id`` at its current version (those
    that exist are kept); the number of layers with a current copy afterwards.

    The writers call this (``digitalcity load``, ``demo``, ``tiles seed``): the API never
    builds copies, it only finds them (``CopyPreparer`` with ``build=False``)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT layer, version FROM digitalcity.layer_versions "
                "WHERE city = :city AND is_current"
            ),
            {"city": city_id},
        ).all()
    loaded: dict[str, int] = {str(layer): int(version) for layer, version in rows}
    ready = 0
    city = catalog.city(city_id)
    for layer in catalog.city_layers(city_id):
        version = loaded.get(layer.id)
        if version is not None and prepare_layer(engine, layer, city, int(version)):
            ready += 1
    return ready


_COPIES_SEEN: set[tuple[str, str]] = set()  # (database, copy table) seen to exist


def refresh_copy_rows(
    conn: Connection, layer: LayerDef, city: CityDef, version: int, fids: list[int]
) -> None:
    """After an edit of the rows ``fids`` (in the caller's transaction): the same rows of the
    copy at ``version`` rebuilt from the table, when the copy exists; the rest of the copy is
    untouched, so tiles elsewhere stay as they are."""
    name = copy_name(layer, version)
    seen = (conn.engine.url.render_as_string(hide_password=True), name)
    if seen not in _COPIES_SEEN:
        if name not in existing_copies(conn):
            return
        # a copy at a version lives until a later version replaces it, so once seen it is
        # remembered: one round trip less per edit (bench.edits)
        _COPIES_SEEN.add(seen)
    target = copy_table(layer, version)
    source = qualified(city.schema_name, layer.id)
    conn.execute(sa.text(f"DELETE FROM {target} WHERE fid = ANY(:fids)"), {"fids": fids})  # noqa: S608 - identifiers from the catalog
    columns = property_columns(layer.all_fields)
    zooms = simplified_zooms(layer)
    values = "".join(f", ST_Simplify(m.geom, :tol_{z})" for z in zooms)
    params: dict[str, object] = {f"tol_{z}": tolerance(layer, city, z) for z in zooms}
    fill = read_sql("copy_fill.sql").format(
        target=target,
        source=f"(SELECT * FROM {source} WHERE fid = ANY(:fids))",  # noqa: S608 - catalog names
        columns=columns,
        simplified=values,
    )
    conn.execute(sa.text(fill), {**params, "fids": fids})
