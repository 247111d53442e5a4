"""GeoParquet sources (``.parquet``: Overture Maps' buildings and places, exports of modern
tools), read by pyarrow in batches, since the GDAL this project runs on has no Parquet driver.

Its ``geo`` metadata names the geometry column, its encoding (WKB is read; GeoArrow's native
encodings are refused with a clear error) and its CRS (PROJJSON; none means OGC:CRS84, as the
specification says).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely

from digitalcity.errors import SourceError

SUFFIXES = (".parquet", ".geoparquet")
# what pyarrow raises for a damaged file: its own errors, and OSError for pages it cannot
# decompress or read ("Corrupt snappy compressed data"), at opening or at any later batch
_UNREADABLE = (pa.ArrowException, OSError)


def is_geoparquet(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


class GeoParquet:
    """One GeoParquet file: its attribute ``columns``, row count (``total``), CRS
    (``file_crs``: WKT) and batches of (attributes, geometries, WKB)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except _UNREADABLE as exc:
            raise SourceError(f"cannot read {path.name}: {exc}") from None
        geo = self._geo()
        self.geometry_column: str = geo["primary_column"]
        described = geo.get("columns", {}).get(self.geometry_column, {})
        if described.get("encoding", "WKB").upper() != "WKB":
            raise SourceError(
                f"{path.name}: geometry encoded as {described['encoding']!r}; only WKB is read "
                "(write it with geometry_encoding='WKB')"
            )
        crs = described.get("crs", "OGC:CRS84")
        try:
            self.file_crs = (
                None if crs is None else pyproj.CRS.from_user_input(crs).to_wkt()
            )  # null: "undefined", left to source.crs
        except pyproj.exceptions.CRSError as exc:
            raise SourceError(f"{path.name}: unreadable CRS in its metadata: {exc}") from None
        names = self._file.schema_arrow.names
        if self.geometry_column not in names:
            raise SourceError(f"{path.name}: no geometry column {self.geometry_column!r}")
        self.columns = [n for n in names if n != self.geometry_column]
        self.total = self._file.metadata.num_rows

    def _geo(self) -> dict:
        metadata = self._file.schema_arrow.metadata or {}
        try:
            geo = json.loads(metadata[b"geo"])
            geo["primary_column"]  # noqa: B018 - required
        except (KeyError, ValueError, TypeError):
            raise SourceError(
                f"{self.path.name}: a Parquet file without GeoParquet metadata (no 'geo' key)"
            ) from None
        return geo

    def batches(self, batch_rows: int) -> Iterator[tuple[pa.Table, np.ndarray, pa.Array]]:
        """(attribute table, shapely geometries, their WKB) per ``batch_rows`` rows."""
        try:
            for batch in self._file.iter_batches(batch_size=batch_rows, use_threads=False):
                table = pa.Table.from_batches([batch])
                wkb = table.column(self.geometry_column).combine_chunks()
                geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False), on_invalid="ignore")
                yield table.drop_columns([self.geometry_column]), geoms, wkb
        except _UNREADABLE as exc:
            raise SourceError(f"cannot read {self.path.name}: {exc}") from None

    def column(self, name: str) -> pa.Array:
        """One attribute column, whole (for the checks of a definition)."""
        try:
            return self._file.read(columns=[name]).column(name).combine_chunks()
        except _UNREADABLE as exc:
            raise SourceError(f"cannot read {self.path.name}: {exc}") from None
