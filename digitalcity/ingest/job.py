"""One load in progress (``LayerLoad``): its source opened, each batch's geometries checked
and its rows mapped, classified and encoded for COPY, and its report completed once every row
is in. Codes are classified through the layer's crosswalk (``Classifier``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from digitalcity.catalog.codes import Crosswalk, code_tables, load_crosswalk
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.catalog.source_encoding import shapefile_part
from digitalcity.catalog.sources import source_root
from digitalcity.config import Settings
from digitalcity.crs import SourceCRS, resolve_crs, transform_geometries
from digitalcity.crs.chinese import place_in_china
from digitalcity.crs.datums import unknown_datum_shift
from digitalcity.db import schema
from digitalcity.errors import LoadError, SourceError
from digitalcity.ingest.attributes import AttributeMapper
from digitalcity.ingest.copybinary import CopyRows, copy_rows, ewkb
from digitalcity.ingest.dbase import deleted_records
from digitalcity.ingest.geometry import GeometryResult, check_geometries
from digitalcity.ingest.joins import JoinedRows, PreparedJoin, normalise_key, prepare_joins
from digitalcity.ingest.numbers import plain_numbers, to_numbers
from digitalcity.ingest.readers import Batch, SourceReader
from digitalcity.ingest.report import LoadReport
from digitalcity.ingest.text_ids import stable_ids
from digitalcity.ingest.threads import in_background
from digitalcity.romanise import romanise_column


@dataclass
class Classifier:
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


def classifier_for(layer: LayerDef, settings: Settings) -> Classifier | None:
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
    return Classifier(
        crosswalk, cls.field, cls.crosswalk.level1_field, cls.crosswalk.level2_field, Counter()
    )


def feature_ids(layer: LayerDef, batch: Batch) -> np.ndarray:
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


class LayerLoad:
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
        self.classifier = classifier_for(layer, settings)
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

    def check(self, batch: Batch) -> Checked:
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
            return Checked(batch, checked, keep, None, None)
        geoms = checked.geometry[keep].astype(object)
        source = batch.wkb.take(pa.array(keep)) if batch.wkb is not None else None
        same = _untouched(batch.geometry[keep], geoms) if source is not None else None
        encoded = ewkb(geoms, self.srid, multi=self.multi, source=source, same=same)
        return Checked(batch, checked, keep, encoded, shapely.bounds(geoms))

    def finish(self, item: Checked) -> tuple[int, int, CopyRows | None]:
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
        fids = pa.array(feature_ids(self.layer, batch)[keep])
        values = [columns[f.name] for f in self.layer.all_fields]
        rows = copy_rows([fids, item.encoded, *values])
        return len(batch), len(keep), rows._replace(source_rows=batch.offset + keep + 1)


def _untouched(read: np.ndarray, checked: np.ndarray) -> np.ndarray:
    """True where the checked geometry is the very object read (not reprojected, repaired or
    cast): its source WKB can be written as it is."""
    return np.fromiter((a is b for a, b in zip(read, checked, strict=True)), bool, len(read))


@dataclass
class Checked:
    batch: Batch
    checked: GeometryResult
    keep: np.ndarray  # positions of the rows with a geometry after checking
    encoded: pa.Array | None  # their EWKB (None when no row is kept)
    bounds: np.ndarray | None  # their bounding boxes, storage CRS


def _check_complete(job: LayerLoad) -> None:
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


def finish_report(job: LayerLoad) -> None:
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
