"""The statements of an edit, on the caller's connection inside its transaction: the row
locked and its ETag, the old version closed into the history, the new one written, the row's
rowmeta, the tile copy's rows, and the layer's revision (which keys the caches)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from digitalcity import pinyin_keys
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table, row_etag_sql, storage_srid
from digitalcity.db.versions import NOTIFY_CHANNEL
from digitalcity.history.changesets import Author
from digitalcity.history.tables import history_name, rowmeta_name
from digitalcity.tiles.prepare import refresh_copy_rows


def table_names(conn: Connection, layer: LayerDef, city: CityDef) -> dict[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(city.schema_name)
    return {
        "table": f"{schema}.{quote(layer.id)}",
        "history": f"{schema}.{quote(history_name(layer))}",
        "meta": f"{schema}.{quote(rowmeta_name(layer))}",
    }


def _column_lists(conn: Connection, layer: LayerDef, city: CityDef) -> tuple[str, str]:
    """The layer table's columns as SQL: ``a, b, …`` and ``t.a, t.b, …``."""
    quote = conn.dialect.identifier_preparer.quote
    names = [quote(c.name) for c in layer_table(layer, city).columns]
    return ", ".join(names), ", ".join(f"t.{c}" for c in names)


def lock_etag(conn: Connection, layer: LayerDef, city: CityDef, fid: int) -> str | None:
    """The current row's ETag (a hash of every column), locked until the transaction ends;
    None when there is no such row."""
    table = table_names(conn, layer, city)["table"]
    return conn.execute(
        sa.text(f"SELECT {row_etag_sql('t')} FROM {table} t WHERE t.fid = :fid FOR UPDATE"),  # noqa: S608 - identifiers from the catalog
        {"fid": fid},
    ).scalar()


def etag(conn: Connection, layer: LayerDef, city: CityDef, fid: int) -> str | None:
    table = table_names(conn, layer, city)["table"]
    return conn.execute(
        sa.text(f"SELECT {row_etag_sql('t')} FROM {table} t WHERE t.fid = :fid"),  # noqa: S608
        {"fid": fid},
    ).scalar()


def etag_of(engine: Any, layer: LayerDef, city: CityDef, fid: int) -> str | None:
    """The ETag of the current row ``fid`` (None when there is none), on its own connection."""
    with engine.connect() as conn:
        return etag(conn, layer, city, fid)


def lock_ids(conn: Connection, layer: LayerDef) -> None:
    """The layer's feature ids held to the end of the transaction (an advisory lock): no
    feature is created or brought back beside it."""
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"fid:{layer.qualified_id}"}
    )


def next_fid(conn: Connection, layer: LayerDef, city: CityDef) -> int:
    """A new feature id: one more than any the layer has had (current or in its history).
    Serialised per layer by an advisory lock held to the end of the transaction."""
    names = table_names(conn, layer, city)
    lock_ids(conn, layer)
    return int(
        conn.execute(
            sa.text(
                f"SELECT greatest((SELECT coalesce(max(fid), 0) FROM {names['table']}), "  # noqa: S608
                f"(SELECT coalesce(max(fid), 0) FROM {names['history']})) + 1"
            )
        ).scalar_one()
    )


def close_version(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, changeset: int, op: str
) -> None:
    """The row as it is now goes into the history, valid until now, ended by ``changeset``."""
    close_versions(conn, layer, city, [fid], changeset, op)


def close_versions(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    fids: Sequence[int],
    changeset: int,
    op: str,
) -> None:
    """``close_version`` of every row ``fids``, in one statement."""
    names = table_names(conn, layer, city)
    columns, selected = _column_lists(conn, layer, city)
    conn.execute(
        sa.text(
            f"INSERT INTO {names['history']} ({columns}, valid, changeset, op) "  # noqa: S608
            f"SELECT {selected}, tstzrange(coalesce(m.valid_from, '-infinity'), now()), "
            f":changeset, :op FROM {names['table']} t LEFT JOIN {names['meta']} m ON m.fid = t.fid "
            "WHERE t.fid = ANY(:fids)"
        ),
        {"fids": list(fids), "changeset": changeset, "op": op},
    )


def supersede(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, author: Author, op: str
) -> int:
    """One edit's bookkeeping in one statement (one round trip): a new change set, the row as
    it is now into the history (valid until now, ended by it) and the row's rowmeta (valid
    from now, or gone for a ``delete``); the change set's id. All parts read the rows as they
    were before the statement, so the history gets the old version."""
    names = table_names(conn, layer, city)
    columns, selected = _column_lists(conn, layer, city)
    meta = (
        f"DELETE FROM {names['meta']} WHERE fid = :fid"  # noqa: S608 - identifiers from the catalog
        if op == "delete"
        else f"INSERT INTO {names['meta']} (fid, valid_from, changeset) "  # noqa: S608
        "SELECT :fid, now(), cs.id FROM cs ON CONFLICT (fid) DO UPDATE "
        "SET valid_from = excluded.valid_from, changeset = excluded.changeset"
    )
    statement = (
        "WITH cs AS (INSERT INTO digitalcity.changesets (kind, city, layer, key_id, role, reason) "  # noqa: S608 - identifiers from the catalog
        "VALUES ('edit', :city, :layer, :key_id, :role, :reason) RETURNING id), "
        f"old AS (INSERT INTO {names['history']} ({columns}, valid, changeset, op) "
        f"SELECT {selected}, tstzrange(coalesce(m.valid_from, '-infinity'), now()), cs.id, :op "
        f"FROM cs CROSS JOIN {names['table']} t LEFT JOIN {names['meta']} m ON m.fid = t.fid "
        f"WHERE t.fid = :fid), meta AS ({meta}) SELECT id FROM cs"
    )
    return int(
        conn.execute(
            sa.text(statement),
            {
                "fid": fid,
                "op": op,
                "city": layer.city,
                "layer": layer.id,
                "key_id": author.key_id,
                "role": author.role,
                "reason": author.reason[:2000],
            },
        ).scalar_one()
    )


def stamp(conn: Connection, layer: LayerDef, city: CityDef, fid: int, changeset: int) -> None:
    """The row is as it is since now, made so by ``changeset``."""
    stamp_all(conn, layer, city, [fid], changeset)


def stamp_all(
    conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int], changeset: int
) -> None:
    """``stamp`` of every row ``fids``, in one statement."""
    meta = table_names(conn, layer, city)["meta"]
    conn.execute(
        sa.text(
            f"INSERT INTO {meta} (fid, valid_from, changeset) "  # noqa: S608
            "SELECT f, now(), :changeset FROM unnest(CAST(:fids AS bigint[])) f "
            "ON CONFLICT (fid) DO UPDATE SET valid_from = excluded.valid_from, "
            "changeset = excluded.changeset"
        ),
        {"fids": list(fids), "changeset": changeset},
    )


def unstamp(conn: Connection, layer: LayerDef, city: CityDef, fid: int) -> None:
    meta = table_names(conn, layer, city)["meta"]
    conn.execute(sa.text(f"DELETE FROM {meta} WHERE fid = :fid"), {"fid": fid})  # noqa: S608


def _geometry(city: CityDef, geom: shapely.Geometry) -> Any:
    return sa.func.ST_SetSRID(
        sa.func.ST_GeomFromWKB(sa.literal(shapely.to_wkb(geom), sa.LargeBinary)), storage_srid(city)
    )


def insert_row(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    fid: int,
    values: dict[str, Any],
    geom: shapely.Geometry,
) -> None:
    table = layer_table(layer, city)
    conn.execute(table.insert().values(fid=fid, geom=_geometry(city, geom), **values))
    pinyin_keys.remember_edit(conn, layer, values)


def update_row(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    fid: int,
    values: dict[str, Any],
    geom: shapely.Geometry | None,
) -> str | None:
    """The row's fields ``values`` and (if given) geometry replaced; its new ETag."""
    table = layer_table(layer, city)
    changes = dict(values)
    if geom is not None:
        changes["geom"] = _geometry(city, geom)
    if not changes:
        return etag(conn, layer, city, fid)
    pinyin_keys.remember_edit(conn, layer, values)
    # the new ETag comes back with the UPDATE (the same hash as etag(): of the whole row)
    quoted = conn.dialect.identifier_preparer.quote(table.name)
    whole_row: sa.ColumnElement[str] = sa.literal_column(row_etag_sql(quoted))
    return conn.execute(
        table.update().where(table.c.fid == fid).values(**changes).returning(whole_row)
    ).scalar()


def update_rows(
    conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int], values: dict[str, Any]
) -> None:
    """The fields ``values`` of every row ``fids`` set, in one statement."""
    table = layer_table(layer, city)
    pinyin_keys.remember_edit(conn, layer, values)
    conn.execute(
        table.update()
        .where(table.c.fid == sa.any_(sa.cast(list(fids), ARRAY(sa.BigInteger))))
        .values(**values)
    )


def delete_row(conn: Connection, layer: LayerDef, city: CityDef, fid: int) -> None:
    table = layer_table(layer, city)
    conn.execute(table.delete().where(table.c.fid == fid))


def delete_rows(conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]) -> None:
    """The rows ``fids`` deleted, in one statement."""
    table = table_names(conn, layer, city)["table"]
    conn.execute(
        sa.text(f"DELETE FROM {table} WHERE fid = ANY(:fids)"),  # noqa: S608 - catalog names
        {"fids": list(fids)},
    )


def unstamp_all(conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]) -> None:
    """The rowmeta of rows ``fids`` dropped, in one statement."""
    meta = table_names(conn, layer, city)["meta"]
    conn.execute(
        sa.text(f"DELETE FROM {meta} WHERE fid = ANY(:fids)"),  # noqa: S608 - catalog names
        {"fids": list(fids)},
    )


def restore_ended(conn: Connection, layer: LayerDef, city: CityDef, changeset: int) -> None:
    """The versions change set ``changeset`` ended written back as current rows (a revert),
    in one statement."""
    names = table_names(conn, layer, city)
    columns, _ = _column_lists(conn, layer, city)
    conn.execute(
        sa.text(
            f"INSERT INTO {names['table']} ({columns}) SELECT {columns} "  # noqa: S608
            f"FROM {names['history']} WHERE changeset = :changeset"
        ),
        {"changeset": changeset},
    )


def insert_version(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, instant: dt.datetime
) -> bool:
    """Deleted feature ``fid`` back as its version valid at ``instant``, whole (every column);
    whether there was such a version."""
    names = table_names(conn, layer, city)
    columns, _ = _column_lists(conn, layer, city)
    return (
        conn.execute(
            sa.text(
                f"INSERT INTO {names['table']} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM {names['history']} WHERE fid = :fid AND valid @> CAST(:at AS timestamptz) "
                "LIMIT 1"
            ),
            {"fid": fid, "at": instant},
        ).rowcount
        == 1
    )


def current_values(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int
) -> dict[str, Any] | None:
    """Every field of the current row (for a replace: the fields the caller did not send)."""
    table = layer_table(layer, city)
    row = conn.execute(sa.select(table).where(table.c.fid == fid)).first()
    return dict(row._mapping) if row else None


def touched(
    conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]
) -> tuple[int, int] | None:
    """After the rows changed: the layer's revision bumped (item pages are keyed by it), where
    the edit happened recorded (the EPSG:3857 envelopes of the rows' new and closed versions,
    which key the tiles they touch), the API processes told, and the tile copy's rows of
    ``fids`` rebuilt; the layer's (version, revision) after the edit, None when the layer has
    no current version. One round trip for the bookkeeping."""
    names = table_names(conn, layer, city)
    statement = (
        "WITH b AS (UPDATE digitalcity.layer_versions SET revision = revision + 1 "  # noqa: S608 - identifiers from the catalog
        "WHERE city = :city AND layer = :layer AND is_current RETURNING version, revision), "
        "e AS (INSERT INTO digitalcity.edit_extents "
        "(city, layer, version, revision, x1, y1, x2, y2) "
        "SELECT :city, :layer, b.version, b.revision, ST_XMin(x), ST_YMin(x), ST_XMax(x), "
        "ST_YMax(x) FROM b, (SELECT Box2D(ST_Transform(g, 3857)) AS x FROM ("
        f"SELECT geom AS g FROM {names['table']} WHERE fid = ANY(:fids) UNION ALL "
        f"SELECT geom FROM {names['history']} WHERE fid = ANY(:fids) AND upper(valid) = now()"
        ") u WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)) boxes) "
        "SELECT version, revision, pg_notify(:channel, :qualified || ':' || version) FROM b"
    )
    row = conn.execute(
        sa.text(statement),
        {
            "city": layer.city,
            "layer": layer.id,
            "fids": list(fids),
            "qualified": layer.qualified_id,
            "channel": NOTIFY_CHANNEL,
        },
    ).first()
    if row is None:
        return None
    refresh_copy_rows(conn, layer, city, int(row.version), list(fids))
    return int(row.version), int(row.revision)


def current_row(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int
) -> tuple[dict[str, Any], shapely.Geometry] | None:
    """The current row's every column but ``fid`` and ``geom``, and its geometry (storage
    CRS); None when there is no such row."""
    table = layer_table(layer, city)
    columns = [c for c in table.columns if c.name not in ("fid", "geom")]
    row = conn.execute(
        sa.select(*columns, sa.func.ST_AsBinary(table.c.geom).label("_wkb")).where(
            table.c.fid == fid
        )
    ).first()
    if row is None:
        return None
    values = {c.name: row._mapping[c.name] for c in columns}
    return values, shapely.from_wkb(bytes(row._wkb)) if row._wkb is not None else None
