"""Derived tables cached in the database schema ``digitalcity_cache``, keyed by the current
version and fingerprint of every input layer (a reload of any input makes a new key; the
entries of older versions are dropped when a new one is built).

An analysis builds its temporary tables once (``build``); later runs copy them back from the
cache. Only derived geometry and ids are cached, never a field a role might not see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from digitalcity.analysis.errors import LayerNotLoaded
from digitalcity.analysis.sqlrun import copy_table, run
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.db.versions import current_version

CACHE_SCHEMA = "digitalcity_cache"

_ENTRIES = sa.table(
    "entries",
    sa.column("key"),
    sa.column("city"),
    sa.column("kind"),
    sa.column("inputs"),
    sa.column("tables", ARRAY(sa.Text)),
    schema=CACHE_SCHEMA,
)


def cached(
    conn: Connection,
    city: City,
    kind: str,
    layers: Sequence[LayerDef],
    temp_tables: Sequence[str],
    build: Callable[[], object],
    *,
    recipe: str = "1",
) -> tuple[str, bool]:
    """Fill ``temp_tables`` (names starting with '_') from the cache entry of ``kind`` for the
    current versions of ``layers``, or run ``build`` (which must create them) and store copies.

    ``recipe`` is part of the key: change it when the building SQL changes. Returns the key and
    whether the entry was built now. Indexes are not cached: the caller adds them.
    """
    if city.as_of is not None:  # the past is read from the history, not from this cache
        build()
        return "as_of", True
    inputs = []
    for layer in layers:
        current = current_version(conn, layer)
        if current is None:
            raise LayerNotLoaded(f"layer {layer.qualified_id} not loaded: run `digitalcity load`")
        # the revision too: an edit changes what was derived from the layer
        inputs.append(f"{layer.id}:{current.version}.{current.revision}:{current.fingerprint}")
    ident = "|".join([city.id, kind, recipe, *inputs])
    key = kind[:8] + "_" + hashlib.sha256(ident.encode()).hexdigest()[:16]
    names = {t: f"{key}_{t.strip('_')}" for t in temp_tables}
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('digitalcity_cache.entries'))"))
    run(conn, "cache_registry")
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    hit = conn.execute(sa.select(_ENTRIES.c.key).where(_ENTRIES.c.key == key)).first()
    if hit:
        for temp, stored in names.items():
            copy_table(conn, sa.table(stored, schema=CACHE_SCHEMA), temp)
        return key, False
    build()
    for temp, stored in names.items():
        copy_table(conn, sa.table(temp), stored, CACHE_SCHEMA)
    _drop_older(conn, city, kind, key)
    conn.execute(
        _ENTRIES.insert().values(
            key=key, city=city.id, kind=kind, inputs=", ".join(inputs), tables=list(names.values())
        )
    )
    return key, True


def _drop_older(conn: Connection, city: City, kind: str, key: str) -> None:
    entries = _ENTRIES
    old = conn.execute(
        sa.select(entries.c.key, entries.c.tables).where(
            entries.c.city == city.id, entries.c.kind == kind, entries.c.key != key
        )
    ).all()
    for row in old:
        for table in row.tables:
            sa.Table(table, sa.MetaData(), schema=CACHE_SCHEMA).drop(conn, checkfirst=True)
        conn.execute(sa.delete(entries).where(entries.c.key == row.key))
