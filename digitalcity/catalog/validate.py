"""Cross-checks of a catalog against its code tables, crosswalks and source files."""

from __future__ import annotations

from digitalcity.catalog import checks
from digitalcity.catalog.codes import NORMALISERS, code_tables, load_crosswalk
from digitalcity.catalog.registry import Catalog
from digitalcity.config import Settings
from digitalcity.crs import epsg_code
from digitalcity.errors import DigitalCityError


def validate_catalog(catalog: Catalog, settings: Settings) -> list[str]:
    """Problems found, one line each (empty when everything is consistent)."""
    problems: list[str] = []
    try:
        tables = code_tables(settings.layers_dir)
    except DigitalCityError as exc:
        return [str(exc)]
    if catalog.root is not None:
        problems += checks.city_folder_problems(catalog.root)
    for city in catalog.cities.values():
        for name in ("storage_crs", "local_crs"):
            try:
                epsg_code(getattr(city, name))
            except Exception:  # noqa: BLE001 - any pyproj failure is a definition problem
                problems.append(f"{city.id}: {name} {getattr(city, name)!r} is not an EPSG CRS")
        problems += checks.local_crs_problems(city)
        problems += checks.role_problems(catalog, city)
    for layer in catalog:
        where = layer.qualified_id
        source = settings.source_data_dir / layer.source.path
        if not source.exists():
            problems.append(f"{where}: source file {source} does not exist")
        else:
            problems += checks.column_problems(layer, source)
            problems += checks.code_problems(layer, source, tables)
        for join in layer.source.joins:
            if not (settings.source_data_dir / join.path).exists():
                problems.append(f"{where}: join {join.name!r} file {join.path} does not exist")
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
        if cls.crosswalk:
            if cls.crosswalk.to not in tables:
                problems.append(f"{where}: unknown code system {cls.crosswalk.to!r}")
                continue
            try:
                load_crosswalk(
                    settings.layers_dir / cls.crosswalk.file,
                    tables[cls.crosswalk.to],
                    NORMALISERS.get(cls.system),
                )
            except DigitalCityError as exc:
                problems.append(f"{where}: {exc}")
    return problems
