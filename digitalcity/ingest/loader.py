"""Load one layer: read → CRS → validate & repair → map attributes and codes → COPY → swap.

Under a per-layer advisory lock, the rows are copied into a staging table (committed) and,
on another connection at the same time, into the EPSG:3857 tile copy (``TileCopyWriter``);
the indexes and statistics of both are built on two connections at once; one transaction
turns both into the layer's current version. A failure
at any step drops the staging table and its tile copy and leaves the previous version of the
layer untouched and queryable.
"""

from __future__ import annotations

import gc
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import closing, contextmanager

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.catalog.sources import source_root
from digitalcity.config import Settings
from digitalcity.db import schema
from digitalcity.db.versions import current_version, record_swap
from digitalcity.errors import LoadError
from digitalcity.ingest.fingerprints import fingerprint
from digitalcity.ingest.job import LayerLoad
from digitalcity.ingest.pipeline import Pipeline
from digitalcity.ingest.readers import resolve_path
from digitalcity.ingest.report import LoadReport
from digitalcity.ingest.staging import (
    LOAD_LOCK,
    LOAD_UNLOCK,
    copy_into_staging,
    drop_quietly,
    prepare_for_swap,
    retire,
    swap,
    warm_pool,
)
from digitalcity.ingest.threads import in_background
from digitalcity.ingest.webmercator import projects_as_lonlat
from digitalcity.tiles.prepare import LoadCopy

__all__ = ["fingerprint", "load_layer"]


def load_layer(
    layer: LayerDef,
    city: CityDef,
    engine: Engine,
    settings: Settings,
    *,
    force: bool = False,
) -> LoadReport:
    """Load ``layer`` from its source into PostGIS as a new version; see the module docstring.

    Raises SourceError / LoadError (one-line messages) and leaves the database unchanged on
    failure. Returns the report; ``status == "unchanged"`` when the inputs are identical to the
    current version's (unless ``force``).
    """
    with _collector_frozen():
        return _load(layer, city, engine, settings, force)


@contextmanager
def _collector_frozen() -> Iterator[None]:
    """The objects that exist when a load starts (modules, the caller's data), and those
    frozen again inside (the parsed source), are left out of the cyclic garbage collector's
    passes until the load ends; the collector kept scanning them while the load allocated
    (0.07 s of 0.78 s on the real parcels). All are collectable again afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _load(
    layer: LayerDef,
    city: CityDef,
    engine: Engine,
    settings: Settings,
    force: bool,
) -> LoadReport:
    started = time.perf_counter()
    fingerprinting = in_background(fingerprint, layer, city, settings)  # hashing frees the GIL
    in_background(warm_pool, engine)
    # asked of the database beside the opening (a new process's first ST_Transform: 30-40 ms)
    projecting = in_background(_copy_projected, engine, city) if settings.tile_copies else None
    # The source is opened beside the hash, and not waited for when the inputs turn out
    # unchanged: opening can cost more than comparing (a .prj of the bureau's own keeps GDAL
    # 0.14 s; an archive is unpacked), and a city's reload finds most layers unchanged.
    opening = in_background(LayerLoad, layer, city, settings)
    if not force:
        try:
            fp: str | None = fingerprinting.result()
        except OSError:  # an input missing or unreadable: opening the source says which
            fp = None
        unchanged = _unchanged(layer, city, engine, settings, fp) if fp else None
        if unchanged is not None:
            opening.add_done_callback(_close_unused)
            return unchanged
    job = opening.result()
    gc.freeze()  # the source as opened (a TopoJSON document is held whole)
    try:
        # started first: its first batches are read and checked while the load gets ready
        with closing(Pipeline(job, settings.copy_batch_rows)) as prepared:
            return _load_job(job, prepared, engine, started, fingerprinting, projecting)
    finally:
        job.reader.close()  # an archive's unpacked files


def _copy_projected(engine: Engine, city: CityDef) -> bool:
    """Whether a load's tile copy takes rows projected by the loader (``webmercator``)."""
    return projects_as_lonlat(engine, schema.storage_srid(city), city.bbox)


def _unchanged(
    layer: LayerDef, city: CityDef, engine: Engine, settings: Settings, fp: str
) -> LoadReport | None:
    """The report of a load whose inputs are the current version's (equal fingerprints),
    or None."""
    with engine.connect() as conn:
        current = current_version(conn, layer)
    if current is None or current.fingerprint != fp:
        return None
    source = resolve_path(layer.source.path, source_root(city, settings.source_data_dir))
    report = LoadReport(city.id, layer.id, str(source), status="unchanged")
    report.version = current.version
    report.rows_loaded = report.rows_read = current.rows
    return report


def _close_unused(opening: Future[LayerLoad]) -> None:
    """Remove what opening a source made (an archive unpacked), once it is open."""
    if opening.exception() is None:
        opening.result().reader.close()


def _load_job(
    job: LayerLoad,
    prepared: Pipeline,
    engine: Engine,
    started: float,
    fingerprinting: Future[str],
    projecting: Future[bool] | None,
) -> LoadReport:
    """The load of an opened source, its batches coming from ``prepared``; ``projecting``
    (None: no tile copy) says whether the tile copy's rows are projected by the loader
    (``webmercator``)."""
    layer, city = job.layer, job.city
    staging = schema.layer_table(layer, city, schema.staging_table_name(layer), primary_key=False)
    tag = secrets.token_hex(3)
    copy = None
    if projecting is not None:
        copy = LoadCopy(layer, city, tag, projected=projecting.result())
    try:
        with engine.connect() as guard:
            guard.execute(LOAD_LOCK, {"key": layer.qualified_id})  # one load per layer at a time
            guard.commit()
            try:
                copy_into_staging(engine, job, staging, prepared, copy)
                try:
                    with engine.begin() as conn:  # the swap's, begun by its first half
                        prepare_for_swap(
                            engine,
                            staging,
                            layer,
                            tag,
                            copy,
                            recorded=lambda: record_swap(conn, layer, city, staging.name),
                        )
                        fp = fingerprinting.result()
                        job.report.version = swap(conn, job, staging, fp, tag, started, copy)
                except BaseException:
                    drop_quietly(engine, staging)
                    if copy is not None:
                        copy.drop(engine)
                    raise
                retire(engine, job, copy)
            finally:
                guard.execute(LOAD_UNLOCK, {"key": layer.qualified_id})
                guard.commit()
    except sa.exc.IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        detail = getattr(diag, "message_detail", None) or str(exc.orig).splitlines()[0]
        column = f"id_field {layer.source.id_field!r}" if layer.source.id_field else "the ids"
        raise LoadError(
            f"{layer.qualified_id}: duplicate feature ids: {column} must be unique ({detail}); "
            "previous version kept"
        ) from None
    except psycopg.DataError as exc:  # a value the COPY refused (the mapping should not let one by)
        raise LoadError(
            f"{layer.qualified_id}: the database refused a value ({str(exc).splitlines()[0]}); "
            "previous version kept"
        ) from None
    job.report.seconds = round(time.perf_counter() - started, 3)
    return job.report
