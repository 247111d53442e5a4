"""Editing a loaded city from a notebook (``City``'s edits, attachments and lineage): the same
rules as the API's Part 4 endpoints, all or nothing, each change set with its reason. Geometry
comes in as GeoJSON in ``crs`` (lon/lat by default)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from digitalcity.catalog import Catalog, CityDef, LayerDef, Role
    from digitalcity.catalog.codes import CodeTable

BBox = tuple[float, float, float, float]


def as_instant(value: dt.datetime | str) -> dt.datetime:
    """An aware datetime from a datetime (naive: UTC) or RFC 3339 text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class CityEditing:
    """What ``City`` does to change its layers (see ``digitalcity.city.City``)."""

    if TYPE_CHECKING:  # given by City
        catalog: Catalog
        definition: CityDef
        engine: Engine
        role: Role
        as_of: dt.datetime | None

        @property
        def code_tables(self) -> dict[str, CodeTable]: ...

        def layer(self, layer_id: str) -> LayerDef: ...

    def etag(self, layer_id: str, fid: int) -> str | None:
        """The feature's current ETag, which ``update``/``replace``/``delete`` require."""
        from digitalcity.editing.store import etag_of

        return etag_of(self.engine, self.layer(layer_id), self.definition, fid)

    def _edit_context(
        self, layer_id: str, reason: str, crs: str, snap_m: float | None = None
    ) -> Any:
        from digitalcity.editing.service import EditContext
        from digitalcity.history.changesets import Author
        from digitalcity.query.crs_ref import parse_crs

        layer = self.layer(layer_id)
        author = Author(role=self.role, reason=reason)
        return EditContext(
            self.engine,
            layer,
            self.definition,
            author,
            self.code_tables,
            parse_crs(crs),
            self.catalog.root,
            snap_m,
        )

    def create(
        self,
        layer_id: str,
        features: Sequence[dict[str, Any]],
        *,
        reason: str = "",
        crs: str = "CRS84",
        snap_m: float | None = None,
    ) -> list[int]:
        """Add GeoJSON features (geometry in ``crs``, lon/lat by default), all or none; their
        new ids. Vertices within ``snap_m`` metres of a neighbour's are put on it (None: the
        layer's ``snap_m``; 0: not snapped)."""
        from digitalcity.editing import create_features

        ctx = self._edit_context(layer_id, reason, crs, snap_m)
        return create_features(ctx, list(features)).fids

    def update(
        self,
        layer_id: str,
        fid: int,
        patch: dict[str, Any],
        *,
        etag: str,
        reason: str = "",
        crs: str = "CRS84",
        snap_m: float | None = None,
    ) -> str:
        """Apply a JSON merge patch of a GeoJSON feature; the new ETag (``snap_m`` as for
        ``create``)."""
        from digitalcity.editing import patch_feature

        ctx = self._edit_context(layer_id, reason, crs, snap_m)
        return patch_feature(ctx, fid, etag, patch).etags[fid]

    def replace(
        self,
        layer_id: str,
        fid: int,
        feature: dict[str, Any],
        *,
        etag: str,
        reason: str = "",
        crs: str = "CRS84",
        snap_m: float | None = None,
    ) -> str:
        """Replace the feature with ``feature``; the new ETag (``snap_m`` as for ``create``)."""
        from digitalcity.editing import replace_feature

        ctx = self._edit_context(layer_id, reason, crs, snap_m)
        return replace_feature(ctx, fid, etag, feature).etags[fid]

    def delete(self, layer_id: str, fid: int, *, etag: str, reason: str = "") -> int:
        """Delete the feature (its versions stay in the history); the change set."""
        from digitalcity.editing import delete_feature

        return delete_feature(self._edit_context(layer_id, reason, "CRS84"), fid, etag).changeset

    def restore(
        self,
        layer_id: str,
        fid: int,
        as_of: dt.datetime | str,
        *,
        etag: str | None,
        reason: str = "",
    ) -> str:
        """Make the version valid at ``as_of`` (an instant: a ``valid_from`` of ``history``)
        the feature's current one again, as a new version: its shape exactly and the fields
        this role may write (a deleted feature, with ``etag`` None: back whole); the new
        ETag."""
        from digitalcity.editing.service import restore_reason, restore_version

        instant = as_instant(as_of)
        ctx = self._edit_context(layer_id, restore_reason(reason, instant), "CRS84")
        return restore_version(ctx, fid, etag, instant).etags[fid]

    def revert(self, layer_id: str, changeset: int, *, reason: str = "") -> int:
        """Undo change set ``changeset`` of the layer as a new change set (its id), as the API's
        revert: refused (409) when its features changed again since. A city opened with the
        ``admin`` role only: notebook edits carry no API key, so none is an editor's own."""
        from digitalcity.editing.service import check_rights
        from digitalcity.history.changesets import Author
        from digitalcity.history.reads import revert_changeset

        layer = self.layer(layer_id)
        if self.role != "admin":
            check_rights(layer, self.role)
        author = Author(role=self.role, reason=reason or f"revert {changeset}")
        return revert_changeset(
            self.engine, layer, self.definition, changeset, author, own_only=self.role != "admin"
        )

    def bulk_update(
        self,
        layer_id: str,
        properties: dict[str, Any],
        *,
        expected: int,
        filter: str | None = None,
        bbox: BBox | None = None,
        reason: str = "",
    ) -> list[int]:
        """Set ``properties`` on every feature matching ``filter`` (CQL2 text) and ``bbox``
        (lon/lat degrees), which must be ``expected`` features (the count the caller saw), in
        one change set; the ids changed (those already holding the values are left)."""
        from digitalcity.api.params import parse_filter
        from digitalcity.editing.bulk import bulk_patch
        from digitalcity.query.items import ItemsQuery

        ctx = self._edit_context(layer_id, reason, "CRS84")
        query = ItemsQuery(
            layer=ctx.layer,
            city=self.definition,
            role=self.role,
            bbox=bbox,
            filter=parse_filter(filter, None) if filter else None,
        )
        return bulk_patch(ctx, query, expected, {"properties": properties}).changed

    def attachments(self, layer_id: str, fid: int) -> list[dict[str, Any]]:
        """The files kept with feature ``fid`` (id, name, type, size in bytes, SHA-256, when
        and by which role added): now, or at this city's ``as_of`` instant."""
        from digitalcity.editing.attachments import list_attachments

        layer = self.layer(layer_id)
        with self.engine.connect() as conn:
            found = list_attachments(conn, layer, self.definition, self.role, fid, self.as_of)
        return [a.listed() for a in found]

    def attachment(self, layer_id: str, fid: int, attachment_id: int) -> bytes:
        """The bytes of one file kept with feature ``fid`` (now, or at ``as_of``)."""
        from digitalcity.editing.attachments import open_attachment

        layer = self.layer(layer_id)
        with self.engine.connect() as conn:
            return open_attachment(conn, layer, self.role, fid, attachment_id, self.as_of)[1]

    def attachment_record(self, layer_id: str, fid: int) -> list[dict[str, Any]]:
        """Every file feature ``fid`` has kept, removed ones too, with when and by which role
        each was added and removed."""
        from digitalcity.editing.attachments import attachment_record

        with self.engine.connect() as conn:
            return attachment_record(conn, self.layer(layer_id), self.role, fid)

    def attach(self, layer_id: str, fid: int, path: str | Path) -> int:
        """Keep the file at ``path`` (JPEG, PNG, WebP, GIF or PDF) with feature ``fid``; its
        attachment id."""
        from digitalcity.editing.attachments import add_attachment
        from digitalcity.history.changesets import Author

        file = Path(path)
        author = Author(role=self.role)
        item = add_attachment(
            self.engine, self.layer(layer_id), self.definition, author, fid, file.name, None,
            file.read_bytes(),
        )  # fmt: skip
        return item.id

    def split(
        self,
        layer_id: str,
        fid: int,
        line: dict[str, Any],
        *,
        etag: str,
        reason: str = "",
        crs: str = "CRS84",
    ) -> list[int]:
        """Split the feature along ``line`` (a GeoJSON LineString in ``crs``, lon/lat by
        default): its largest part keeps ``fid``, the others are new features, field values
        shared by their ``split`` policies; the features after it (``fid`` first)."""
        from digitalcity.editing.reshape import split_feature

        return split_feature(self._edit_context(layer_id, reason, crs), fid, etag, line).fids

    def merge(
        self,
        layer_id: str,
        fids: Sequence[int],
        *,
        etags: Sequence[str],
        keep: int | None = None,
        reason: str = "",
    ) -> int:
        """Merge neighbouring features into one, which keeps the id ``keep`` (default: the
        largest's) and sums the ``merge = "sum"`` fields; ``etags``: every feature's ETag. The
        merged feature's id."""
        from digitalcity.editing.reshape import merge_features

        ctx = self._edit_context(layer_id, reason, "CRS84")
        return merge_features(ctx, fids, ", ".join(etags), keep).kept

    def lineage(self, layer_id: str, fid: int) -> list[dict[str, Any]]:
        """The splits and merges feature ``fid`` took part in, oldest first (change set, kind,
        when, the features before and after, whether reverted since)."""
        from digitalcity.editing.lineage import lineage_of

        with self.engine.connect() as conn:
            return lineage_of(conn, self.layer(layer_id), fid)
