"""Cross-checks of a catalog against its code tables, crosswalks and source files."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pyproj

from digitalcity.catalog.codecheck import missing_codes
from digitalcity.catalog.codes import code_tables, load_crosswalk
from digitalcity.catalog.delimited_text import holding
from digitalcity.catalog.descriptions import code_descriptions
from digitalcity.catalog.model import LayerDef
from digitalcity.catalog.prepared import source_file
from digitalcity.catalog.registry import CITY_FILE, Catalog
from digitalcity.catalog.roles import ROLES, role_layers
from digitalcity.catalog.semantics import unknown_semantic_keys
from digitalcity.catalog.source_encoding import source_encoding, table_encoding
from digitalcity.catalog.sources import source_root
from digitalcity.catalog.tables import source_header
from digitalcity.config import Settings
from digitalcity.crs import epsg_code
from digitalcity.crs.chinese import place_in_china
from digitalcity.errors import DigitalCityError, SourceError


def _header(
    path: Path,
    layer: str | None = None,
    encoding: str | None = None,
    needed: Collection[str] = (),
) -> set[str] | None:
    """Column names of a source file read from its header (``needed``: names the header must
    hold, below a title if need be); None if unreadable."""
    try:
        return source_header(path, layer, encoding, holding(needed))
    except Exception:  # noqa: BLE001 - any reading failure means the columns cannot be checked
        return None


def _missing_columns(layer: LayerDef, root: Path, in_china: bool) -> list[str]:
    """Source columns (main file and joins) named by the definition but absent from the files
    (read with the encoding the loader reads them with)."""
    where = layer.qualified_id
    problems: list[str] = []
    src = layer.source
    geometry_columns = src.location_columns
    try:
        with source_file(root / src.path, src.member) as path:
            encoding = source_encoding(src, path, in_china=in_china)
            main = _header(path, src.layer, encoding, geometry_columns)
    except SourceError as exc:  # an archive without its data file, or with several
        if (root / src.path).exists():
            problems.append(f"{where}: {exc}")
        main = None
    joins: dict[str, set[str] | None] = {
        j.name: _header(
            root / j.path, None, table_encoding(j.encoding, root / j.path, in_china=in_china)
        )
        for j in src.joins
    }
    wanted: list[tuple[str | None, str, str]] = []
    for col in src.location_columns:
        wanted.append((None, col, "geometry column"))
    for f in layer.fields:
        if not f.derived:
            wanted.append((f.join_name, f.join_column, f"field {f.name!r}"))
    for j in src.joins:
        if j.left_key:
            wanted.append((None, j.left_key, f"join {j.name!r} left_key"))
        if j.right_key:
            wanted.append((j.name, j.right_key, f"join {j.name!r} right_key"))
    for join_name, column, what in wanted:
        header = main if join_name is None else joins.get(join_name)
        if header is not None and column not in header:
            file = src.path if join_name is None else join_name
            problems.append(f"{where}: {what}: source column {column!r} not in {file}")
    return problems


def _city_problems(catalog: Catalog) -> list[str]:
    problems: list[str] = []
    for city in catalog.cities.values():
        for name in ("storage_crs", "local_crs"):
            value = getattr(city, name)
            try:
                epsg_code(value)
            except Exception:  # noqa: BLE001 - any pyproj failure is a definition problem
                problems.append(f"{city.id}: {name} {value!r} is not an EPSG CRS")
                continue
            if name == "local_crs" and not pyproj.CRS.from_user_input(value).is_projected:
                problems.append(
                    f"{city.id}: local_crs {value!r} is geographic (degrees); "
                    "measurements need a projected CRS in metres"
                )
    if catalog.root is not None:
        for folder in sorted(p for p in catalog.root.iterdir() if p.is_dir()):
            if folder.name != "codes" and not (folder / CITY_FILE).is_file():
                if any(folder.glob("*.toml")):
                    problems.append(f"{folder.name}: folder has layer files but no {CITY_FILE}")
    return problems


def _role_problems(catalog: Catalog) -> list[str]:
    """Roles naming a layer whose geometry or kind the role cannot use."""
    problems: list[str] = []
    for city in catalog.cities.values():
        for role, layer_id in role_layers(city):
            layer = catalog.layer(city.id, layer_id)
            spec = ROLES[role]
            if layer.geometry_type not in spec.geometries:
                problems.append(
                    f"{city.id}: role {role!r} names {layer_id!r}, a {layer.geometry_type} "
                    f"layer; it needs {' or '.join(spec.geometries)}"
                )
            elif spec.kinds and layer.kind not in spec.kinds:
                problems.append(
                    f"{city.id}: role {role!r} names {layer_id!r}, a {layer.kind} layer; "
                    f"it needs a layer of kind {' or '.join(spec.kinds)}"
                )
    return problems


def validate_catalog(catalog: Catalog, settings: Settings) -> list[str]:
    """Problems found, one line each (empty when everything is consistent)."""
    problems: list[str] = _city_problems(catalog) + _role_problems(catalog)
    try:
        tables = code_tables(settings.layers_dir)
        code_descriptions(settings.layers_dir, tables)  # plain-language rows: codes, controls
    except DigitalCityError as exc:
        return [*problems, str(exc)]
    for layer in catalog:
        where = layer.qualified_id
        unknown = unknown_semantic_keys(tuple(layer.semantics))
        if unknown:
            problems.append(f"{where}: unknown semantic keys {unknown} (see catalog/semantics.py)")
        city = catalog.city(layer.city)
        root = source_root(city, settings.source_data_dir)
        in_china = place_in_china(city.center, city.bbox)
        source = root / layer.source.path
        if not source.exists():
            problems.append(f"{where}: source file {source} does not exist")
        for join in layer.source.joins:
            if not (root / join.path).exists():
                problems.append(
                    f"{where}: join {join.name!r} file {root / join.path} does not exist"
                )
        if source.exists():
            problems += _missing_columns(layer, root, in_china)
        for colour in (layer.style.colour, layer.style.outline):
            if colour and not colour.startswith("#"):
                system, _, code = colour.partition(":")
                if system not in tables or tables[system].colour_for(code) is None:
                    problems.append(f"{where}: style colour {colour!r} names no coloured class")
        cls = layer.classification
        if cls is None:
            continue
        if cls.system not in tables:
            problems.append(f"{where}: unknown code system {cls.system!r}")
        elif (
            cls.crosswalk
            and catalog.city(layer.city).land_use_primary == "native"
            and not any(tables[cls.system].colour_for(c.code) for c in tables[cls.system].level(1))
        ):
            problems.append(
                f"{where}: the city puts its own classes first (land_use_primary = 'native') but "
                f"no level-1 class of {cls.system!r} has a colour to draw them with"
            )
        if cls.crosswalk:
            if cls.crosswalk.to not in tables:
                problems.append(f"{where}: unknown code system {cls.crosswalk.to!r}")
                continue
            try:
                load_crosswalk(
                    settings.layers_dir / cls.crosswalk.file,
                    tables[cls.crosswalk.to],
                    cls.normaliser,
                )
            except DigitalCityError as exc:
                problems.append(f"{where}: {exc}")
                continue
        if source.exists():
            problems += missing_codes(layer, root, settings, tables, in_china=in_china)
    return problems
