"""A test layer carrying the properties the CQL2 standard's examples name (tests only).

The standard's property names (``eo:cloud_cover``, ``liftOff``, …) are not catalog identifiers,
so each maps to a plain column; a few names are used with two types across the examples
(``value`` as a number and as text), so those examples name their own column (OVERRIDES).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Engine

from digitalcity.catalog.model import FieldDef, Titles
from digitalcity.query import FilterContext

SCHEMA = "cql2_test"
GEOMETRY_NAMES = frozenset({"geometry", "geom", "footprint", "road", "location"})
# example property -> (column, catalog type)
PROPERTIES: dict[str, tuple[str, str]] = {
    "city": ("city", "string"),
    "cityName": ("city_name", "string"),
    "balance": ("balance", "float"),
    "updated": ("updated", "date"),
    "name": ("name", "string"),
    "depth": ("depth", "float"),
    "category": ("category", "integer"),
    "road_class": ("road_class", "string"),
    "etat_vol": ("etat_vol", "string"),
    "event_time": ("event_time", "datetime"),
    "touchdown": ("touchdown", "datetime"),
    "liftOff": ("lift_off", "datetime"),
    "vehicle_height": ("vehicle_height", "float"),
    "bridge_clearance": ("bridge_clearance", "float"),
    "landsat:scene_id": ("landsat_scene_id", "string"),
    "eo:instrument": ("eo_instrument", "string"),
    "landsat:wrs_path": ("landsat_wrs_path", "integer"),
    "landsat:wrs_row": ("landsat_wrs_row", "integer"),
    "eo:cloud_cover": ("eo_cloud_cover", "float"),
    "beamMode": ("beam_mode", "string"),
    "swathDirection": ("swath_direction", "string"),
    "polarization": ("polarization", "string"),
    "floors": ("floors", "integer"),
    "taxes": ("taxes", "float"),
    "owner": ("owner", "string"),
    "swimming_pool": ("swimming_pool", "boolean"),
    "material": ("material", "string"),
    "built": ("built", "date"),
    "geophys:SURVEY_NAME": ("geophys_survey_name", "string"),
    "id": ("id_text", "string"),
    "value": ("value", "float"),
    "updated_at": ("updated_at", "datetime"),
    "starts_at": ("starts_at", "datetime"),
    "ends_at": ("ends_at", "datetime"),
    "foo": ("foo", "float"),
    "bar": ("bar", "float"),
    "x": ("x", "float"),
    "höhe": ("hoehe", "float"),  # a non-ASCII property name
    "名称": ("mingcheng", "string"),
}
EXTRA_COLUMNS = {"value_text": "string", "landsat_wrs_path_text": "string"}
# examples that use a name with the other type
OVERRIDES: dict[str, dict[str, tuple[str, str]]] = {
    "example03": {"landsat:wrs_path": ("landsat_wrs_path_text", "string")},
    "example40": {"value": ("value_text", "string")},
    "example40-alt01": {"value": ("value_text", "string")},
}
_SQL_TYPES = {
    "string": sa.Text,
    "float": sa.Double,
    "integer": sa.BigInteger,
    "boolean": sa.Boolean,
    "date": sa.Date,
    "datetime": lambda: sa.DateTime(timezone=True),
}
# One row whose values satisfy some examples (used to check results, not only acceptance).
ROW = {
    "fid": 1,
    "geom": "SRID=4326;POINT(36.319836 32.288087)",
    "etat_vol": "debarquer",
    "owner": "Beyonce",
    "name": "Smithson",
    "floors": 6,
    "swimming_pool": True,
    "value": 3.0,
    "foo": 3.0,
    "x": 2.0,
    "hoehe": 12.5,
    "mingcheng": "思明区",
    "updated_at": dt.datetime(2011, 1, 1, tzinfo=dt.UTC),
    "built": dt.date(2010, 5, 1),
}


def _columns() -> dict[str, str]:
    columns = {column: kind for column, kind in PROPERTIES.values()}
    return {**columns, **EXTRA_COLUMNS}


def features_table() -> sa.Table:
    """The table object of SCHEMA.features (EPSG:4326), not created."""
    return sa.Table(
        "features",
        sa.MetaData(schema=SCHEMA),
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column("geom", Geometry(srid=4326)),
        *(sa.Column(name, _SQL_TYPES[kind]()) for name, kind in _columns().items()),
    )


def create_features(engine: Engine) -> sa.Table:
    """(Re)create SCHEMA.features with one row (ROW)."""
    table = features_table()
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        table.drop(conn, checkfirst=True)
        table.create(conn)
        conn.execute(table.insert().values(ROW))
    return table


def fields(overrides: dict[str, tuple[str, str]] | None = None) -> dict[str, FieldDef]:
    """Filterable fields keyed by the examples' property names."""
    mapping = {**PROPERTIES, **(overrides or {})}
    return {
        name: FieldDef(name=column, type=kind, title=Titles(zh=name, en=name))  # type: ignore[arg-type]
        for name, (column, kind) in mapping.items()
    }


def context(table: sa.Table, overrides: dict[str, tuple[str, str]] | None = None) -> FilterContext:
    """A filter context on ``table`` with geometry literals in EPSG:4326 (x = lon)."""
    return FilterContext(table, fields(overrides), 4326, 4326, False, GEOMETRY_NAMES)


def count(engine: Engine, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    """Rows of ``table`` matching ``where``, evaluated by PostgreSQL."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
        )
