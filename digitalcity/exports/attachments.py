"""Files kept with features (附件) in a GeoPackage export (``f=gpkg&attachments=true``), as
the GeoPackage Related Tables Extension (OGC 18-000) holds them, which GDAL 3.6+ and QGIS 3.28+
read as a relationship of the layer: a media table ``<layer>_files`` (each file's bytes in
``data``, its ``content_type``, name, size in bytes, SHA-256, when and by which role it was
added) and a mapping table ``<layer>_files_of`` (``base_id``: the feature's row in the
GeoPackage, ``related_id``: the file's). Only the files of the exported features, as kept at
the export's instant (``as-of``), for a caller cleared to read them; written after GDAL has
written the features, a few files at a time."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine

from digitalcity.catalog.access import may_read_attachments
from digitalcity.editing.attachments import files_of_features, files_size
from digitalcity.errors import DigitalCityError, NotFound
from digitalcity.query.items import ItemsQuery

MAX_EXPORT_MB = 2048  # all files of one export: more is a backup, not a download
EXTENSION = "gpkg_related_tables"
DEFINITION = "http://www.geopackage.org/18-000.html"


class AttachmentsTooLarge(DigitalCityError):
    status = 413
    title = "Export too large"


def check_attachments(query: ItemsQuery) -> None:
    """404 unless the layer keeps files the caller may read (as every attachment route)."""
    if not may_read_attachments(query.role, query.layer):
        raise NotFound(f"no attachments in {query.layer.city}__{query.layer.id}")


def _name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ValueError(f"not a table name: {text!r}")
    return text


_CREATE = """
CREATE TABLE IF NOT EXISTS gpkgext_relations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, base_table_name TEXT NOT NULL,
    base_primary_column TEXT NOT NULL DEFAULT 'id', related_table_name TEXT NOT NULL,
    related_primary_column TEXT NOT NULL DEFAULT 'id', relation_name TEXT NOT NULL,
    mapping_table_name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS gpkg_extensions (
    table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
    scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE "{media}" (
    id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL, content_type TEXT NOT NULL,
    name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, added_at TEXT NOT NULL,
    added_role TEXT NOT NULL, feature_id INTEGER NOT NULL);
CREATE TABLE "{mapping}" (base_id INTEGER NOT NULL, related_id INTEGER NOT NULL);
"""


def write_attachments(engine: Engine, query: ItemsQuery, gpkg: Path, layer_name: str) -> int:
    """Add the files of the features in ``gpkg``'s layer ``layer_name`` (written from
    ``query``) as a related media table; the number of files. 413 past ``MAX_EXPORT_MB``."""
    check_attachments(query)
    layer, media = _name(layer_name), _name(f"{layer_name}_files")
    mapping = _name(f"{layer_name}_files_of")
    db = sqlite3.connect(gpkg)
    try:
        rows = {int(f): int(r) for r, f in db.execute(f'SELECT fid, feature_id FROM "{layer}"')}  # noqa: S608 - a checked name
        with engine.connect() as conn:
            count, size = files_size(conn, query.layer, list(rows), query.as_of)
            if size > MAX_EXPORT_MB * 1024 * 1024:
                raise AttachmentsTooLarge(
                    f"the {count:,} files of these features hold {size / 1024**2:,.0f} MB, more "
                    f"than an export carries ({MAX_EXPORT_MB:,} MB): export fewer features"
                )
            db.executescript(_CREATE.format(media=media, mapping=mapping))
            db.executemany(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                "VALUES (?, 'attributes', ?, ?)",
                [
                    (media, media, f"files kept with the features of {layer}"),
                    (mapping, mapping, f"which files belong to which feature of {layer}"),
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO gpkg_extensions VALUES (?, NULL, ?, ?, 'read-write')",
                [("gpkgext_relations", EXTENSION, DEFINITION), (mapping, EXTENSION, DEFINITION)],
            )
            db.execute(
                "INSERT INTO gpkgext_relations (base_table_name, base_primary_column, "
                "related_table_name, related_primary_column, relation_name, mapping_table_name) "
                "VALUES (?, 'fid', ?, 'id', 'media', ?)",
                (layer, media, mapping),
            )
            written = 0
            for item, content in files_of_features(conn, query.layer, list(rows), query.as_of):
                cursor = db.execute(
                    f'INSERT INTO "{media}" (data, content_type, name, size, sha256, added_at, '  # noqa: S608 - a checked name
                    "added_role, feature_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        content,
                        item.media_type,
                        item.name,
                        item.size,
                        item.sha256,
                        item.added_at,
                        item.added_role,
                        item.fid,
                    ),
                )
                db.execute(
                    f'INSERT INTO "{mapping}" (base_id, related_id) VALUES (?, ?)',  # noqa: S608 - a checked name
                    (rows[item.fid], cursor.lastrowid),
                )
                written += 1
        db.commit()
    finally:
        db.close()
    return written
