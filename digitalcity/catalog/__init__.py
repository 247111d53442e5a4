"""Layer and city definitions, code tables and access rules."""

from digitalcity.catalog.access import ROLES, Role, may_see, visible_fields, visible_layer
from digitalcity.catalog.model import CityDef, FieldDef, LayerDef, SourceDef, Titles
from digitalcity.catalog.registry import Catalog, load_catalog

__all__ = [
    "ROLES",
    "Catalog",
    "CityDef",
    "FieldDef",
    "LayerDef",
    "Role",
    "SourceDef",
    "Titles",
    "load_catalog",
    "may_see",
    "visible_fields",
    "visible_layer",
]
