"""A folder of source files read into a ``CityDraft``: vector files, tables and ``.zip``
archives drafted; rasters, unreadable files and layers off the Earth noted as skipped."""

from __future__ import annotations

from pathlib import Path

from digitalcity.catalog.archives import Unpacked, is_archive
from digitalcity.catalog.draft.drafts import CityDraft, LayerDraft, unique_name
from digitalcity.catalog.draft.rasters import RASTER_SUFFIXES as GRID_SUFFIXES
from digitalcity.catalog.draft.rasters import read_raster
from digitalcity.catalog.draft.tables import TABLE_SUFFIXES, read_table
from digitalcity.catalog.draft.vectors import VECTOR_FOLDER_SUFFIXES, VECTOR_SUFFIXES, read_vector
from digitalcity.catalog.model import unreadable_format
from digitalcity.errors import CatalogError

RASTER_SUFFIXES = {".tif", ".tiff", ".img", ".nc", ".vrt"}


def read_folder(folder: Path) -> CityDraft:
    """Read every file directly in ``folder``; vector files become layer drafts."""
    if not folder.is_dir():
        raise CatalogError(f"{folder} is not a folder")
    draft = CityDraft()
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if path.is_file() and suffix in GRID_SUFFIXES:
            try:
                draft.layers.append(read_raster(path, folder))
            except Exception as exc:  # noqa: BLE001 - as for a vector file
                draft.skipped.append(f"{path.name}: unreadable: {exc}")
        elif path.is_file() and suffix in RASTER_SUFFIXES:
            draft.skipped.append(
                f"{path.name}: raster, not drafted: the loader reads GeoTIFF grids (convert it "
                "with gdal_translate -of GTiff)"
            )
        elif path.is_file() and (advice := unreadable_format(path.name)):
            draft.skipped.append(f"{path.name}: cannot be read: {advice}")
        elif (path.is_file() and suffix in VECTOR_SUFFIXES) or (
            path.is_dir() and suffix in VECTOR_FOLDER_SUFFIXES
        ):
            try:
                draft.layers += read_vector(path, folder)
            except Exception as exc:  # noqa: BLE001 - an unreadable file is noted, not fatal
                draft.skipped.append(f"{path.name}: unreadable: {exc}")
        elif path.is_file() and suffix in TABLE_SUFFIXES:
            try:
                draft.layers.append(read_table(path, folder))
            except Exception as exc:  # noqa: BLE001 - a table without places is noted
                draft.skipped.append(f"{path.name}: not drafted: {exc}")
        elif path.is_file() and is_archive(path):
            try:
                _read_archive(path, folder, draft)
            except Exception as exc:  # noqa: BLE001 - an unreadable archive is noted
                draft.skipped.append(f"{path.name}: unreadable: {exc}")
    draft.layers = [layer for layer in draft.layers if _on_earth(layer, draft)]
    if not draft.layers:
        raise CatalogError(f"{folder}: no vector files to draft layers from")
    ids: set[str] = set()
    for layer in draft.layers:  # "roads.shp" and a GeoPackage layer "roads": roads, roads_2
        layer.id = unique_name(layer.id, ids)
    return draft


def _on_earth(layer: LayerDraft, draft: CityDraft) -> bool:
    """Whether ``layer``'s extent is longitude/latitude on the Earth; if not (a wrong CRS,
    damaged coordinates), it is noted among the skipped files: the city's extent and local
    CRS are drafted from the others."""
    west, south, east, north = layer.bounds_lonlat
    if -180 <= west <= east <= 180 and -90 <= south <= north <= 90:
        return True
    draft.skipped.append(
        f"{layer.path}: not drafted: its extent in longitude/latitude ({west:.6g}, {south:.6g}, "
        f"{east:.6g}, {north:.6g}) is off the Earth: a wrong CRS, or damaged coordinates"
    )
    return False


def _read_archive(archive: Path, folder: Path, draft: CityDraft) -> None:
    """Drafts of the data files in a ``.zip`` archive (unpacked for the time of reading),
    each naming its file in ``source.member``; tables without places are noted."""
    unpacked = Unpacked(archive)
    try:
        for path in unpacked.data_files():
            suffix, member = path.suffix.lower(), path.relative_to(unpacked.folder).as_posix()
            try:
                found = (
                    [read_table(path, unpacked.folder)]
                    if suffix in TABLE_SUFFIXES
                    else read_vector(path, unpacked.folder)
                )
            except Exception as exc:  # noqa: BLE001 - as for a file outside an archive
                draft.skipped.append(f"{archive.name} ({member}): not drafted: {exc}")
                continue
            for layer in found:
                layer.path, layer.member = str(archive.relative_to(folder)), member
            draft.layers += found
    finally:
        unpacked.close()
