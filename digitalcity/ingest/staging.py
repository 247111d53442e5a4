"""A load's database side: its rows COPYed into a staging table (and its tile copy), the
indexes and statistics of both built on two connections at once, the swap that makes them
the layer's current version, and the clean-up after it or after a failure."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tqdm import tqdm

from digitalcity.catalog.model import LayerDef
from digitalcity.db import schema
from digitalcity.db.versions import retire_versions, swap_in
from digitalcity.errors import LoadError
from digitalcity.ingest.copybinary import RefusedValue, copy_into
from digitalcity.ingest.job import LayerLoad, finish_report
from digitalcity.ingest.pipeline import Pipeline
from digitalcity.ingest.tilecopy import TileCopyWriter
from digitalcity.tiles.prepare import LoadCopy

# the lock's, then the two COPYs' (layer, tile copy) or the index builds' and the swap's
CONNECTIONS_AT_ONCE = 4


def warm_pool(engine: Engine) -> None:
    """Open the connections a load holds at once while its source is being opened (each new
    one costs a password exchange: 6-12 ms); they wait in the pool. Errors are left for the
    load's own connections to raise."""
    with ExitStack() as held:
        try:
            for _ in range(CONNECTIONS_AT_ONCE):
                held.enter_context(engine.connect())
        except sa.exc.SQLAlchemyError:
            pass


LOAD_LOCK = sa.text("SELECT pg_advisory_lock(hashtext('load:' || :key))")
LOAD_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtext('load:' || :key))")


def copy_into_staging(
    engine: Engine, job: LayerLoad, staging: sa.Table, prepared: Pipeline, copy: LoadCopy | None
) -> None:
    """Create the staging table and COPY every kept row into it, in one committed transaction
    (so its indexes can be built on several connections at once); each batch goes into the
    tile copy too (``TileCopyWriter``), committed with it."""
    layer, city = job.layer, job.city
    quote = engine.dialect.identifier_preparer.quote
    with ExitStack() as stack:
        tile_copy = stack.enter_context(TileCopyWriter(engine, copy, job.columns)) if copy else None
        conn = stack.enter_context(engine.begin())
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(city.schema_name)}")
        staging.drop(conn, checkfirst=True)  # left over by a load that crashed
        schema.create_layer_table(conn, staging)  # no primary key yet: built with the indexes
        bar = tqdm(
            total=job.reader.total,
            unit="rows",
            desc=layer.qualified_id,
            disable=(not job.settings.progress) or None,
            leave=False,
        )
        with bar:
            for read, kept, rows in prepared:
                if rows is not None:
                    if tile_copy is not None:
                        tile_copy.write(rows)
                    try:
                        copy_into(
                            conn, str(staging.schema), staging.name, job.columns, rows.data,
                            rows.source_rows,
                        )  # fmt: skip
                    except RefusedValue as exc:
                        raise LoadError(
                            f"{layer.qualified_id}: {exc}; previous version kept"
                        ) from None
                del rows  # copied: free it while the next batch is prepared
                job.report.rows_loaded += kept
                bar.update(read)
        if tile_copy is not None:
            tile_copy.flush()  # a batch the copy refused fails the load before staging commits
        finish_report(job)


def prepare_for_swap(
    engine: Engine,
    staging: sa.Table,
    layer: LayerDef,
    tag: str,
    copy: LoadCopy | None,
    recorded: Callable[[], None],
) -> None:
    """Everything the swap needs, on two connections at once when there are two cores, the
    costliest builds first: the staging table's indexes (the feature-id index becomes the
    primary key at the swap) and statistics; the tile copy's indexes, statistics and
    VACUUM; and ``recorded``, the swap's first half (its history), on the swap's own
    connection. CREATE INDEX takes a SHARE lock, so builds on one table run side by side;
    ANALYZE and VACUUM wait for them."""
    quote = engine.dialect.identifier_preparer.quote
    qualified_staging = f"{quote(str(staging.schema))}.{quote(staging.name)}"
    analysed = ", ".join(quote(c) for c in schema.load_statistics_columns(layer))
    indexes: list[sa.Executable | str] = [
        _key_index(staging, layer, tag),
        *schema.index_statements(staging, layer, tag),
    ]
    copied = copy.index_statements() if copy is not None else []

    def run(statement: sa.Executable | str) -> Callable[[], None]:
        def execute() -> None:
            with engine.begin() as conn:
                if isinstance(statement, str):
                    conn.exec_driver_sql(statement)
                else:
                    conn.execute(statement)

        return execute

    named = [(f"index {n}", s) for n, s in enumerate(indexes)]
    named += [(f"copy index {n}", s) for n, s in enumerate(copied)]
    steps: dict[str, tuple[Callable[[], None], tuple[str, ...]]] = {
        name: (run(statement), ())
        for name, statement in sorted(named, key=lambda item: _index_cost(item[1]), reverse=True)
    }
    steps["analysed"] = (
        run(f"ANALYZE {qualified_staging} ({analysed})"),
        tuple(f"index {n}" for n in range(len(indexes))),
    )
    # once the feature-id index it reads by exists, beside the last index builds and the
    # ANALYZE that waits for them (its lock conflicts with theirs), which keeps one core busy;
    # after the ANALYZE, the swap's history kept one core busy too (246,900 SYNTHETIC roads:
    # 0.12-0.17 and 0.19 s)
    steps["recorded"] = (recorded, ("index 0",))  # _key_index
    if copy is not None:
        # after the copy's own index builds (VACUUM's lock waits for theirs), beside the
        # staging table's last steps: the copy's rows are frozen and committed before any
        # build began, so VACUUM marks its pages all-visible while those run
        steps["copy settled"] = (
            lambda: copy.settle(engine),
            tuple(f"copy index {n}" for n in range(len(copied))),
        )
    run_steps(steps, 2 if (os.cpu_count() or 1) > 1 else 1)


def run_steps(steps: dict[str, tuple[Callable[[], None], tuple[str, ...]]], workers: int) -> None:
    """Run ``steps`` (name: (function, names of the steps it waits for)) on ``workers``
    threads, each as soon as what it waits for is done, in the order given when several
    are ready. Raises the first failure, once the steps running then have ended."""
    done: set[str] = set()
    running: dict[Future[None], str] = {}
    waiting = dict(steps)
    with ThreadPoolExecutor(workers, thread_name_prefix="ingest-prepare") as pool:
        while waiting or running:
            for name, (fn, needs) in list(waiting.items()):
                if len(running) < workers and done.issuperset(needs):
                    running[pool.submit(fn)] = name
                    del waiting[name]
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # a failure: the pool waits for the others, then it raises
                done.add(running.pop(future))


def _key_index(staging: sa.Table, layer: LayerDef, tag: str) -> sa.Executable:
    return sa.schema.CreateIndex(sa.Index(f"{layer.id}_{tag}_pkey", staging.c.fid, unique=True))


def _index_cost(statement: sa.Executable | str) -> int:
    """Relative build time, measured on 262k parcels: trigram GIN 1.0 s, GiST 0.5 s,
    b-tree 0.2 s."""
    if isinstance(statement, str):
        text = statement
    else:
        assert isinstance(statement, sa.sql.ClauseElement | sa.schema.ExecutableDDLElement)
        text = str(statement.compile(dialect=sa.dialects.postgresql.dialect()))
    return 5 if "gin_trgm_ops" in text else 2 if "USING gist" in text else 1


def swap(
    conn: Connection,
    job: LayerLoad,
    staging: sa.Table,
    fp: str,
    tag: str,
    started: float,
    copy: LoadCopy | None,
) -> int:
    """Primary key from the built index, extent, and the swap; returns the version."""
    layer, city = job.layer, job.city
    quote = conn.dialect.identifier_preparer.quote
    table = f"{quote(city.schema_name)}.{quote(staging.name)}"
    key = quote(f"{layer.id}_{tag}_pkey")
    conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {key} PRIMARY KEY USING INDEX {key}")
    extent = job.extent_lonlat()
    job.report.seconds = round(time.perf_counter() - started, 3)
    return swap_in(
        conn,
        layer,
        city,
        staging.name,
        fingerprint=fp,
        rows=job.report.rows_loaded,
        extent=extent,
        report=job.report.to_dict(),
        # the tile copy commits with the load (the API never builds one)
        prepare=copy.swap_in if copy is not None else None,
    )


def retire(engine: Engine, job: LayerLoad, copy: LoadCopy | None) -> None:
    """Once the swap has committed, still under the load's lock: drop the versions past
    those kept, and the tile copies of other versions, in transactions of their own (the
    layer's readers no longer wait for their files' removal)."""
    retire_versions(engine, job.layer, job.city, job.settings.keep_versions)
    if copy is not None and job.report.version is not None:
        copy.retire_others(engine, job.report.version)


def drop_quietly(engine: Engine, staging: sa.Table) -> None:
    """Drop a staging table a failed load leaves (the live version was never touched)."""
    try:
        with engine.begin() as conn:
            staging.drop(conn, checkfirst=True)
    except sa.exc.SQLAlchemyError:
        pass  # the next load of the layer drops it
