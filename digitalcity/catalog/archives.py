"""Sources delivered as a ``.zip`` archive (a shapefile and its sidecars, a File Geodatabase
folder, a GeoPackage, a CSV file): unpacked into a temporary folder and read from there, so
everything that reads files (text encoding, sidecar files, header rows) reads them as if
they had come unpacked.

The data file is ``source.member`` or, when the archive holds one, that one. Member names that
a Windows archiver wrote in GBK without saying so (no UTF-8 flag) are decoded as GBK
("道路.shp" rather than "µÀÂ·.shp"). Paths leading out of the folder are refused, and so is
an archive that unpacks to more than ``MAX_UNPACKED_RATIO`` times its size (above 1 GiB).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from digitalcity.catalog.model import FORMAT_BY_SUFFIX
from digitalcity.errors import SourceError

ARCHIVE_SUFFIXES = (".zip",)
MAX_UNPACKED_RATIO = 200
_SMALL_BYTES = 2**30  # unpacking this much is always allowed
# suffixes of files that carry a layer (a shapefile's sidecars do not; a geodatabase is a folder)
DATA_SUFFIXES = tuple(f".{suffix}" for suffix in FORMAT_BY_SUFFIX if suffix != "gdb")
_UTF8_FLAG = 0x800


def is_archive(path: Path | str) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its archiver meant it: GBK when a name not flagged UTF-8 decodes
    as GBK (zipfile reads such names as code page 437)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("gbk") if not raw.isascii() else info.filename
    except UnicodeDecodeError:
        return info.filename


def data_members(names: list[str]) -> list[str]:
    """The members of an archive that carry a layer: data files, and File Geodatabase
    folders (``x.gdb``); the archivers' own files (``__MACOSX``) left out."""
    found: list[str] = []
    for name in names:
        parts = PurePosixPath(name).parts
        if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            continue
        gdb = next((i for i, p in enumerate(parts) if p.lower().endswith(".gdb")), None)
        if gdb is not None:
            member = "/".join(parts[: gdb + 1])
        elif name.lower().endswith(DATA_SUFFIXES) and not name.endswith("/"):
            member = name
        else:
            continue
        if member not in found:
            found.append(member)
    return found


# What zipfile raises for a damaged or unsupported archive, besides BadZipFile: OSError,
# NotImplementedError (a version or compression method it lacks: "zip file version 6.6",
# Deflate64), RuntimeError (an encrypted member), zlib.error and EOFError (a member's data
# cut or garbled)
_UNREADABLE = (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, zlib.error, EOFError)


def _unpack(archive: Path, folder: Path) -> list[str]:
    """Unpack ``archive`` into ``folder``; the member names written (decoded)."""
    try:
        with zipfile.ZipFile(archive) as book:
            infos = book.infolist()
            total = sum(i.file_size for i in infos)
            allowed = max(_SMALL_BYTES, MAX_UNPACKED_RATIO * archive.stat().st_size)
            if total > allowed:
                raise SourceError(
                    f"{archive.name} would unpack to {total / 2**30:.1f} GiB, more than "
                    f"{MAX_UNPACKED_RATIO} times its size: refused"
                )
            names = []
            for info in infos:
                name = _member_name(info)
                target = (folder / name).resolve()
                if not target.is_relative_to(folder.resolve()):
                    raise SourceError(f"{archive.name}: member {name!r} leads out of the archive")
                names.append(name)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with book.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except _UNREADABLE as exc:
        raise SourceError(f"cannot unpack {archive.name}: {exc}") from None
    return names


def choose_member(archive: Path, names: list[str], member: str | None) -> str:
    """The data file to read: ``member``, else the archive's only data file; a SourceError
    naming them otherwise."""
    found = data_members(names)
    if member is not None:
        wanted = member.strip("/")
        if wanted not in found and wanted not in names:
            raise SourceError(
                f"{archive.name} holds no {member!r}; its data files: {', '.join(found[:20])}"
            )
        return wanted
    if len(found) != 1:
        listed = ", ".join(found[:20]) or "none"
        raise SourceError(
            f"{archive.name} holds {len(found)} data files ({listed}): set source.member to "
            "the one to load"
        )
    return found[0]


class Unpacked:
    """An archive unpacked into a temporary folder, removed by ``close`` (or when the
    object is collected)."""

    def __init__(self, archive: Path) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="digitalcity-unpacked-")
        self.folder = Path(self._folder.name)
        try:
            self.names = _unpack(archive, self.folder)
        except BaseException:
            self.close()
            raise
        self.archive = archive

    def path(self, member: str | None) -> Path:
        """The unpacked data file (``choose_member``)."""
        return self.folder / choose_member(self.archive, self.names, member)

    def data_files(self) -> list[Path]:
        return [self.folder / m for m in data_members(self.names)]

    def close(self) -> None:
        self._folder.cleanup()
