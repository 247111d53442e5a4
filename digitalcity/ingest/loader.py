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
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
import sqlalchemy as sa
import xxhash
from sqlalchemy.engine import Connection, Engine
from tqdm import tqdm

from digitalcity.catalog.codes import Crosswalk, code_tables, load_crosswalk
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.catalog.source_encoding import shapefile_part
from digitalcity.catalog.sources import source_root
from digitalcity.config import Settings
from digitalcity.crs import SourceCRS, resolve_crs, transform_geometries
from digitalcity.crs.chinese import place_in_china
from digitalcity.crs.datums import unknown_datum_shift
from digitalcity.db import schema
from digitalcity.db.versions import current_version, record_swap, retire_versions, swap_in
from digitalcity.errors import LoadError, SourceError
from digitalcity.ingest.attributes import AttributeMapper
from digitalcity.ingest.copybinary import CopyRows, RefusedValue, copy_into, copy_rows, ewkb
from digitalcity.ingest.dbase import deleted_records
from digitalcity.ingest.geometry import GeometryResult, check_geometries
from digitalcity.ingest.joins import JoinedRows, PreparedJoin, normalise_key, prepare_joins
from digitalcity.ingest.numbers import plain_numbers, to_numbers
from digitalcity.ingest.readers import Batch, SourceReader, resolve_path
from digitalcity.ingest.report import LoadReport
from digitalcity.ingest.text_ids import stable_ids
from digitalcity.ingest.tilecopy import TileCopyWriter
from digitalcity.ingest.webmercator import projects_as_lonlat
from digitalcity.romanise import romanise_column
from digitalcity.tiles.prepare import LoadCopy

_HASH_CHUNK = 1 << 20
# part of every fingerprint: bump when what a load stores from the same input changes (2: the
# "structure" repair, NUL characters dropped, integers beyond 64 bits nulled)
LOADER_VERSION = 4  # 3: every load recorded in the history; 4: Arrow integers keep every digit
T = TypeVar("T")


def _file_digest(path: Path, digest: xxhash.xxh3_128) -> None:
    """Hash a source: a file, a shapefile with its sibling files, or a folder (a File
    Geodatabase) with every file in it, by name and content."""
    digest.update(str(path.name).encode())
    folder = path.is_dir()
    if folder:
        siblings = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.suffix.lower() == ".shp":
        siblings = [path] + sorted(p for p in path.parent.glob(path.stem + ".*") if p != path)
    else:
        siblings = [path]
    for part in siblings:
        if folder:  # its files' names too (a file's own name is hashed above)
            digest.update(str(part.relative_to(path)).encode())
        with part.open("rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)


def in_background(fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` started on a thread of its own."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=f"ingest-{fn.__name__}")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


# What a layer definition says about showing the layer, not about its rows: neither the
# load nor the tile copy reads it (the map reads it from the definition, and tile keys hold
# the whole definition's digest), so changing a colour or a title reloads nothing.
PRESENTATION = set("title description style label label_field default_on theme order".split())
CITY_PRESENTATION = {"title", "default_zoom", "demo"}  # the same of a city's definition


def fingerprint(layer: LayerDef, city: CityDef, settings: Settings) -> str:
    """A hash of the loader's version, the layer's and the city's definitions (but their
    ``PRESENTATION``) and every input file: equal fingerprints load equal rows.

    XXH3 (128 bits): it tells changed inputs from unchanged ones, which needs no
    cryptographic hash (whoever can rewrite the inputs can load anything), at 8 ms for a
    104 MB GeoPackage against SHA-256's 64 ms. Every layer of a city held in one GeoPackage
    hashes all of it, on a thread beside the load's start."""
    digest = xxhash.xxh3_128(f"loader {LOADER_VERSION}".encode())
    digest.update(layer.model_dump_json(exclude=PRESENTATION).encode())
    digest.update(city.model_dump_json(exclude=CITY_PRESENTATION).encode())
    root = source_root(city, settings.source_data_dir)
    paths = [resolve_path(layer.source.path, root)]
    paths += [resolve_path(j.path, root) for j in layer.source.joins]
    if layer.classification and layer.classification.crosswalk:
        paths.append(settings.layers_dir / layer.classification.crosswalk.file)
    for path in paths:
        _file_digest(path, digest)
    return digest.hexdigest()


@dataclass
class _Classifier:
    crosswalk: Crosswalk
    code_field: str
    level1: str
    level2: str
    unclassified: Counter[str]

    def apply(self, columns: dict[str, pa.Array]) -> None:
        """Add the level-1 and level-2 columns: each distinct code is looked up once."""
        codes = columns[self.code_field].cast(pa.string()).dictionary_encode()
        hits = [self.crosswalk.lookup(code) for code in codes.dictionary.to_pylist()]
        counts = pc.value_counts(codes.indices.fill_null(-1)).to_pylist()
        for entry in counts:
            index, n = entry["values"], entry["counts"]
            if index >= 0 and hits[index] is None:
                self.unclassified[codes.dictionary[index].as_py()] += n
        for name, level in ((self.level1, 0), (self.level2, 1)):
            values = pa.array([hit[level] if hit else None for hit in hits], type=pa.string())
            columns[name] = values.take(codes.indices)


def _classifier(layer: LayerDef, settings: Settings) -> _Classifier | None:
    cls = layer.classification
    if not cls or not cls.crosswalk:
        return None
    tables = code_tables(settings.layers_dir)
    if cls.crosswalk.to not in tables:
        raise LoadError(f"{layer.qualified_id}: unknown code system {cls.crosswalk.to!r}")
    crosswalk = load_crosswalk(
        settings.layers_dir / cls.crosswalk.file,
        tables[cls.crosswalk.to],
        cls.normaliser,
    )
    return _Classifier(
        crosswalk, cls.field, cls.crosswalk.level1_field, cls.crosswalk.level2_field, Counter()
    )


def _feature_ids(layer: LayerDef, batch: Batch) -> np.ndarray:
    rows = np.arange(batch.offset + 1, batch.offset + len(batch) + 1, dtype=np.int64)
    if not layer.source.id_field:
        return rows
    if layer.source.id_from_text:
        return _ids_from_text(layer, batch)
    read = batch.attributes.arrow(layer.source.id_field)
    if read is not None and pa.types.is_integer(read.type) and read.null_count == 0:
        try:  # as read (a GeoPackage's integers): 33 ms of a 246,900-road load through pandas
            return np.asarray(read.cast(pa.int64()).to_numpy(), dtype=np.int64)
        except pa.ArrowInvalid:  # unsigned beyond int64: refused below, as before
            pass
    whole = plain_numbers(read) if read is not None else None  # a CSV file's text, by Arrow
    if whole is not None and whole.dtype == np.int64:
        return whole
    ids = to_numbers(batch.attributes.series(layer.source.id_field))
    if ids.isna().any() or (ids != np.round(ids)).any():
        raise LoadError(
            f"{layer.qualified_id}: id_field {layer.source.id_field!r} must hold whole numbers "
            f"(row {int(batch.offset + np.flatnonzero(ids.isna() | (ids != np.round(ids)))[0] + 1)})"
        )
    return ids.to_numpy(dtype=np.int64)


def _ids_from_text(layer: LayerDef, batch: Batch) -> np.ndarray:
    """Ids derived from a column of text codes (``text_ids``); a row without a code is a
    LoadError naming it."""
    codes = batch.attributes.series(str(layer.source.id_field)).astype("string").str.strip()
    blank = (codes.isna() | (codes == "")).to_numpy(dtype=bool)
    if blank.any():
        raise LoadError(
            f"{layer.qualified_id}: id_field {layer.source.id_field!r} is empty in row "
            f"{int(batch.offset + np.flatnonzero(blank)[0] + 1)}; previous version kept"
        )
    return stable_ids(codes.tolist())


class _LayerLoad:
    """The state of one load in progress."""

    def __init__(self, layer: LayerDef, city: CityDef, settings: Settings) -> None:
        self.layer, self.city, self.settings = layer, city, settings
        # The join tables are read and reduced in the background, while the source is opened
        # and its first batch checked; the first batch to be joined waits for them.
        root = source_root(city, settings.source_data_dir)
        in_china = place_in_china(city.center, city.bbox)
        self._joins = in_background(prepare_joins, layer, root, in_china)
        self.reader = SourceReader(layer.source, root, in_china=in_china)
        self.mapper = AttributeMapper(layer.all_fields, decimal_comma=self.reader.decimal_comma)
        where = Path(self.reader.origin).name
        missing = self.mapper.missing_columns(self.reader.columns)
        if layer.source.id_field and layer.source.id_field not in self.reader.columns:
            missing.append(layer.source.id_field)
        for join in layer.source.joins:
            if join.how == "key" and join.left_key not in self.reader.columns:
                missing.append(str(join.left_key))
        if missing:
            raise SourceError(
                f"{where}: columns {sorted(set(missing))} not found "
                f"(has {', '.join(self.reader.columns)})"
            )
        self.classifier = _classifier(layer, settings)
        self.romanised = [f for f in layer.fields if f.romanise is not None]
        self.source_crs: SourceCRS | None = None
        self.storage_geographic = pyproj.CRS.from_user_input(city.storage_crs).is_geographic
        self.srid = schema.storage_srid(city)
        self.multi = layer.geometry_type.startswith("Multi")
        self.bounds: np.ndarray | None = None  # of the rows kept so far, storage CRS
        self.report = LoadReport(city.id, layer.id, self.reader.origin)
        self.report.encoding_guessed = self.reader.guessed_encoding
        self.report.encoding_overruled = self.reader.overruled_encoding
        self.columns = ["fid", "geom", *(f.name for f in layer.all_fields)]

    def _grow_bounds(self, bounds: np.ndarray) -> None:
        box = np.concatenate([bounds[:, :2].min(axis=0), bounds[:, 2:].max(axis=0)])
        if self.bounds is not None:
            box = np.concatenate(
                [np.minimum(box[:2], self.bounds[:2]), np.maximum(box[2:], self.bounds[2:])]
            )
        self.bounds = box

    def extent_lonlat(self) -> list[float] | None:
        """The loaded geometries' bounding box in WGS84 lon/lat (its corners transformed)."""
        if self.bounds is None:
            return None
        box = np.array([shapely.box(*self.bounds)], dtype=object)
        storage = SourceCRS(pyproj.CRS.from_user_input(self.city.storage_crs))
        lonlat = transform_geometries(box, storage, "EPSG:4326")[0]
        return [float(v) for v in lonlat.bounds]

    @property
    def joins(self) -> list[PreparedJoin]:
        """The prepared joins (waits for them; raises what preparing them raised)."""
        return self._joins.result()

    def _crs_for(self, batch: Batch) -> SourceCRS:
        if self.source_crs is None:
            sample = shapely.get_coordinates(
                batch.geometry[~shapely.is_missing(batch.geometry)][:50]
            )
            self.source_crs = resolve_crs(
                self.layer.source.crs, self.reader.file_crs, sample[:, 0] if len(sample) else None
            )
        return self.source_crs

    def _joined(self, batch: Batch, keep: np.ndarray) -> dict[str, JoinedRows]:
        """The join rows matched by the kept rows of a batch."""
        joined = {}
        for pj in self.joins:
            if pj.join.how == "row_order":
                keys = pd.Series(batch.offset + keep)
            else:
                column = batch.attributes.take(keep).series(str(pj.join.left_key))
                keys = normalise_key(column).reset_index(drop=True)
            joined[pj.join.name] = pj.match(keys)
        return joined

    def check(self, batch: Batch) -> _Checked:
        """Stage one of a batch: its geometries checked, repaired, reprojected and cast, and
        the kept ones bounded and encoded (EWKB; a geometry left as read keeps the WKB it was
        read with, ``copybinary.reused_wkb``)."""
        checked = check_geometries(
            batch.geometry,
            self._crs_for(batch),
            self.city,
            self.layer.geometry_type,
            self.storage_geographic,
            # CAD draws areas as closed polylines; other formats have polygons for them
            closed_lines_are_polygons=self.reader.format == "dxf",
            known_valid=batch.known_valid,
        )
        keep = np.flatnonzero(~shapely.is_missing(checked.geometry))
        if not len(keep):
            return _Checked(batch, checked, keep, None, None)
        geoms = checked.geometry[keep].astype(object)
        source = batch.wkb.take(pa.array(keep)) if batch.wkb is not None else None
        same = _untouched(batch.geometry[keep], geoms) if source is not None else None
        encoded = ewkb(geoms, self.srid, multi=self.multi, source=source, same=same)
        return _Checked(batch, checked, keep, encoded, shapely.bounds(geoms))

    def finish(self, item: _Checked) -> tuple[int, int, CopyRows | None]:
        """Stage two: rows read, rows kept and their COPY rows; rejections go to the report.
        Batches pass here one at a time and in order (the report and join counts are shared)."""
        batch, checked, keep = item.batch, item.checked, item.keep
        report = self.report
        report.rows_read += len(batch)
        for pos, reason in sorted(checked.rejected.items()):
            report.rejected.append((batch.offset + pos + 1, reason))
        report.repaired.extend(batch.offset + pos + 1 for pos in checked.repaired)
        report.flattened += checked.flattened
        if not len(keep):
            return len(batch), 0, None
        assert item.encoded is not None and item.bounds is not None
        self._grow_bounds(item.bounds)
        attributes = batch.attributes.take(keep)
        joined = self._joined(batch, keep)
        columns = self.mapper.map(attributes, joined)
        if self.classifier:
            self.classifier.apply(columns)
        for f in self.romanised:
            columns[f.name] = romanise_column(columns[str(f.romanise)])
        fids = pa.array(_feature_ids(self.layer, batch)[keep])
        values = [columns[f.name] for f in self.layer.all_fields]
        rows = copy_rows([fids, item.encoded, *values])
        return len(batch), len(keep), rows._replace(source_rows=batch.offset + keep + 1)


def _untouched(read: np.ndarray, checked: np.ndarray) -> np.ndarray:
    """True where the checked geometry is the very object read (not reprojected, repaired or
    cast): its source WKB can be written as it is."""
    return np.fromiter((a is b for a, b in zip(read, checked, strict=True)), bool, len(read))


@dataclass
class _Checked:
    batch: Batch
    checked: GeometryResult
    keep: np.ndarray  # positions of the rows with a geometry after checking
    encoded: pa.Array | None  # their EWKB (None when no row is kept)
    bounds: np.ndarray | None  # their bounding boxes, storage CRS


def _batch_rows(job: _LayerLoad, most: int) -> int:
    """Rows per batch: about a quarter of the input (so its stages overlap), 2,000 to ``most``."""
    if job.reader.total is None:
        return most
    return max(2_000, min(most, -(-job.reader.total // 4)))


_Finished = tuple[int, int, CopyRows | None]  # rows read, rows kept, their COPY rows


class _Pipeline:
    """(rows read, rows kept, COPY data) per batch, in order, from a three-stage pipeline:
    while the caller copies batch n into the database, batch n + 1 is mapped and encoded
    (``finish``) and batch n + 2 is read and its geometries checked (``check``), each stage on
    its own thread (GEOS, Arrow and libpq release the GIL). At most four batches are held.

    The first two batches are read and checked, and the first one finished, from
    construction on: while the load asks the database how to write its tile copy, takes its
    lock and creates its tables (60-80 ms of a 0.5 s load of 24,000 SYNTHETIC land-use
    polygons in a new process). ``close`` (also reached at the end) stops the stages and
    closes the source, whether or not the pipeline was iterated."""

    def __init__(self, job: _LayerLoad, batch_rows: int) -> None:
        self._job = job
        self._batches = job.reader.batches(_batch_rows(job, batch_rows))
        self._checkers, self._finishers = _stage_thread("check"), _stage_thread("finish")
        self._pending: list[Future[Any]] = []  # not done yet: a done one is let go with its batch
        self._closed = False
        first = self._submit(self._checkers, self._check_next)
        self._finishing: Future[_Finished] | None = self._submit(
            self._finishers, self._finish_checked, first
        )
        self._checking: Future[_Checked | None] | None = self._submit(
            self._checkers, self._check_next
        )

    def _check_next(self) -> _Checked | None:
        batch = next(self._batches, None)
        return None if batch is None else self._job.check(batch)

    def _finish_checked(self, checking: Future[_Checked | None]) -> _Finished:
        """The first batch finished once checked (no row read nor kept: the source has none)."""
        item = checking.result()
        return (0, 0, None) if item is None else self._job.finish(item)

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
        self._pending[:] = [f for f in self._pending if not f.done()]
        self._pending.append(future := pool.submit(fn, *args))
        return future

    def __iter__(self) -> _Pipeline:
        return self

    def __next__(self) -> _Finished:
        if self._closed:  # as a closed generator
            raise StopIteration
        try:
            while self._checking is not None:
                item = self._checking.result()
                following = None
                if item is None:
                    self._checking = None
                else:
                    self._checking = self._submit(self._checkers, self._check_next)
                    following = self._submit(self._finishers, self._job.finish, item)
                del item
                finishing, self._finishing = self._finishing, following
                if finishing is not None:
                    return finishing.result()
        except BaseException:
            self.close()
            raise
        self.close()
        raise StopIteration

    def close(self) -> None:
        """Stop the stages (their tasks end before the source is closed) and close the
        source; the stage threads outlive the load."""
        if self._closed:
            return
        self._closed = True
        for future in self._pending:
            future.cancel()
        wait(self._pending)
        # on the thread that read it: pyogrio sets a shapefile's encoding for the reading
        # thread alone (GDAL's SHAPE_ENCODING) and puts it back on the thread that closes
        # the stream, so a load stopped early left the check thread reading GB18030
        self._checkers.submit(self._batches.close).result()


# The pipeline's stages run on threads kept for the process's later loads (a city's layers):
# pyproj builds a transformation anew in each thread that first uses it, which a thread per
# load paid at every load (a shapefile's own Transverse Mercator .prj into CGCS2000: 0.37 s,
# more than its 661 polygons take to load). A forked child starts its own threads.
_STAGE_THREADS: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_STAGE_THREADS_LOCK = threading.Lock()


def _stage_thread(stage: str) -> ThreadPoolExecutor:
    """The one thread of a pipeline stage, shared by the process's loads (a second load at
    the same time queues its batches behind the first's)."""
    with _STAGE_THREADS_LOCK:
        pid, pool = _STAGE_THREADS.get(stage, (None, None))
        if pool is None or pid != os.getpid():
            pool = ThreadPoolExecutor(1, thread_name_prefix=f"ingest-{stage}")
            _STAGE_THREADS[stage] = (os.getpid(), pool)
        return pool


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
    in_background(_warm_pool, engine)
    # asked of the database beside the opening (a new process's first ST_Transform: 30-40 ms)
    projecting = in_background(_copy_projected, engine, city) if settings.tile_copies else None
    # The source is opened beside the hash, and not waited for when the inputs turn out
    # unchanged: opening can cost more than comparing (a .prj of the bureau's own keeps GDAL
    # 0.14 s; an archive is unpacked), and a city's reload finds most layers unchanged.
    opening = in_background(_LayerLoad, layer, city, settings)
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
        with closing(_Pipeline(job, settings.copy_batch_rows)) as prepared:
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


def _close_unused(opening: Future[_LayerLoad]) -> None:
    """Remove what opening a source made (an archive unpacked), once it is open."""
    if opening.exception() is None:
        opening.result().reader.close()


def _load_job(
    job: _LayerLoad,
    prepared: _Pipeline,
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
            guard.execute(_LOAD_LOCK, {"key": layer.qualified_id})  # one load per layer at a time
            guard.commit()
            try:
                _stage(engine, job, staging, prepared, copy)
                try:
                    with engine.begin() as conn:  # the swap's, begun by its first half
                        _prepare_for_swap(
                            engine,
                            staging,
                            layer,
                            tag,
                            copy,
                            recorded=lambda: record_swap(conn, layer, city, staging.name),
                        )
                        fp = fingerprinting.result()
                        job.report.version = _swap(conn, job, staging, fp, tag, started, copy)
                except BaseException:
                    _drop_quietly(engine, staging)
                    if copy is not None:
                        copy.drop(engine)
                    raise
                _retire(engine, job, copy)
            finally:
                guard.execute(_LOAD_UNLOCK, {"key": layer.qualified_id})
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


# the lock's, then the two COPYs' (layer, tile copy) or the index builds' and the swap's
_CONNECTIONS_AT_ONCE = 4


def _warm_pool(engine: Engine) -> None:
    """Open the connections a load holds at once while its source is being opened (each new
    one costs a password exchange: 6-12 ms); they wait in the pool. Errors are left for the
    load's own connections to raise."""
    with ExitStack() as held:
        try:
            for _ in range(_CONNECTIONS_AT_ONCE):
                held.enter_context(engine.connect())
        except sa.exc.SQLAlchemyError:
            pass


_LOAD_LOCK = sa.text("SELECT pg_advisory_lock(hashtext('load:' || :key))")
_LOAD_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtext('load:' || :key))")


def _stage(
    engine: Engine, job: _LayerLoad, staging: sa.Table, prepared: _Pipeline, copy: LoadCopy | None
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
        _finish_report(job)


def _prepare_for_swap(
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


def _swap(
    conn: Connection,
    job: _LayerLoad,
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


def _retire(engine: Engine, job: _LayerLoad, copy: LoadCopy | None) -> None:
    """Once the swap has committed, still under the load's lock: drop the versions past
    those kept, and the tile copies of other versions, in transactions of their own (the
    layer's readers no longer wait for their files' removal)."""
    retire_versions(engine, job.layer, job.city, job.settings.keep_versions)
    if copy is not None and job.report.version is not None:
        copy.retire_others(engine, job.report.version)


def _drop_quietly(engine: Engine, staging: sa.Table) -> None:
    """Drop a staging table a failed load leaves (the live version was never touched)."""
    try:
        with engine.begin() as conn:
            staging.drop(conn, checkfirst=True)
    except sa.exc.SQLAlchemyError:
        pass  # the next load of the layer drops it


def _check_complete(job: _LayerLoad) -> None:
    """A LoadError when fewer rows were read than the source declares (a file cut short: a
    partial copy or download, whose rows GDAL stops reading with a message on stderr only);
    a shapefile's records flagged deleted are declared but never read."""
    declared, read = job.reader.total, job.report.rows_read
    if declared is None or read >= declared:
        return
    if job.reader.format == "shapefile":
        dbf = shapefile_part(job.reader.path, ".dbf")
        declared -= deleted_records(dbf) if dbf is not None else 0
    if read < declared:
        raise LoadError(
            f"{job.layer.qualified_id}: read {read} of the {declared} features "
            f"{Path(job.reader.origin).name} declares: the file looks cut short (a partial copy "
            "or download); previous version kept"
        )


def _finish_report(job: _LayerLoad) -> None:
    report = job.report
    _check_complete(job)
    for pj in job.joins:
        report.joins[pj.join.name] = {
            "matched": pj.matched,
            "unmatched": pj.unmatched,
            "examples": pj.unmatched_examples,
        }
        if report.rows_loaded and pj.matched == 0:
            raise LoadError(
                f"{job.layer.qualified_id}: join {pj.join.name!r} matched none of "
                f"{report.rows_loaded} rows (keys {pj.join.left_key or 'row order'} ↔ "
                f"{pj.join.right_key or pj.join.row_id or 'row order'}, e.g. "
                f"{pj.unmatched_examples[:3]}); previous version kept"
            )
    report.coerced_to_null = dict(job.mapper.coerced)
    if job.source_crs is not None and job.source_crs.offset is None:
        storage = pyproj.CRS.from_user_input(job.city.storage_crs)
        shift = unknown_datum_shift(job.source_crs.crs, storage, job.city.bbox)
        if shift:
            report.warnings.append(shift)
    if job.classifier:
        report.unclassified = sum(job.classifier.unclassified.values())
        report.unclassified_codes = dict(job.classifier.unclassified.most_common(20))
    if report.rows_loaded == 0:
        raise LoadError(
            f"{job.layer.qualified_id}: no valid rows among {report.rows_read} "
            f"({', '.join(f'{n}× {r}' for r, n in report.rejection_reasons().most_common(3))}); "
            "previous version kept"
        )
