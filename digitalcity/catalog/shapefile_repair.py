"""Shapefiles as they are often delivered, repaired in a temporary folder so that the source
folder is never written to (the shapefile's files are linked there, and only what is repaired
is written):

- without their index (``.shx``), as when only ``.shp`` and ``.dbf`` are sent: GDAL refuses
  the file, and rebuilds the index only beside the ``.shp``;
- with field names cut inside a character: a ``.dbf`` field name holds 10 bytes, and GDAL
  and QGIS cut a longer UTF-8 name there, mid-character ("宗地代码", 12 bytes, becomes
  "宗地代" and one byte of "码"), which makes the whole file unreadable through pyogrio.
  The repaired copy of the ``.dbf`` drops the broken byte(s): the field is "宗地代";
- with a ``.prj`` that is not UTF-8 (a projection named in GBK, "西安80"): GDAL reads it,
  but pyogrio fails to decode the CRS GDAL hands back (an UnboundLocalError of its own), so
  nothing about the file could be read. The copy is the same text in UTF-8.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

import pyogrio

from digitalcity.catalog.source_encoding import declared_name_codec, shapefile_part
from digitalcity.errors import SourceError

_DESCRIPTOR = 32
_NAME_BYTES = 11


def lacks_index(path: Path) -> bool:
    """Whether ``path`` is a shapefile without its ``.shx``."""
    return path.suffix.lower() == ".shp" and shapefile_part(path, ".shx") is None


def _names(dbf: Path) -> list[tuple[int, bytes]]:
    """(offset in the file, raw name) of each field descriptor of ``dbf``."""
    with dbf.open("rb") as fh:
        head = fh.read(_DESCRIPTOR)
        if len(head) < _DESCRIPTOR:
            return []
        (header_length,) = struct.unpack("<H", head[8:10])
        descriptors = fh.read(max(header_length - _DESCRIPTOR, 0))
    names = []
    for start in range(0, len(descriptors) - _DESCRIPTOR + 1, _DESCRIPTOR):
        if descriptors[start] == 0x0D:
            break
        raw = descriptors[start : start + _NAME_BYTES].split(b"\0", 1)[0]
        names.append((_DESCRIPTOR + start, raw))
    return names


def _whole_characters(raw: bytes, codec: str) -> bytes | None:
    """``raw`` without a last character cut short, when that is what stops it decoding in
    ``codec``; None when it decodes whole, or is broken elsewhere."""
    try:
        raw.decode(codec)
        return None
    except UnicodeDecodeError as exc:
        kept = raw[: exc.start]
        if len(raw) - exc.start > 3:  # broken before its last character
            return None
    try:
        kept.decode(codec)
    except UnicodeDecodeError:
        return None
    return kept


def cut_field_names(path: Path) -> dict[int, bytes]:
    """The field names of shapefile ``path`` cut inside a character, in the encoding its
    ``.cpg`` or language byte declares: their offsets in the ``.dbf`` and repaired bytes."""
    dbf = shapefile_part(path, ".dbf") if path.suffix.lower() == ".shp" else None
    codec = declared_name_codec(path) if dbf is not None else None
    if dbf is None or codec is None:
        return {}
    repaired = {}
    taken = {raw for _, raw in _names(dbf)}
    for offset, raw in _names(dbf):
        kept = _whole_characters(raw, codec)
        if kept is not None:
            name = _unique_name(kept.decode(codec), codec, taken)
            taken.add(name)
            repaired[offset] = name
    return repaired


def _unique_name(text: str, codec: str, taken: set[bytes]) -> bytes:
    """``text`` encoded, or, when taken ("宗地代码" and "宗地代号" both cut to "宗地代"),
    ``text`` shortened by whole characters and numbered to fit the 10 bytes of a name."""
    name, n = text.encode(codec), 1
    while name in taken:
        n += 1
        stem = text
        while len(f"{stem}_{n}".encode(codec)) > _NAME_BYTES - 1:
            stem = stem[:-1]
        name = f"{stem}_{n}".encode(codec)
    return name


def utf8_projection(path: Path) -> bytes | None:
    """The ``.prj`` of shapefile ``path`` in UTF-8 when it is not UTF-8 (read as GB18030,
    the Chinese encodings' superset, else Latin-1, which reads any bytes); else None."""
    prj = shapefile_part(path, ".prj") if path.suffix.lower() == ".shp" else None
    if prj is None:
        return None
    raw = prj.read_bytes()
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1").encode("utf-8")


def needs_repair(path: Path) -> bool:
    return lacks_index(path) or bool(cut_field_names(path)) or utf8_projection(path) is not None


class RepairedShapefile:
    """Shapefile ``path`` linked into a temporary folder with what it lacks made there (its
    index rebuilt, its cut field names repaired in a copy of the ``.dbf``, its ``.prj`` in
    UTF-8); ``path`` is the shapefile there. ``close`` removes the folder."""

    def __init__(self, shapefile: Path) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="digitalcity-shp-")
        folder = Path(self._folder.name)
        cut = cut_field_names(shapefile)
        projection = utf8_projection(shapefile)
        try:
            for part in shapefile.parent.glob(f"{_escaped(shapefile.stem)}.*"):
                if cut and part.suffix.lower() == ".dbf":
                    _repair_names(part, folder / part.name, cut)
                elif projection is not None and part.suffix.lower() == ".prj":
                    (folder / part.name).write_bytes(projection)
                else:
                    os.symlink(part.resolve(), folder / part.name)
            self.path = folder / shapefile.name
            if lacks_index(shapefile):
                _rebuild_index(self.path)
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            self.close()
            raise SourceError(f"{shapefile.name} cannot be repaired: {exc}") from None

    def close(self) -> None:
        self._folder.cleanup()


def _repair_names(dbf: Path, target: Path, names: dict[int, bytes]) -> None:
    shutil.copyfile(dbf, target)
    with target.open("r+b") as fh:
        for offset, name in names.items():
            fh.seek(offset)
            fh.write(name.ljust(_NAME_BYTES, b"\0"))


def _rebuild_index(shapefile: Path) -> None:
    pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": True})
    try:
        pyogrio.read_info(shapefile)
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})


def _escaped(stem: str) -> str:
    """``stem`` as a glob pattern matching itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in stem)
