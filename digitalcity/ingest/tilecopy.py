"""The load's tile copy written as the staging table is: each batch of COPY data the loader
sends to the staging table goes to the copy too, on a connection and thread of their own,
while the next batches are read and copied. On that thread its geometries are projected to
EPSG:3857 (``webmercator``) when the layer is stored in lon/lat that PostGIS projects as it
does EPSG:4326 (``projects_as_lonlat``); otherwise the copy's row trigger reprojects them
(``LoadCopy``)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from sqlalchemy.engine import Engine

from digitalcity.errors import LoadError
from digitalcity.ingest.copybinary import CopyRows, copy_into
from digitalcity.ingest.webmercator import projected_rows
from digitalcity.tiles.prepare import SCHEMA, LoadCopy

# Batches the copy may trail the staging table by: a row trigger makes it the slower of the
# two COPYs, and at one batch behind the loader waited on it 0.6-0.75 s of a 246,900-road load
# (3.2-3.7 s at four, against 3.2-4.9 s at one).
AHEAD = 4


class TileCopyWriter:
    """Writes batches into ``copy`` one after another, at most ``AHEAD`` behind the caller;
    used as a context manager, it commits the copy on a clean exit and rolls it back (so it
    never exists) when the load fails."""

    def __init__(self, engine: Engine, copy: LoadCopy, columns: list[str]) -> None:
        self.copy, self.columns = copy, columns
        self._conn = engine.connect()
        self._transaction = self._conn.begin()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-tile-copy")
        # created on the copy's thread, while the caller creates the layer's staging table;
        # a failure is raised by the first write or the flush
        self._pending: deque[Future[None]] = deque([self._pool.submit(copy.create, self._conn)])

    def write(self, rows: CopyRows) -> None:
        """Queue one batch (the layer table's COPY rows) once fewer than ``AHEAD`` are queued
        (raises what a batch written meanwhile raised)."""
        while len(self._pending) >= AHEAD:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._copy, rows))

    def _copy(self, rows: CopyRows) -> None:
        try:
            data = projected_rows(rows.data, rows.starts) if self.copy.projected else rows.data
            copy_into(self._conn, SCHEMA, self.copy.name, self.columns, data, rows.source_rows)
        except LoadError as exc:
            raise LoadError(
                f"{self.copy.layer.qualified_id}: {exc}; previous version kept"
            ) from None

    def flush(self) -> None:
        """Wait until every queued batch is in; raises what writing one raised."""
        while self._pending:
            self._pending.popleft().result()

    def __enter__(self) -> TileCopyWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close(commit=kind is None)

    def _close(self, *, commit: bool) -> None:
        try:
            if commit:
                self.flush()
                self.copy.release(self._conn)
                self._transaction.commit()
        finally:
            self._pool.shutdown(wait=True)  # a failed load's batch in flight ends first
            if self._transaction.is_active:
                self._transaction.rollback()
            self._conn.close()
