"""Notebook access to a loaded city: ``dc.open_city("cambridge").read("parcels", ...)``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pyproj
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, CityDef, LayerDef, Role, load_catalog, visible_fields
from digitalcity.catalog.access import visible_layer
from digitalcity.catalog.codes import CodeTable, code_tables
from digitalcity.catalog.descriptions import Descriptions, code_descriptions
from digitalcity.city_editing import BBox, CityEditing, as_instant
from digitalcity.config import Settings, settings_from_environment
from digitalcity.crs import epsg_code
from digitalcity.db.engine import make_engine
from digitalcity.db.schema import layer_table, storage_srid
from digitalcity.errors import DigitalCityError, NotFound


class City(CityEditing):
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
        self.as_of = as_instant(as_of) if as_of is not None else None
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

            table = as_of_relation(layer, self.definition, as_instant(as_of))
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

    def locate(self, text: str) -> gpd.GeoDataFrame:
        """The places the coordinates typed as ``text`` stand for in the city (坐标定位), read
        as the maps' search reads them (``digitalcity.coordinates``: lon/lat, degrees and
        minutes, the local CRS's x/y, a Gauss–Krüger easting with its zone, GCJ-02 and BD-09
        in China): one row per reading inside the city, WGS 84 first, with the CRS, its name
        and the values as read (in the CRS's axis order); points in OGC:CRS84."""
        from digitalcity.coordinates import places

        found = places(text, self.definition)
        return gpd.GeoDataFrame(
            {
                "crs": [p.crs for p in found],
                "crs_name": [p.crs_name for p in found],
                "values": [p.values for p in found],
            },
            geometry=gpd.points_from_xy([p.lon for p in found], [p.lat for p in found]),
            crs="OGC:CRS84",
        )

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

        end = as_instant(until) if until is not None else dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            return changes(
                conn, self.layer(layer_id), self.definition, self.role, as_instant(since), end
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

        end = as_instant(until) if until is not None else dt.datetime.now(dt.UTC)
        start = as_instant(since) if since is not None else end - dt.timedelta(days=DEFAULT_DAYS)
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
