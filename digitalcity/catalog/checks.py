"""The checks of ``check-layers`` that catch what would otherwise fail, or go silently wrong,
later: a geographic local CRS (areas in square degrees), a city folder without ``city.toml``,
source columns that do not exist, codes the code table does not know, and roles that point at
layers of the wrong geometry or kind. Each returns problems, one line each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyogrio
import pyproj

from digitalcity.catalog.codes import CodeTable, normaliser_for
from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.catalog.registry import CITY_FILE, Catalog

# role -> geometry families the role's layers must have (a parcel is an area, a street a line)
ROLE_GEOMETRY: dict[str, tuple[str, ...]] = {
    "parcels": ("Polygon",),
    "zoning": ("Polygon",),
    "overlays": ("Polygon",),
    "population": ("Polygon",),
    "districts": ("Polygon",),
    "streets": ("LineString",),
    "hydrants": ("Point",),
    "facilities": ("Point",),
    "life_circle": ("Point",),
}
MAX_CODE_ROWS = 2_000_000  # a code column is read whole; larger sources are not scanned


def _family(geometry_type: str) -> str:
    return geometry_type.removeprefix("Multi")


def local_crs_problems(city: CityDef) -> list[str]:
    try:
        crs = pyproj.CRS.from_user_input(city.local_crs)
    except pyproj.exceptions.CRSError:
        return []  # reported as "not an EPSG CRS" already
    if crs.is_geographic:
        return [
            f"{city.id}: local_crs {city.local_crs} is geographic (degrees): areas would be "
            "square degrees; choose a projected CRS in metres (e.g. a UTM or Gauss-Krüger zone)"
        ]
    return []


def city_folder_problems(root: Path) -> list[str]:
    """Folders under the layers directory that hold layer files but no ``city.toml``."""
    return [
        f"{folder.name}: {len(list(folder.glob('*.toml')))} layer file(s) but no {CITY_FILE}: "
        "the folder is not loaded"
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        if not (folder / CITY_FILE).is_file() and any(folder.glob("*.toml"))
    ]


def role_problems(catalog: Catalog, city: CityDef) -> list[str]:
    roles = city.roles
    named: list[tuple[str, str]] = []
    for role in ("parcels", "zoning", "population", "streets", "hydrants", "districts"):
        value = getattr(roles, role)
        if value:
            named.append((role, value))
    named += [("overlays", x) for x in roles.overlays]
    named += [("life_circle", x) for x in roles.life_circle]
    named += [("facilities", x) for ids in roles.facilities.values() for x in ids]
    problems = []
    for role, layer_id in named:
        layer = catalog.layer(city.id, layer_id)
        wanted = ROLE_GEOMETRY[role]
        if _family(layer.geometry_type) not in wanted:
            problems.append(
                f"{city.id}: role {role} names {layer_id}, a {layer.geometry_type} layer; "
                f"the role needs {' or '.join(wanted)} geometries"
            )
        if role == "population" and not any(
            f.type in ("integer", "float")
            and (f.unit == "persons" or layer.semantics.get("population") == f.name)
            for f in layer.all_fields
        ):
            problems.append(
                f"{city.id}: role population names {layer_id}, which has no field counted in persons"
            )
    return problems


def _source_columns(path: Path, layer: LayerDef) -> list[str] | None:
    """The columns of a layer's source file (None when the format is not read here)."""
    fmt = layer.source.resolved_format
    if fmt in ("geotiff", "topojson"):
        return None
    if fmt == "csv":
        import pandas as pd

        return [
            str(c)
            for c in pd.read_csv(path, nrows=0, encoding=layer.source.encoding or "utf-8").columns
        ]
    info = pyogrio.read_info(path, layer=layer.source.layer, encoding=layer.source.encoding)
    return [str(c) for c in info["fields"]]


def column_problems(layer: LayerDef, source: Path) -> list[str]:
    """Fields whose source column the file does not have."""
    try:
        columns = _source_columns(source, layer)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a definition problem here
        return [f"{layer.qualified_id}: cannot read the header of {source.name}: {str(exc)[:200]}"]
    if columns is None:
        return []
    joins = {j.name for j in layer.source.joins}
    problems = []
    wanted = [f.source_column for f in layer.all_fields if not f.derived]
    wanted += [j.left_key for j in layer.source.joins if j.how == "key" and j.left_key]
    if layer.source.id_field:
        wanted.append(layer.source.id_field)
    for column in wanted:
        if "." in column and column.split(".", 1)[0] in joins:
            continue  # a joined table's column: checked by the load
        if column not in columns:
            problems.append(
                f"{layer.qualified_id}: source column {column!r} is not in {source.name} "
                f"(has {', '.join(columns[:30])})"
            )
    return problems


def code_problems(layer: LayerDef, source: Path, tables: dict[str, CodeTable]) -> list[str]:
    """Codes in the data (a direct source column) that the layer's code table does not have,
    named with their counts."""
    cls = layer.classification
    if cls is None or cls.system not in tables:
        return []
    field = next((f for f in layer.all_fields if f.name == cls.field), None)
    if (
        field is None
        or "." in field.source_column
        or layer.source.resolved_format
        not in (
            "geojson",
            "shapefile",
            "gpkg",
        )
    ):
        return []
    try:
        info = pyogrio.read_info(source, layer=layer.source.layer)
        if int(info["features"]) > MAX_CODE_ROWS:
            return []
        frame = pyogrio.read_dataframe(
            source, layer=layer.source.layer, columns=[field.source_column], read_geometry=False
        )
    except Exception:  # noqa: BLE001 - column_problems reports an unreadable source
        return []
    if field.source_column not in frame.columns:  # column_problems reports a missing column
        return []
    normalise = normaliser_for(cls.system)
    table = tables[cls.system]
    values = frame[field.source_column].dropna().astype(str).str.strip()
    missing = Counter(v for v in values if v and normalise(v) not in table)
    if not missing:
        return []
    listed = ", ".join(f"{code!r} ×{n}" for code, n in missing.most_common(10))
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return [f"{layer.qualified_id}: codes not in {cls.system}: {listed}{more}"]
