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
from dataclasses import dataclass

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog import Catalog, CityDef, LayerDef
from digitalcity.db.schema import column_for, store_uncompressed
from digitalcity.db.versions import lock_layer, retire
from digitalcity.tiles.content import simplified_zooms, tolerance
from digitalcity.tiles.query import field_columns, qualified, quote, read_sql

log = logging.getLogger(__name__)

SCHEMA = "digitalcity_tiles"
_CURRENT = sa.text(
    "SELECT version FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = :layer AND is_current"
)
_TABLES = sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema")


def copy_name(layer: LayerDef, version: int) -> str:
    """Table name of a layer version's copy (hashed when longer than PostgreSQL allows)."""
    return _name(layer, f"v{version}")


def _name(layer: LayerDef, suffix: str) -> str:
    name = f"{layer.city}__{layer.id}__{suffix}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(f"{layer.city}.{layer.id}".encode()).hexdigest()[:16]
    return f"t_{digest}__{suffix}"


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


# Copies are read by tile statements that filter on the geometry alone, and only need to know
# whether a tile holds a few rows or most of the table: coarse statistics plan them alike
# (checked on tiles z8-z16 of the 246,900 SYNTHETIC roads) and ANALYZE samples 3,000 rows
# instead of 30,000 (roads: 0.13-0.17 -> 0.016 s, the last step before a load's swap).
STATISTICS_TARGET = 10
# Tile statements filter a copy by its geometry only (and key it by fid): statistics of the
# other columns are never used (246,900 SYNTHETIC roads: 125-130 against 156-196 ms)
ANALYZED_COLUMNS = ("fid", "geom")
ANALYZED = f"({', '.join(ANALYZED_COLUMNS)})"


def _definition(layer: LayerDef, name: str) -> sa.Table:
    """The copy's columns: fid, every field with its table type (tile statements cast dates
    to text as they read, as from the layer table), the EPSG:3857 geometry and one
    pre-simplified geometry ``g<z>`` per simplified zoom."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("fid", sa.BigInteger(), nullable=False),
        *(column_for(f) for f in layer.all_fields),
        sa.Column("geom", Geometry(geometry_type=None, srid=-1, spatial_index=False)),
        *(
            sa.Column(f"g{z}", Geometry(geometry_type=None, srid=-1, spatial_index=False))
            for z in simplified_zooms(layer)
        ),
        schema=SCHEMA,
    )


def _create(conn: Connection, layer: LayerDef, name: str) -> None:
    """Create the empty copy ``name`` in the copies' schema (which exists)."""
    table = _definition(layer, name)
    table.create(conn)
    target = qualified(SCHEMA, name)
    # uncompressed: a tile on a large polygon then costs no decompression (the 119,241-vertex
    # road surface at z16: 6.3 -> 3.2 ms)
    store_uncompressed(conn, target, [c.name for c in table.c if isinstance(c.type, Geometry)])
    statistics = ", ".join(
        f"ALTER COLUMN {quote(c)} SET STATISTICS {STATISTICS_TARGET}" for c in ANALYZED_COLUMNS
    )
    conn.exec_driver_sql(f"ALTER TABLE {target} {statistics}")


def _fill(
    conn: Connection, layer: LayerDef, city: CityDef, target: str, source: str, **params: object
) -> None:
    """Fill the copy ``target`` from ``source`` (a qualified table, or a parenthesised
    sub-select of one whose bound values are ``params``)."""
    zooms = simplified_zooms(layer)
    fill = read_sql("copy_fill.sql").format(
        target=target,
        source=source,
        columns=field_columns(layer.all_fields),
        simplified="".join(f", ST_Simplify(m.geom, :tol_{z})" for z in zooms),
    )
    tolerances = {f"tol_{z}": tolerance(layer, city, z) for z in zooms}
    conn.execute(sa.text(fill), {**tolerances, **params})


def _index_statements(target: str, name: str) -> list[str]:
    """The copy's indexes (``name``: the copy's unqualified table name): each may be built
    on a connection of its own, at the same time as the other."""
    return [
        f"CREATE UNIQUE INDEX {quote(name[:56] + '_fid')} ON {target} (fid)",
        f"CREATE INDEX {quote(name[:56] + '_geom')} ON {target} USING gist (geom)",
    ]


def _build(conn: Connection, layer: LayerDef, city: CityDef, version: int) -> None:
    target, name = copy_table(layer, version), copy_name(layer, version)
    _create(conn, layer, name)
    _fill(conn, layer, city, target, qualified(city.schema_name, layer.id))
    for statement in _index_statements(target, name):
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"ANALYZE {target} {ANALYZED}")


@dataclass(frozen=True)
class LoadCopy:
    """The tile copy a load writes beside its staging table, before the load's version is
    known. The loader COPYs every batch into it as into the staging table, on a connection
    of its own (``digitalcity.ingest.tilecopy``), while the next batches are read. Rows come
    either ``projected`` (EPSG:3857 already: ``digitalcity.ingest.webmercator``) or as the
    layer table's; a row trigger (``copy_trigger.sql``, the expressions of
    ``copy_fill.sql``) reprojects the latter and adds each zoom's simplified geometry. The
    copy is then indexed and settled beside the staging table's index builds and renamed
    to the version's copy in the load's transaction (``swap_in``). Filled from the
    committed staging table after the COPY instead, it was the longest step of the indexing
    phase (246,900 SYNTHETIC roads: 1.1 of 2.0 s)."""

    layer: LayerDef
    city: CityDef
    tag: str
    projected: bool = False

    @property
    def _triggered(self) -> bool:
        return not self.projected or bool(simplified_zooms(self.layer))

    @property
    def name(self) -> str:
        return _name(self.layer, f"s{self.tag}")

    @property
    def table(self) -> str:
        return qualified(SCHEMA, self.name)

    def create(self, conn: Connection) -> None:
        """In ``conn``'s transaction: the empty copy (a crashed run's dropped first) and, when
        needed, its row trigger; ``conn`` then takes the layer table's COPY data (fid, geom,
        fields), its geometries in EPSG:3857 when ``projected``. Without a trigger, COPY
        FREEZE also marks the copy's pages all-visible."""
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")
        _create(conn, self.layer, self.name)
        if not self._triggered:
            return
        transform = "" if self.projected else "\n    NEW.geom := ST_Transform(NEW.geom, 3857);"
        assignments = "".join(
            f"\n    NEW.{quote(f'g{z}')} := "
            f"ST_Simplify(NEW.geom, {float(tolerance(self.layer, self.city, z))!r}::float8);"
            for z in simplified_zooms(self.layer)
        )
        conn.exec_driver_sql(
            read_sql("copy_trigger.sql").format(
                target=self.table, transform=transform, simplified=assignments
            )
        )

    def release(self, conn: Connection) -> None:
        """Drop the row trigger (if any), in the transaction that created it, before it
        commits."""
        if self._triggered:
            conn.exec_driver_sql(read_sql("copy_trigger_drop.sql").format(target=self.table))

    def index_statements(self) -> list[str]:
        """Statements to run once filled, each in a transaction of its own, concurrently."""
        return _index_statements(self.table, self.name)

    def settle(self, engine: Engine) -> None:
        """ANALYZE the copy, then VACUUM it: last, once no transaction begun before it was
        written is open. Its rows were written frozen (COPY FREEZE); through a row trigger
        they were written one at a time, which leaves the visibility map unset: VACUUM sets
        it, in one pass over the copy before its version goes live (without a trigger, COPY
        set it and VACUUM skips every page).

        VACUUM marks a page visible to all only when the commits of its rows are on disk.
        Where commits do not wait for that (the embedded cluster's fast mode), ANALYZE
        commits waiting for it, which flushes every commit before.

        A copy written without a trigger is only analysed: its COPY FREEZE left every page
        all-visible, and the VACUUM found nothing to do but scan its GiST index (246,900
        SYNTHETIC roads: 22 ms, the last step of a small layer's index phase)."""
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not self._triggered:
                conn.exec_driver_sql(f"ANALYZE {self.table} {ANALYZED}")
                return
            conn.exec_driver_sql("SET synchronous_commit = on")
            try:
                conn.exec_driver_sql(f"ANALYZE {self.table} {ANALYZED}")
                conn.exec_driver_sql(f"VACUUM {self.table}")
            finally:
                conn.exec_driver_sql("RESET synchronous_commit")

    def drop(self, engine: Engine) -> None:
        """Drop the copy (the load failed); one that cannot be dropped now is dropped by the
        next load of the layer that succeeds (``swap_in``), and nothing reads it meanwhile."""
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")
        except sa.exc.SQLAlchemyError as exc:
            log.warning("staging tile copy %s not dropped: %s", self.table, exc)

    def swap_in(self, conn: Connection, version: int) -> None:
        """In the load's transaction (``versions.swap_in``): the copy becomes ``version``'s,
        so it commits with the load and the API never waits for one. The copies of other
        versions are dropped after that commit (``retire_others``)."""
        lock_layer(conn, self.layer)
        name = copy_name(self.layer, version)
        if name in existing_copies(conn):  # left by an aborted run of this version
            conn.exec_driver_sql(f"DROP TABLE {copy_table(self.layer, version)}")
        conn.exec_driver_sql(f"ALTER TABLE {self.table} RENAME TO {quote(name)}")

    def retire_others(self, engine: Engine, version: int) -> None:
        """Once the load of ``version`` has committed, under the loader's per-layer lock:
        drop the copies of other versions and those crashed loads left (any other load copy
        is one), in a transaction of their own (``versions.retire``). A copy a tile query
        still reads after ``versions.RETIRE_LOCK_TIMEOUT_MS`` is left for the layer's next
        load; until then nothing reads it (the tiles read ``version``'s). Dropped in the
        load's transaction, their files were removed at its commit, before it released the
        layer's live table (see ``versions.retire_versions``)."""

        def drop(conn: Connection) -> None:
            others = existing_copies(conn) - {copy_name(self.layer, version)}
            _drop_other_copies(conn, self.layer, others, version, leftovers=True)

        retire(engine, self.layer, "tile copies of earlier versions", drop)


def _drop_other_copies(
    conn: Connection, layer: LayerDef, tables: set[str], version: int, *, leftovers: bool = False
) -> None:
    """Drop, among ``tables``, the copies of ``layer`` at versions other than ``version``;
    with ``leftovers``, also the load copies (``LoadCopy``) that crashed loads left behind."""
    pattern = _copy_pattern(layer)
    leftover = re.compile(rf"^{re.escape(_name(layer, 's'))}[0-9a-f]+$")
    for name in tables:
        found = pattern.match(name)
        if (found and int(found[1]) != version) or (leftovers and leftover.match(name)):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified(SCHEMA, name)}")


def prepare_layer(engine: Engine, layer: LayerDef, city: CityDef, version: int) -> bool:
    """Make sure the copy of ``layer`` at ``version`` exists; drop older copies.

    Returns True when the copy exists afterwards, False when ``version`` is no longer
    current (a newer load won) or the database refused (e.g. no CREATE privilege).
    """
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        with engine.begin() as conn:
            lock_layer(conn, layer)
            current = conn.execute(_CURRENT, {"city": layer.city, "layer": layer.id}).scalar()
            if current != version:
                return False
            tables = existing_copies(conn)
            if copy_name(layer, version) not in tables:
                _build(conn, layer, city, version)
            _drop_other_copies(conn, layer, tables, version)
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
    conn.execute(sa.text(f"DELETE FROM {target} WHERE fid = ANY(:fids)"), {"fids": fids})  # noqa: S608 - identifiers from the catalog
    source = f"(SELECT * FROM {qualified(city.schema_name, layer.id)} WHERE fid = ANY(:fids))"  # noqa: S608 - catalog names
    _fill(conn, layer, city, target, source, fids=fids)
