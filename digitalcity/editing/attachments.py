"""Files kept with features (附件): photos from a field survey, a scanned deed or permit. Stored
in PostgreSQL (``digitalcity.attachments``, so a backup of the database holds them), listed,
opened, added and removed per feature; a removal keeps the row with who removed it and when.

Only kinds a browser shows safely are kept (JPEG, PNG, WebP, GIF, PDF), each recognised by its
first bytes, which must agree with the type the client declares; a file larger than the
layer's ``max_mb`` is a 413. Who may read and write them: ``catalog.access``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digitalcity.catalog.access import Role, may_read_attachments, may_write_attachments
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.db.schema import layer_table
from digitalcity.editing.service import EditRejected, Forbidden
from digitalcity.errors import DigitalCityError, NotFound
from digitalcity.history.asof import as_of_relation
from digitalcity.history.changesets import Author

MAX_PER_FEATURE = 50
MAX_NAME = 200

# media type -> how its files begin (a WebP file: "RIFF", four bytes of length, "WEBP")
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}
KEPT_TYPES = tuple(_SIGNATURES)


class TooLarge(DigitalCityError):
    status = 413
    title = "File too large"


class UnsupportedType(DigitalCityError):
    status = 415
    title = "Unsupported file type"


@dataclass(frozen=True)
class Attachment:
    """One file kept with a feature (its bytes read only when opened)."""

    id: int
    fid: int
    name: str
    media_type: str
    size: int
    sha256: str
    added_at: str
    added_role: str

    def listed(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "added_at": self.added_at,
            "added_role": self.added_role,
        }


def media_type_of(content: bytes) -> str | None:
    """The kept kind ``content`` is, by its first bytes; None for any other."""
    for media_type, starts in _SIGNATURES.items():
        if any(content.startswith(start) for start in starts):
            if media_type == "image/webp" and content[8:12] != b"WEBP":
                continue
            return media_type
    return None


def _readable(layer: LayerDef, role: Role) -> None:
    if not may_read_attachments(role, layer):
        raise NotFound(f"no attachments in {layer.city}__{layer.id}")


def check_may_write(layer: LayerDef, role: Role) -> None:
    """404 for a caller who may not read the layer's attachments, 403 for one who may not
    add or remove them."""
    _readable(layer, role)
    if not may_write_attachments(role, layer):
        raise Forbidden(f"{role} may not add or remove attachments of {layer.qualified_id}")


def _feature_exists(
    conn: Connection, layer: LayerDef, city: CityDef, fid: int, at: dt.datetime | None = None
) -> None:
    """404 unless feature ``fid`` exists (at the instant ``at``, from its history, when given)."""
    table = as_of_relation(layer, city, at) if at is not None else layer_table(layer, city)
    if conn.execute(sa.select(table.c.fid).where(table.c.fid == fid)).first() is None:
        raise NotFound(f"no feature {fid} in {layer.city}__{layer.id}")


_COLUMNS = "id, fid, name, media_type, size, sha256, added_at, added_role"
_OF_FEATURE = "city = :city AND layer = :layer AND fid = :fid"
_KEPT_NOW = "removed_at IS NULL"
# kept at an instant: added by then and not yet removed (a removal keeps the row)
_KEPT_AT = "added_at <= :at AND (removed_at IS NULL OR removed_at > :at)"


def _now_and_then(template: str) -> dict[bool, sa.TextClause]:
    """``template``'s statement for the files kept now (False) and at ``:at`` (True): its
    ``{kept}`` filled in."""
    return {
        False: sa.text(template.format(kept=_KEPT_NOW)),
        True: sa.text(template.format(kept=_KEPT_AT)),
    }


_LIST = _now_and_then(
    f"SELECT {_COLUMNS} FROM digitalcity.attachments WHERE {_OF_FEATURE} AND {{kept}} "  # noqa: S608 - constants
    "ORDER BY id"
)
_ONE = _now_and_then(
    f"SELECT {_COLUMNS}, content FROM digitalcity.attachments WHERE id = :id "  # noqa: S608 - constants
    f"AND {_OF_FEATURE} AND {{kept}}"
)
_RECORD = sa.text(
    f"SELECT {_COLUMNS}, removed_at, removed_role FROM digitalcity.attachments "  # noqa: S608 - constants
    f"WHERE {_OF_FEATURE} ORDER BY id"
)
_ADD = sa.text(
    "INSERT INTO digitalcity.attachments (city, layer, fid, name, media_type, size, sha256, "  # noqa: S608 - a constant
    "content, added_key, added_role) VALUES (:city, :layer, :fid, :name, :media_type, :size, "
    f":sha256, :content, :key, :role) RETURNING {_COLUMNS}"
)
_REMOVE = sa.text(
    "UPDATE digitalcity.attachments SET removed_at = now(), removed_key = :key, "  # noqa: S608 - constants
    f"removed_role = :role WHERE id = :id AND {_OF_FEATURE} AND {_KEPT_NOW} RETURNING id"
)


def _attachment(row: Any) -> Attachment:
    return Attachment(
        int(row.id),
        int(row.fid),
        row.name,
        row.media_type,
        int(row.size),
        row.sha256,
        row.added_at.isoformat(),
        row.added_role,
    )


def list_attachments(
    conn: Connection,
    layer: LayerDef,
    city: CityDef,
    role: Role,
    fid: int,
    at: dt.datetime | None = None,
) -> list[Attachment]:
    """The files kept with feature ``fid``, oldest first: now, or at the instant ``at`` (a
    timezone-aware datetime; files removed since are listed, those added since are not)."""
    _readable(layer, role)
    _feature_exists(conn, layer, city, fid, at)
    keys = {"city": layer.city, "layer": layer.id, "fid": fid, "at": at}
    return [_attachment(r) for r in conn.execute(_LIST[at is not None], keys)]


def open_attachment(
    conn: Connection,
    layer: LayerDef,
    role: Role,
    fid: int,
    attachment: int,
    at: dt.datetime | None = None,
) -> tuple[Attachment, bytes]:
    """One file of feature ``fid`` and its bytes: kept now, or at the instant ``at``."""
    _readable(layer, role)
    keys = {"id": attachment, "city": layer.city, "layer": layer.id, "fid": fid, "at": at}
    row = conn.execute(_ONE[at is not None], keys).first()
    if row is None:
        raise NotFound(f"no attachment {attachment} of feature {fid}")
    return _attachment(row), bytes(row.content)


_FILES_OF = _now_and_then(
    f"SELECT {_COLUMNS}, content FROM digitalcity.attachments WHERE city = :city "  # noqa: S608 - constants
    "AND layer = :layer AND fid = ANY(:fids) AND {kept} ORDER BY fid, id"
)
_SIZES_OF = _now_and_then(
    "SELECT count(*), coalesce(sum(size), 0) FROM digitalcity.attachments WHERE city = :city "
    "AND layer = :layer AND fid = ANY(:fids) AND {kept}"
)


def files_size(
    conn: Connection, layer: LayerDef, fids: list[int], at: dt.datetime | None = None
) -> tuple[int, int]:
    """How many files features ``fids`` keep (now, or at ``at``) and their bytes in all."""
    keys = {"city": layer.city, "layer": layer.id, "fids": fids, "at": at}
    count, size = conn.execute(_SIZES_OF[at is not None], keys).one()
    return int(count), int(size)


def files_of_features(
    conn: Connection, layer: LayerDef, fids: list[int], at: dt.datetime | None = None
) -> Iterator[tuple[Attachment, bytes]]:
    """The files features ``fids`` keep (now, or at ``at``) with their bytes, by feature and
    age, read a few at a time (an export's: the caller has checked the reader's rights)."""
    keys = {"city": layer.city, "layer": layer.id, "fids": fids, "at": at}
    rows = conn.execution_options(stream_results=True, yield_per=8).execute(
        _FILES_OF[at is not None], keys
    )
    for row in rows:
        yield _attachment(row), bytes(row.content)


def attachment_record(
    conn: Connection, layer: LayerDef, role: Role, fid: int
) -> list[dict[str, Any]]:
    """Every file feature ``fid`` has kept, removed ones too, with when and by which role each
    was added and removed (for its history); empty for a caller who may not read them."""
    if not may_read_attachments(role, layer):
        return []
    keys = {"city": layer.city, "layer": layer.id, "fid": fid}
    return [
        {
            **_attachment(row).listed(),
            "removed_at": row.removed_at.isoformat() if row.removed_at else None,
            "removed_role": row.removed_role,
        }
        for row in conn.execute(_RECORD, keys)
    ]


def _clean_name(name: str, media_type: str) -> str:
    """The file's name without a path or control characters; a default when none is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if c.isprintable()).strip()[:MAX_NAME]
    return kept or f"attachment.{media_type.rsplit('/', 1)[-1]}"


def add_attachment(
    engine: Engine,
    layer: LayerDef,
    city: CityDef,
    author: Author,
    fid: int,
    name: str,
    declared: str | None,
    content: bytes,
) -> Attachment:
    """Keep ``content`` (a file named ``name``, of the declared media type) with feature
    ``fid``: 413 when larger than the layer allows, 415 for a kind not kept or not the one
    declared, 400 when the feature has its fill."""
    role = cast(Role, author.role)
    check_may_write(layer, role)
    kept = layer.editing.attachments if layer.editing else None
    assert kept is not None  # check_may_write
    if len(content) > kept.max_mb * 1024 * 1024:
        raise TooLarge(f"the file is larger than {kept.max_mb} MB")
    found = media_type_of(content)
    if found is None:
        raise UnsupportedType("only JPEG, PNG, WebP and GIF images and PDF files are kept")
    declared_type = (declared or "").split(";")[0].strip().lower()
    if declared_type not in ("", "application/octet-stream", found):
        raise UnsupportedType(f"the file is {found}, not {declared_type[:60]}")
    with engine.begin() as conn:
        _feature_exists(conn, layer, city, fid)
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"attachments:{layer.qualified_id}:{fid}"},
        )
        keys = {"city": layer.city, "layer": layer.id, "fid": fid}
        if len(conn.execute(_LIST[False], keys).all()) >= MAX_PER_FEATURE:
            raise EditRejected.of(
                f"a feature keeps at most {MAX_PER_FEATURE} attachments",
                f"每个要素最多保存 {MAX_PER_FEATURE} 个附件",
            )
        row = conn.execute(
            _ADD,
            {
                **keys,
                "name": _clean_name(name, found),
                "media_type": found,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": content,
                "key": author.key_id,
                "role": author.role,
            },
        ).one()
    return _attachment(row)


def remove_attachment(
    engine: Engine, layer: LayerDef, author: Author, fid: int, attachment: int
) -> None:
    """Take a file off feature ``fid``'s list (its row kept, with who removed it and when)."""
    check_may_write(layer, cast(Role, author.role))
    with engine.begin() as conn:
        done = conn.execute(
            _REMOVE,
            {
                "id": attachment,
                "city": layer.city,
                "layer": layer.id,
                "fid": fid,
                "key": author.key_id,
                "role": author.role,
            },
        ).first()
    if done is None:
        raise NotFound(f"no attachment {attachment} of feature {fid}")


def features_by_value(
    conn: Connection, layer: LayerDef, city: CityDef, field: str
) -> dict[str, list[int]]:
    """Each text value of ``field`` among the layer's current features, with their ids (to
    match files named after them)."""
    table = layer_table(layer, city)
    found: dict[str, list[int]] = {}
    rows = conn.execute(
        sa.select(sa.cast(table.c[field], sa.Text), table.c.fid).where(table.c[field].is_not(None))
    )
    for value, fid in rows:
        found.setdefault(str(value), []).append(int(fid))
    return found
