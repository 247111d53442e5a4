"""The statements of an edit, on the caller's connection inside its transaction: the row
locked and its ETag, the old version closed into the history, the new one written, the row's
rowmeta, the tile copy's rows, and the layer's revision (which keys the caches)."""

from __future__ import annotations

import datetime as dt
import json
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


def _names(conn: Connection, layer: LayerDef, city: CityDef) -> dict[str, str]:
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
    table = _names(conn, layer, city)["table"]
    return conn.execute(
        sa.text(f"SELECT {row_etag_sql('t')} FROM {table} t WHERE t.fid = :fid FOR UPDATE"),  # noqa: S608 - identifiers from the catalog
        {"fid": fid},
    ).scalar()


def etag(conn: Connection, layer: LayerDef, city: CityDef, fid: int) -> str | None:
    table = _names(conn, layer, city)["table"]
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
    names = _names(conn, layer, city)
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
    names = _names(conn, layer, city)
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
    names = _names(conn, layer, city)
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
    meta = _names(conn, layer, city)["meta"]
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
    meta = _names(conn, layer, city)["meta"]
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
    table = _names(conn, layer, city)["table"]
    conn.execute(
        sa.text(f"DELETE FROM {table} WHERE fid = ANY(:fids)"),  # noqa: S608 - catalog names
        {"fids": list(fids)},
    )


def unstamp_all(conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]) -> None:
    """The rowmeta of rows ``fids`` dropped, in one statement."""
    meta = _names(conn, layer, city)["meta"]
    conn.execute(
        sa.text(f"DELETE FROM {meta} WHERE fid = ANY(:fids)"),  # noqa: S608 - catalog names
        {"fids": list(fids)},
    )


def restore_ended(conn: Connection, layer: LayerDef, city: CityDef, changeset: int) -> None:
    """The versions change set ``changeset`` ended written back as current rows (a revert),
    in one statement."""
    names = _names(conn, layer, city)
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
    names = _names(conn, layer, city)
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
    names = _names(conn, layer, city)
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


_LINEAGE = sa.text(
    "INSERT INTO digitalcity.lineage (changeset, city, layer, kind, parent, child) "
    "SELECT :changeset, :city, :layer, :kind, p, c FROM unnest(CAST(:parents AS bigint[])) p "
    "CROSS JOIN unnest(CAST(:children AS bigint[])) c"
)


def record_lineage(
    conn: Connection,
    layer: LayerDef,
    changeset: int,
    kind: str,
    parents: Sequence[int],
    children: Sequence[int],
) -> None:
    """Change set ``changeset`` split ``parents`` (one) into ``children``, or merged
    ``parents`` into ``children`` (one)."""
    conn.execute(
        _LINEAGE,
        {
            "changeset": changeset,
            "city": layer.city,
            "layer": layer.id,
            "kind": kind,
            "parents": list(parents),
            "children": list(children),
        },
    )


# the change sets of a feature's ancestry (the splits and merges that made it, and theirs,
# each earlier than the last) and of its descendants (later ones, from it and from what it
# became); every link goes one way in time, so the walk ends
_LINEAGE_OF = sa.text(
    "WITH RECURSIVE up (fid, changeset) AS ("
    "SELECT parent, changeset FROM digitalcity.lineage "
    "WHERE city = :city AND layer = :layer AND child = :fid "
    "UNION SELECT l.parent, l.changeset FROM digitalcity.lineage l JOIN up "
    "ON l.city = :city AND l.layer = :layer AND l.child = up.fid AND l.changeset < up.changeset), "
    "down (fid, changeset) AS ("
    "SELECT child, changeset FROM digitalcity.lineage "
    "WHERE city = :city AND layer = :layer AND parent = :fid "
    "UNION SELECT l.child, l.changeset FROM digitalcity.lineage l JOIN down "
    "ON l.city = :city AND l.layer = :layer AND l.parent = down.fid "
    "AND l.changeset > down.changeset) "
    "SELECT l.changeset, l.kind, array_agg(DISTINCT l.parent ORDER BY l.parent) AS parents, "
    "array_agg(DISTINCT l.child ORDER BY l.child) AS children, c.at, "
    "EXISTS (SELECT 1 FROM digitalcity.changesets r WHERE r.reverts = l.changeset) AS reverted "
    "FROM digitalcity.lineage l JOIN digitalcity.changesets c ON c.id = l.changeset "
    "WHERE l.changeset IN (SELECT changeset FROM up UNION SELECT changeset FROM down) "
    "GROUP BY l.changeset, l.kind, c.at ORDER BY l.changeset"
)


def lineage_of(conn: Connection, layer: LayerDef, fid: int) -> list[dict[str, Any]]:
    """The splits and merges of feature ``fid``'s lineage, oldest first: those that made it and
    its ancestors, and those it and its descendants took part in later; each with its change
    set, kind, time, the features before (``parents``) and after (``children``), and whether
    the change set was reverted since."""
    rows = conn.execute(_LINEAGE_OF, {"city": layer.city, "layer": layer.id, "fid": fid})
    return [
        {
            "changeset": int(r.changeset),
            "kind": r.kind,
            "at": r.at.isoformat(),
            "parents": [int(p) for p in r.parents],
            "children": [int(c) for c in r.children],
            "reverted": bool(r.reverted),
        }
        for r in rows
    ]


def measures(
    conn: Connection, layer: LayerDef, city: CityDef, fids: Sequence[int]
) -> dict[int, float]:
    """Each feature's area in m² (polygons) or length in m (lines), on the WGS 84 ellipsoid."""
    table = _names(conn, layer, city)["table"]
    measure = "ST_Area" if layer.geometry_type.endswith("Polygon") else "ST_Length"
    rows = conn.execute(
        sa.text(
            f"SELECT fid, {measure}(ST_Transform(geom, 4326)::geography) FROM {table} "  # noqa: S608
            "WHERE fid = ANY(:fids)"
        ),
        {"fids": list(fids)},
    )
    return {int(fid): float(value) for fid, value in rows}


def shapes_in_lonlat(
    conn: Connection, city: CityDef, shapes: Sequence[shapely.Geometry], polygonal: bool
) -> list[tuple[dict[str, Any], float]]:
    """Shapes in the storage CRS as GeoJSON in lon/lat (7 decimals), each with its area in m²
    (``polygonal``) or length in m on the WGS 84 ellipsoid (for a preview: nothing is
    written)."""
    measure = "ST_Area" if polygonal else "ST_Length"
    rows = conn.execute(
        sa.text(
            f"SELECT ST_AsGeoJSON(g, 7), {measure}(g::geography) FROM ("  # noqa: S608 - a constant
            "SELECT n, ST_Transform(ST_SetSRID(ST_GeomFromWKB(w), :srid), 4326) AS g "
            "FROM unnest(CAST(:shapes AS bytea[])) WITH ORDINALITY AS s (w, n)) t ORDER BY n"
        ),
        {"shapes": [shapely.to_wkb(g) for g in shapes], "srid": storage_srid(city)},
    )
    return [(json.loads(text), float(value)) for text, value in rows]


# features of the layer that share a stretch of boundary with (or overlap) a polygon, or meet a
# line or point: what it may be merged with (DE-9IM: boundaries meet along a line, or interiors
# overlap; any contact for lines and points)
_EDGE_OR_OVERLAP = (
    "(ST_Relate(f.geom, n.geom, '****1****') OR ST_Relate(f.geom, n.geom, '2********'))"
)


def neighbours(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, label: str | None, limit: int
) -> list[dict[str, Any]] | None:
    """The features of the layer next to feature ``fid`` (see above), in id order:
    id, ETag, label (the field ``label``, when given), geometry as GeoJSON in lon/lat; None
    when there is no feature ``fid``."""
    table = _names(conn, layer, city)["table"]
    quote = conn.dialect.identifier_preparer.quote
    polygonal = layer.geometry_type.endswith("Polygon")
    touching = _EDGE_OR_OVERLAP if polygonal else "ST_Intersects(f.geom, n.geom)"
    label_sql = f"n.{quote(label)}::text" if label else "NULL::text"
    exists = conn.execute(
        sa.text(f"SELECT 1 FROM {table} WHERE fid = :fid"),  # noqa: S608 - identifiers from the catalog
        {"fid": fid},
    ).first()
    if exists is None:
        return None
    rows = conn.execute(
        sa.text(
            f"SELECT n.fid, {row_etag_sql('n')} AS etag, {label_sql} AS label, "  # noqa: S608
            "ST_AsGeoJSON(ST_Transform(n.geom, 4326), 7) AS geojson "
            f"FROM {table} f JOIN {table} n ON n.geom && f.geom AND n.fid <> f.fid "
            f"WHERE f.fid = :fid AND {touching} ORDER BY n.fid LIMIT :limit"
        ),
        {"fid": fid, "limit": limit},
    )
    return [
        {"id": int(r.fid), "etag": r.etag, "label": r.label, "geometry": r.geojson} for r in rows
    ]
