"""A source's data file made readable before anything reads it: an archive unpacked
(``archives``), a shapefile repaired (its missing index rebuilt, its field names cut inside a
character mended: ``shapefile_repair``), each in a temporary folder so that the source folder
is never written to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from digitalcity.catalog.archives import Unpacked, is_archive
from digitalcity.catalog.shapefile_repair import RepairedShapefile, needs_repair


class _Made(Protocol):
    def close(self) -> None: ...


class PreparedSource:
    """The readable data file (``path``) of the source at ``given``; ``inside``: its name in
    the archive, when it came from one. ``close`` removes the temporary folders."""

    def __init__(self, given: Path, member: str | None) -> None:
        self.path, self.inside = given, None
        self._made: list[_Made] = []
        try:
            if is_archive(given):
                unpacked = Unpacked(given)
                self._made.append(unpacked)
                self.path = unpacked.path(member)
                self.inside = self.path.relative_to(unpacked.folder).as_posix()
            if needs_repair(self.path):
                repaired = RepairedShapefile(self.path)
                self._made.append(repaired)
                self.path = repaired.path
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for made in reversed(self._made):
            made.close()
        self._made.clear()


@contextmanager
def source_file(path: Path, member: str | None) -> Iterator[Path]:
    """The readable data file of the source at ``path`` for the time of the ``with`` block."""
    prepared = PreparedSource(path, member)
    try:
        yield prepared.path
    finally:
        prepared.close()
