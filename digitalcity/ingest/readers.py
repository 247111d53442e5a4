"""Read a layer's source file in batches: attribute columns (``Columns``) and geometries.

Spatial formats stream through pyogrio's Arrow reader (memory bounded by the batch size for
formats GDAL streams); CSV streams through Arrow or pandas in batches (``table_rows``); a GeoTIFF grid streams as vector
cells in strips of rows (``raster.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from digitalcity.catalog.delimited_text import (
    HEADER_SCAN_ROWS,
    Dialect,
    holding,
    sniff,
)
from digitalcity.catalog.model import SourceDef
from digitalcity.catalog.ogr_layers import (
    crs_left_unmatched,
    layer_info,
    measures_read_quietly,
    spatial_layers,
)
from digitalcity.catalog.prepared import PreparedSource
from digitalcity.catalog.source_encoding import declared_encoding, source_encoding
from digitalcity.errors import SourceError
from digitalcity.ingest.columns import Columns
from digitalcity.ingest.geoparquet import GeoParquet
from digitalcity.ingest.raster import RasterCells
from digitalcity.ingest.sheets import SHEET_FORMATS, read_sheet
from digitalcity.ingest.table_rows import csv_tables, table_geometry
from digitalcity.ingest.topojson import Topology, read_topology, topojson_frames


@dataclass
class Batch:
    """Rows ``offset .. offset+len`` of the source (0-based, in file order)."""

    offset: int
    attributes: Columns  # Arrow for spatial formats, pandas for the others
    geometry: np.ndarray  # shapely geometries, None where unreadable
    wkb: pa.Array | None = None  # the WKB they were read from, when read as WKB
    known_valid: bool = False  # built valid by the reader (raster cells): not checked again

    def __len__(self) -> int:
        return len(self.attributes)


# Formats whose files hold one layer: no need to list them (GDAL parses a GeoJSON file whole
# at each opening: 25-30 ms for Cambridge's 6,117 street lights, a tenth of their load)
_ONE_LAYER_FORMATS = frozenset({"geojson", "shapefile", "flatgeobuf", "mapinfo"})

# Formats GDAL parses whole when it opens a file (to learn its fields): their stream is opened
# once, when the source is inspected, and read from later, on another thread. Inspected by
# pyogrio's read_info and then opened to be read, a 32 MB GeoJSON of 48,600 buildings was
# parsed twice: 0.40 s each time, of its 1.3 s load; the same buildings as KML (29 MB),
# 0.54 s each time (and once more to list its layers, when the definition names none). Only
# with no encoding given: pyogrio then sets no thread-local GDAL option, which the opening
# thread would keep.
_PARSED_WHOLE = frozenset({"geojson", "kml"})
# What pyogrio warns when it reads the first of several layers because none was named
_SEVERAL_LAYERS = "More than one layer found"
_STREAM_ROWS = 2_000  # the stream's record batches, gathered into the batches asked for


def resolve_path(path: str, data_root: Path) -> Path:
    """A source path from a layer definition, relative to the source data directory."""
    resolved = (data_root / path).resolve() if not Path(path).is_absolute() else Path(path)
    if not resolved.exists():
        raise SourceError(f"missing source file: {resolved}")
    if resolved.is_file() and resolved.stat().st_size == 0:
        raise SourceError(f"empty source file: {resolved}")
    return resolved


def gdal_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


class SourceReader:
    """Iterates a source file in batches; ``file_crs`` and ``total`` are known before reading."""

    def __init__(self, source: SourceDef, data_root: Path, *, in_china: bool = False) -> None:
        """``in_china``: the city lies in China, so a shapefile or CSV file whose text
        encoding nothing declares may be guessed to be GB18030 (``catalog.source_encoding``)."""
        self.source = source
        self.path = resolve_path(source.path, data_root)
        self.origin = str(self.path)  # where the rows come from, as the report names it
        self.format = source.resolved_format
        self.file_crs: str | None = None
        self.total: int | None = None
        self.columns: list[str] = []
        self._topology: Topology | None = None
        self._ogr_layer: str | None = None  # the layer read when source.layer is not set
        self._raster: RasterCells | None = None
        self._sheet: pd.DataFrame | None = None
        self._parquet: GeoParquet | None = None
        self._prepared: PreparedSource | None = None
        self._stream: _OpenStream | None = None  # opened at inspection (``_PARSED_WHOLE``)
        self.dialect = Dialect()
        try:
            self._prepare()
            # the encoding read with; also ``guessed_encoding`` when the definition sets none
            self.encoding = source_encoding(source, self.path, in_china=in_china)
            self.guessed_encoding = self.encoding if source.encoding is None else None
            # what a .cpg declared that its text is not (then ``guessed_encoding`` is read)
            self.overruled_encoding = (
                declared_encoding(self.path)
                if self.guessed_encoding and self.format == "shapefile"
                else None
            )
            self._inspect()
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> None:
        """Read the data file from where it is made readable (an archive unpacked, a
        shapefile repaired: ``catalog.prepared``); for other sources that is where it is."""
        self._prepared = PreparedSource(self.path, self.source.member)
        self.path = self._prepared.path
        if self._prepared.inside is not None:
            self.origin += f" ({self._prepared.inside})"
        inner = self.source.file_format(self.path)
        if inner is None or inner == "zip":
            raise SourceError(f"cannot tell the format of {self.origin}: set source.format")
        self.format = inner

    def _inspect(self) -> None:
        if self.format == "csv":
            self._inspect_csv()
        elif self.format == "geotiff":
            self._raster = RasterCells(self.path, self.source.band)
            self.file_crs, self.columns = self._raster.file_crs, self._raster.columns
        elif self.format in SHEET_FORMATS:
            self._inspect_sheet()
        elif self.format == "topojson":
            self._inspect_topojson()
        elif self.format == "geoparquet":
            self._parquet = GeoParquet(self.path)
            self.file_crs, self.columns = self._parquet.file_crs, self._parquet.columns
            self.total = self._parquet.total
        else:
            self._inspect_ogr()

    def close(self) -> None:
        """Close a stream opened and not read; remove what was made to read the source
        (``catalog.prepared``)."""
        stream, self._stream = self._stream, None
        try:
            if stream is not None:
                stream.closing.close()
        finally:
            if self._prepared is not None:
                self._prepared.close()

    # -- inspection ------------------------------------------------------------------------
    def _layer(self) -> str | int | None:
        return self._ogr_layer if self._ogr_layer is not None else self.source.layer

    def _inspect_ogr(self) -> None:
        try:
            listed = self.source.layer is None and self.format not in _ONE_LAYER_FORMATS
            if self.format in _PARSED_WHOLE and self.encoding is None:
                self._stream = (
                    self._first_layer_unless_several()
                    if listed
                    else _OpenStream.of(self.path, self._layer())
                )
                meta = self._stream.meta
                self.file_crs = meta["crs"]
                self.columns = [str(c) for c in meta["fields"]]
                return  # ``total`` unknown: GDAL counts the features only when asked
            if listed:
                self._ogr_layer = self._only_spatial_layer(*spatial_layers(self.path))
            info = layer_info(self.path, self._layer(), self.encoding)
        except (DataSourceError, DataLayerError) as exc:
            raise SourceError(f"cannot read {self.path.name}: {gdal_message(exc)}") from None
        self.file_crs = info["crs"]
        self.total = int(info["features"]) if info["features"] >= 0 else None
        self.columns = [str(c) for c in info["fields"]]

    def _first_layer_unless_several(self) -> _OpenStream:
        """A source GDAL parses whole at each opening (KML), perhaps of several layers,
        opened without naming one: pyogrio then reads the first and warns when there are
        others. Without that warning the stream is the source's one layer; with it, the
        layers are listed (parsed again) to pick the one with geometry or refuse several,
        and the one picked is opened. Listed, then opened, 31 MB of SYNTHETIC buildings as
        KML took 1.21-1.23 s in a new process; opened alone, 0.63 s, as ogr2ogr opens it."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # recorded, where warnings are errors too
            first = _OpenStream.of(self.path, None)
        several = False
        for warning in caught:
            if str(warning.message).startswith(_SEVERAL_LAYERS):
                several = True
            else:  # passed on as they came
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        if not several:
            return first
        first.closing.close()
        self._ogr_layer = self._only_spatial_layer(*spatial_layers(self.path))
        return _OpenStream.of(self.path, self._layer())

    def _only_spatial_layer(self, names: list[str], spatial: list[str]) -> str | None:
        """Of the layers ``names`` (``spatial``: those with geometry), the one with geometry
        of a source that holds several (a GeoPackage or File Geodatabase with attribute
        tables beside it); None for a single-layer source. Several with geometry: a
        SourceError naming them, rather than loading the first."""
        if len(names) <= 1:
            return None
        if len(spatial) != 1:
            raise SourceError(
                f"{self.path.name} holds {len(spatial)} layers with geometry "
                f"({', '.join(spatial[:20])}): set source.layer to the one to load"
            )
        return spatial[0]

    def _inspect_topojson(self) -> None:
        self._topology = read_topology(self.path)
        members = self._topology.members(self.source.layer)
        self.columns, self.total = self._topology.columns(members), len(members)

    def _inspect_sheet(self) -> None:
        self._sheet = read_sheet(
            self.path, self.source.layer, holding(self.source.location_columns)
        )
        self.columns = [str(c) for c in self._sheet.columns]
        self.total = len(self._sheet)
        self._check_geometry_columns()

    def _check_geometry_columns(self) -> None:
        missing = [c for c in self.source.location_columns if c not in self.columns]
        if missing:
            raise SourceError(
                f"{self.path.name}: geometry columns {missing} not in the header (nor in any "
                f"of the first {HEADER_SCAN_ROWS} rows)"
            )

    @property
    def decimal_comma(self) -> bool:
        """Whether the source writes decimals with a comma (``delimited_text.Dialect``)."""
        return self.dialect.decimal_comma

    def _inspect_csv(self) -> None:
        try:
            self.dialect = sniff(self.path, self.encoding, holding(self.source.location_columns))
            head = pd.read_csv(
                self.path,
                nrows=0,
                sep=self.dialect.separator,
                skiprows=self.dialect.header,
                encoding=self.encoding or "utf-8",
            )
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise SourceError(f"cannot read {self.path.name}: {exc}") from None
        self.columns = list(head.columns)
        self._check_geometry_columns()

    # -- reading ---------------------------------------------------------------------------
    def batches(self, batch_rows: int) -> Generator[Batch, None, None]:
        if self.format == "csv":
            yield from self._csv_batches(batch_rows)
        elif self._sheet is not None:
            for offset in range(0, len(self._sheet), batch_rows):
                chunk = Columns(
                    self._sheet.iloc[offset : offset + batch_rows].reset_index(drop=True)
                )
                yield Batch(offset, chunk, self._csv_geometry(chunk))
        elif self._raster is not None:
            offset = 0
            for frame, cells, wkb in self._raster.cells(batch_rows):
                yield Batch(offset, Columns(frame), cells, wkb, known_valid=True)
                offset += len(frame)
        elif self._parquet is not None:
            offset = 0
            for table, geoms, wkb in self._parquet.batches(batch_rows):
                yield Batch(offset, Columns(table), geoms, wkb)
                offset += len(table)
        elif self._topology is not None:
            offset = 0
            for frame, geoms in topojson_frames(self._topology, self.source.layer, batch_rows):
                yield Batch(offset, Columns(frame.reindex(columns=self.columns)), geoms)
                offset += len(frame)
        else:
            yield from self._ogr_batches(batch_rows)

    def _ogr_batches(self, batch_rows: int) -> Iterator[Batch]:
        from pyogrio.raw import open_arrow

        offset = 0
        try:
            with ExitStack() as opened:
                stream, self._stream = self._stream, None
                tables: Iterator[pa.Table]
                if stream is not None:  # opened at inspection
                    opened.enter_context(stream.closing)
                    meta, tables = stream.meta, _gathered(stream.reader, batch_rows)
                else:
                    with measures_read_quietly(), crs_left_unmatched():  # layer_info's CRS
                        meta, reader = opened.enter_context(
                            open_arrow(
                                self.path,
                                layer=self._layer(),
                                encoding=self.encoding,
                                batch_size=batch_rows,
                                use_pyarrow=True,
                            )
                        )
                    tables = (pa.Table.from_batches([b]) for b in reader)
                geom_name = meta.get("geometry_name") or "wkb_geometry"
                for table in tables:
                    wkb = None
                    if geom_name in table.column_names:
                        wkb = table.column(geom_name).combine_chunks()
                        try:
                            geoms = shapely.from_wkb(
                                wkb.to_numpy(zero_copy_only=False), on_invalid="ignore"
                            )
                        except NotImplementedError:  # curves, which GEOS does not read
                            geoms, wkb = self._linearized(offset, len(table)), None
                        table = table.drop_columns([geom_name])
                    else:
                        geoms = np.full(len(table), None, dtype=object)
                    yield Batch(offset, Columns(table), geoms, wkb)
                    offset += len(table)
        except (DataSourceError, DataLayerError, OSError, RuntimeError) as exc:
            raise SourceError(
                f"cannot read {self.path.name} (after {offset} rows): {gdal_message(exc)}"
            ) from None

    def _linearized(self, offset: int, count: int) -> np.ndarray:
        """The geometries of rows ``offset`` to ``offset + count`` with their curves (circular
        arcs of a GeoPackage, File Geodatabase or GML: curve polygons, compound curves,
        multi-surfaces) approximated by straight segments, as GDAL's reader without Arrow
        gives them: each arc in steps of at most 4 degrees (GDAL's ``OGR_ARC_STEPSIZE``), so a
        point of an arc of radius r lies within 0.0006 r of the segments (6 cm at 100 m).
        Arcs are rare and their batches read twice; the Arrow stream passes curves on as
        they are, which shapely refuses for the whole batch."""
        from pyogrio.raw import read

        with measures_read_quietly():
            _, _, wkb, _ = read(
                self.path,
                layer=self._layer(),
                encoding=self.encoding,
                columns=[],
                skip_features=offset,
                max_features=count,
            )
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        if len(geoms) != count:
            raise SourceError(
                f"cannot read {self.path.name}: {len(geoms)} geometries in rows {offset}-"
                f"{offset + count - 1} read again to approximate their arcs"
            )
        return np.asarray(geoms, dtype=object)

    def _csv_batches(self, batch_rows: int) -> Iterator[Batch]:
        def counted(rows: int) -> None:
            self.total = rows

        tables = csv_tables(
            self.path, self.encoding, self.dialect, self.columns, batch_rows, counted
        )
        for offset, columns in tables:
            yield Batch(offset, columns, self._csv_geometry(columns))

    def _csv_geometry(self, columns: Columns) -> np.ndarray:
        return table_geometry(columns, self.source, decimal_comma=self.decimal_comma)


@dataclass
class _OpenStream:
    """A source's Arrow stream opened ahead of its reading: its metadata, its record
    batches, and what closes it."""

    meta: dict[str, Any]
    reader: Any  # pyarrow.RecordBatchReader
    closing: ExitStack

    @classmethod
    def of(cls, path: Path, layer: str | int | None) -> _OpenStream:
        """``path``'s layer opened (DataSourceError, DataLayerError when GDAL cannot)."""
        from pyogrio.raw import open_arrow

        closing = ExitStack()
        try:
            with measures_read_quietly():
                meta, reader = closing.enter_context(
                    open_arrow(path, layer=layer, batch_size=_STREAM_ROWS, use_pyarrow=True)
                )
        except IndexError:  # pyogrio's answer to a source of no layer (``layer_info``'s too)
            closing.close()
            raise DataLayerError(f"{path.name} holds no layer GDAL can read") from None
        except BaseException:
            closing.close()
            raise
        return cls(meta, reader, closing)


def _gathered(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Consecutive record batches as tables of ``rows`` rows (the last one may hold fewer),
    each column in one chunk."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held).combine_chunks()
            yield table.slice(0, rows)
            rest = table.slice(rows)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held).combine_chunks()
