"""Notebook access to a loaded city: ``dc.open_city("cambridge").read("parcels", ...)``."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import geopandas as gpd
import pyproj
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, CityDef, LayerDef, Role, load_catalog, visible_fields
from digitalcity.catalog.access import visible_layer
from digitalcity.catalog.codes import CodeTable, code_tables
from digitalcity.config import Settings
from digitalcity.crs import epsg_code
from digitalcity.db.engine import make_engine
from digitalcity.db.schema import layer_table, storage_srid
from digitalcity.errors import DigitalCityError, NotFound

BBox = tuple[float, float, float, float]


class City:
    """A city's layers as GeoDataFrames, seen with the access of ``role``."""

    def __init__(self, catalog: Catalog, city: CityDef, engine: Engine, role: Role) -> None:
        self.catalog, self.definition, self.engine, self.role = catalog, city, engine, role

    @functools.cached_property
    def code_tables(self) -> dict[str, CodeTable]:
        """Land-use and zoning code tables (names and colours), from the catalog's folder."""
        return code_tables(self.catalog.root) if self.catalog.root else {}

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

    def read(
        self,
        layer_id: str,
        *,
        bbox: BBox | None = None,
        bbox_crs: str = "EPSG:4326",
        crs: str | int | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> gpd.GeoDataFrame:
        """Rows of a layer as a GeoDataFrame.

        ``bbox`` (minx, miny, maxx, maxy) is in ``bbox_crs`` (lon/lat by default) and keeps the
        features whose geometry intersects it; the result is in ``crs`` (default: the city's
        storage CRS), indexed by feature id ``fid``, with the fields the role may read.
        """
        layer = self.layer(layer_id)
        table = layer_table(layer, self.definition)
        allowed = [f.name for f in visible_fields(self.role, layer)]
        wanted = list(columns) if columns is not None else allowed
        unknown = [c for c in wanted if c not in allowed]
        if unknown:
            raise DigitalCityError(f"unknown columns for {layer_id!r}: {unknown}")
        srid = storage_srid(self.definition)
        out_srid = epsg_code(crs) if crs is not None else srid
        geom = table.c.geom if out_srid == srid else sa.func.ST_Transform(table.c.geom, out_srid)
        query = sa.select(table.c.fid, geom.label("geom"), *(table.c[c] for c in wanted))
        if bbox is not None:
            envelope = sa.func.ST_MakeEnvelope(*map(float, bbox), epsg_code(bbox_crs))
            if epsg_code(bbox_crs) != srid:
                envelope = sa.func.ST_Transform(envelope, srid)
            query = query.where(sa.func.ST_Intersects(table.c.geom, envelope))
        query = query.order_by(table.c.fid)
        if limit is not None:
            query = query.limit(limit)
        frame = gpd.read_postgis(
            query, self.engine, geom_col="geom", crs=pyproj.CRS.from_epsg(out_srid)
        )
        return frame.set_index("fid")


def open_city(
    city_id: str,
    settings: Settings | None = None,
    *,
    role: Role = "land_bureau",
    engine: Engine | None = None,
) -> City:
    """Open ``city_id`` from the catalog in ``settings.layers_dir`` and the configured database."""
    settings = settings or Settings()
    catalog = load_catalog(settings.layers_dir)
    return City(catalog, catalog.city(city_id), engine or make_engine(settings), role)
