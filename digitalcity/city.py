"""Notebook access to a loaded city: ``dc.open_city("cambridge").read("parcels", ...)``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyproj
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, CityDef, LayerDef, Role, load_catalog, visible_fields
from digitalcity.catalog.access import visible_layer
from digitalcity.catalog.codes import CodeTable, code_tables
from digitalcity.catalog.descriptions import Descriptions, code_descriptions
from digitalcity.config import Settings, settings_from_environment
from digitalcity.crs import epsg_code
from digitalcity.db.engine import make_engine
from digitalcity.db.schema import layer_table, storage_srid
from digitalcity.errors import DigitalCityError, NotFound

BBox = tuple[float, float, float, float]


class City:
    """A city's layers as GeoDataFrames, seen with the access of ``role``."""

    def __init__(
        self,
        catalog: Catalog,
        city: CityDef,
        engine: Engine,
        role: Role,
        *,
        codes: dict[str, CodeTable] | None = None,
        descriptions: dict[str, Descriptions] | None = None,
        as_of: dt.datetime | str | None = None,
    ) -> None:
        """``codes`` and ``descriptions``: already read (the API's definitions); else they are
        read from the catalog's folder when first needed. ``as_of`` (an instant; naive means
        UTC): every query through ``relation`` (cards, identify, search) reads the city as it
        was then."""
        self.catalog, self.definition, self.engine, self.role = catalog, city, engine, role
        self.as_of = _instant(as_of) if as_of is not None else None
        self._relations: dict[str, Any] = {}
        if codes is not None:
            self.__dict__["code_tables"] = codes
        if descriptions is not None:
            self.__dict__["code_descriptions"] = descriptions

    @functools.cached_property
    def code_tables(self) -> dict[str, CodeTable]:
        """Land-use and zoning code tables (names and colours), from the catalog's folder."""
        return code_tables(self.catalog.root) if self.catalog.root else {}

    @functools.cached_property
    def code_descriptions(self) -> dict[str, Descriptions]:
        """Plain-language descriptions of codes (zoning districts), by code system."""
        if not self.catalog.root:
            return {}
        return code_descriptions(self.catalog.root, self.code_tables)

    @property
    def storage_srid(self) -> int:
        return storage_srid(self.definition)

    @property
    def local_srid(self) -> int:
        return epsg_code(self.definition.local_crs)

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def local_crs(self) -> str:
        """The city's metric CRS, for areas (m²) and distances (m)."""
        return self.definition.local_crs

    def layers(self) -> list[LayerDef]:
        """Definitions of the layers this role may read."""
        return [x for x in self.catalog.city_layers(self.id) if visible_layer(self.role, x)]

    def layer(self, layer_id: str) -> LayerDef:
        layer = self.catalog.layer(self.id, layer_id)
        if not visible_layer(self.role, layer):
            raise NotFound(f"unknown layer {layer_id!r} in city {self.id!r}")
        return layer

    def at(self, as_of: dt.datetime | str | None) -> City:
        """This city as it was at ``as_of`` (None: now): every card, search and analysis run
        on it reads the layers' history at that instant."""
        return City(
            self.catalog,
            self.definition,
            self.engine,
            self.role,
            codes=self.__dict__.get("code_tables"),
            descriptions=self.__dict__.get("code_descriptions"),
            as_of=as_of,
        )

    def relation(self, layer: LayerDef) -> Any:
        """What queries of ``layer`` read: its table, or (with ``as_of``) the rows current at
        that instant, with the same columns (one bound parameter per layer, so relations of
        several layers mix in one statement)."""
        if self.as_of is None:
            return layer_table(layer, self.definition)
        found = self._relations.get(layer.id)
        if found is None:
            from digitalcity.history.asof import as_of_relation

            found = as_of_relation(
                layer, self.definition, self.as_of, param=f"as_of_{len(self._relations)}"
            )
            self._relations[layer.id] = found
        return found

    def read(
        self,
        layer_id: str,
        *,
        bbox: BBox | None = None,
        bbox_crs: str = "EPSG:4326",
        crs: str | int | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        as_of: dt.datetime | str | None = None,
    ) -> gpd.GeoDataFrame:
        """Rows of a layer as a GeoDataFrame.

        ``bbox`` (minx, miny, maxx, maxy) is in ``bbox_crs`` (lon/lat by default) and keeps the
        features whose geometry intersects it; the result is in ``crs`` (default: the city's
        storage CRS), indexed by feature id ``fid``, with the fields the role may read;
        ``as_of`` (an instant, RFC 3339 text or a datetime; naive means UTC) reads the layer as
        it was then, from its history.
        """
        layer = self.layer(layer_id)
        table: Any = layer_table(layer, self.definition)
        if as_of is not None:
            from digitalcity.history.asof import as_of_relation

            table = as_of_relation(layer, self.definition, _instant(as_of))
        allowed = [f.name for f in visible_fields(self.role, layer)]
        wanted = list(columns) if columns is not None else allowed
        unknown = [c for c in wanted if c not in allowed]
        if unknown:
            raise DigitalCityError(f"unknown columns for {layer_id!r}: {unknown}")
        srid = storage_srid(self.definition)
        out_srid, out_crs = _frame_crs(crs) if crs is not None else (srid, None)
        geom = table.c.geom if out_srid == srid else sa.func.ST_Transform(table.c.geom, out_srid)
        query = sa.select(table.c.fid, geom.label("geom"), *(table.c[c] for c in wanted))
        if bbox is not None:
            box_srid = _frame_crs(bbox_crs)[0]
            envelope = sa.func.ST_MakeEnvelope(*map(float, bbox), box_srid)
            if box_srid != srid:
                envelope = sa.func.ST_Transform(envelope, srid)
            query = query.where(sa.func.ST_Intersects(table.c.geom, envelope))
        query = query.order_by(table.c.fid)
        if limit is not None:
            query = query.limit(limit)
        frame = gpd.read_postgis(
            query, self.engine, geom_col="geom", crs=out_crs or pyproj.CRS.from_epsg(out_srid)
        )
        return frame.set_index("fid")

    # -- history and editing (the rules of the API's Part 4 endpoints) ---------------------------
    def history(self, layer_id: str, fid: int) -> list[dict[str, Any]]:
        """Every version of feature ``fid``, oldest first (periods, change sets, fields the
        role may read, geometry as GeoJSON lon/lat)."""
        from digitalcity.history.reads import feature_history

        with self.engine.connect() as conn:
            return feature_history(conn, self.layer(layer_id), self.definition, self.role, fid)

    def changes(
        self, layer_id: str, since: dt.datetime | str, until: dt.datetime | str | None = None
    ) -> dict[str, Any]:
        """Features added, modified (with the fields that changed) and deleted in a period."""
        from digitalcity.history.reads import changes

        end = _instant(until) if until is not None else dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            return changes(
                conn, self.layer(layer_id), self.definition, self.role, _instant(since), end
            )

    def recent_changes(
        self,
        since: dt.datetime | str | None = None,
        until: dt.datetime | str | None = None,
        *,
        layers: Sequence[str] | None = None,
        bbox: BBox | None = None,
        lang: str = "zh",
        features: int = 100,
    ) -> gpd.GeoDataFrame:
        """The city's change sets (loads, edits, reverts) from ``since`` (default: 90 days
        before ``until``, itself now by default), newest first, as one row per feature each
        changed that the role may see (at most ``features`` per change set: ``attrs["more"]``
        counts the rest by change set): change set, time, kind, layer, change, fid, name, the
        fields changed with their values ``before`` and ``after``, who and why (signed-in
        roles), geometry in CRS84 (lon/lat degrees). ``bbox``: lon/lat, only what meets it."""
        from digitalcity.history.feed import (
            DEFAULT_DAYS,
            FEATURE_COLUMNS,
            FeedQuery,
            every_change,
            feature_rows,
        )

        end = _instant(until) if until is not None else dt.datetime.now(dt.UTC)
        start = _instant(since) if since is not None else end - dt.timedelta(days=DEFAULT_DAYS)
        wanted = set(layers) if layers is not None else None
        query = FeedQuery(start, end, limit=100, features=features, lang=lang, bbox=bbox)
        with self.engine.connect() as conn:
            entries = every_change(
                conn,
                self.catalog,
                self.definition,
                self.role,
                query,
                codes=self.code_tables,
                loaded=lambda layer: wanted is None or layer.id in wanted,
            )
        rows = feature_rows(entries)
        frame = gpd.GeoDataFrame.from_features(
            [{"type": "Feature", "geometry": r.pop("geometry"), "properties": r} for r in rows],
            crs="OGC:CRS84",
            columns=list(FEATURE_COLUMNS),
        )
        frame.attrs["more"] = {e["id"]: e["more"] for e in entries if e["more"]}
        return frame

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

        instant = _instant(as_of)
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


_CRS84 = {"OGC:CRS84", "CRS84", "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84"}


def _frame_crs(crs: str | int) -> tuple[int, pyproj.CRS | None]:
    """The SRID PostGIS writes ``crs`` in and, for CRS84 (lon/lat, as EPSG:4326 stored and as
    GeoDataFrames hold it), the frame's CRS; a CRS without an EPSG code is a
    DigitalCityError."""
    if isinstance(crs, str) and crs.strip().upper() in _CRS84:
        return 4326, pyproj.CRS("OGC:CRS84")
    try:
        return epsg_code(crs), None
    except (ValueError, pyproj.exceptions.CRSError):
        raise DigitalCityError(f"{crs!r} is not a CRS with an EPSG code, nor OGC:CRS84") from None


def _instant(value: dt.datetime | str) -> dt.datetime:
    """An aware datetime from a datetime (naive: UTC) or RFC 3339 text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def open_city(
    city_id: str,
    settings: Settings | None = None,
    *,
    role: Role = "land_bureau",
    engine: Engine | None = None,
    as_of: dt.datetime | str | None = None,
) -> City:
    """Open ``city_id`` from the catalog in ``settings.layers_dir`` and the configured database;
    ``as_of`` (an instant) opens it as it was then (cards, search, analyses)."""
    settings = settings or settings_from_environment()
    catalog = load_catalog(settings.layers_dir)
    engine = engine or make_engine(settings)
    return City(catalog, catalog.city(city_id), engine, role, as_of=as_of)
