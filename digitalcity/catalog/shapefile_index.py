"""A shapefile delivered without its index (``.shx``), as often when only ``.shp`` and
``.dbf`` are sent: GDAL can rebuild the index, but writes it beside the ``.shp``. The source
folder is left alone: the shapefile's files are linked into a temporary folder and the index
is rebuilt there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyogrio

from digitalcity.errors import SourceError


def lacks_index(path: Path) -> bool:
    """Whether ``path`` is a shapefile without its ``.shx``."""
    return path.suffix.lower() == ".shp" and not any(
        path.with_suffix(s).is_file() for s in (".shx", ".SHX")
    )


class RestoredIndex:
    """``path``'s files linked into a temporary folder with the index rebuilt; ``path`` is
    the shapefile there. ``close`` removes the folder."""

    def __init__(self, shapefile: Path) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="digitalcity-shx-")
        folder = Path(self._folder.name)
        try:
            for part in shapefile.parent.glob(f"{_escaped(shapefile.stem)}.*"):
                os.symlink(part.resolve(), folder / part.name)
            self.path = folder / shapefile.name
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": True})
            try:
                pyogrio.read_info(self.path)  # rebuilds the .shx
            finally:
                pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            self.close()
            raise SourceError(
                f"{shapefile.name} has no .shx, and it cannot be rebuilt: {exc}"
            ) from None

    def close(self) -> None:
        self._folder.cleanup()


def _escaped(stem: str) -> str:
    """``stem`` as a glob pattern matching itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in stem)
