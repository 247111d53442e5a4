"""The catalog: every city and layer definition under ``layers/``, validated, immutable."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from digitalcity.catalog.model import CityDef, LayerDef
from digitalcity.errors import CatalogError, NotFound

CITY_FILE = "city.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8; a Chinese editor may save GBK ("ANSI")
        try:
            exc.object.decode("gb18030")
            encoding = "GBK"
        except UnicodeDecodeError:
            encoding = "another encoding"
        raise CatalogError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at {exc.start}), "
            f"perhaps saved as {encoding}: save it as UTF-8"
        ) from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from exc


def _validation_message(path: Path, exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    )
    return f"{path}: {problems}"


@dataclass(frozen=True)
class Catalog:
    """Immutable registry of cities and their layers, in declaration order."""

    cities: Mapping[str, CityDef]
    layers: Mapping[str, tuple[LayerDef, ...]]
    root: Path | None = field(default=None, compare=False)

    def city(self, city_id: str) -> CityDef:
        try:
            return self.cities[city_id]
        except KeyError:
            raise NotFound(f"unknown city {city_id!r}") from None

    def city_layers(self, city_id: str) -> tuple[LayerDef, ...]:
        self.city(city_id)
        return self.layers.get(city_id, ())

    def layer(self, city_id: str, layer_id: str) -> LayerDef:
        for layer in self.city_layers(city_id):
            if layer.id == layer_id:
                return layer
        raise NotFound(f"unknown layer {layer_id!r} in city {city_id!r}")

    def __iter__(self) -> Iterator[LayerDef]:
        for layers in self.layers.values():
            yield from layers

    def with_layer(self, layer: LayerDef) -> Catalog:
        """A new catalog with ``layer`` added or replaced (this one is unchanged)."""
        self.city(layer.city)
        current = [x for x in self.layers.get(layer.city, ()) if x.id != layer.id]
        layers = dict(self.layers)
        layers[layer.city] = (*current, layer)
        return Catalog(MappingProxyType(dict(self.cities)), MappingProxyType(layers), self.root)


def parse_layer(data: dict[str, Any], city_id: str, path: Path) -> LayerDef:
    """Validate one layer definition; ``city`` defaults to the folder's city."""
    data = {"city": city_id, **data}
    if data["city"] != city_id:
        raise CatalogError(f"{path}: city {data['city']!r} differs from its folder {city_id!r}")
    try:
        return LayerDef.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_validation_message(path, exc)) from None


def _check_roles(city: CityDef, layer_ids: set[str], path: Path) -> None:
    roles = city.roles
    named = [
        v
        for v in (
            roles.parcels,
            roles.zoning,
            roles.population,
            roles.streets,
            roles.hydrants,
            roles.districts,
        )
        if v
    ]
    named += list(roles.overlays) + list(roles.life_circle)
    named += [x for ids in roles.facilities.values() for x in ids]
    unknown = sorted(set(named) - layer_ids)
    if unknown:
        raise CatalogError(f"{path}: roles name unknown layers {unknown}")


def load_catalog(root: Path) -> Catalog:
    """Read and validate every ``<city>/city.toml`` and ``<city>/*.toml`` layer under ``root``."""
    if not root.is_dir():
        raise CatalogError(f"layers directory {root} does not exist")
    cities: dict[str, CityDef] = {}
    layers: dict[str, tuple[LayerDef, ...]] = {}
    for city_dir in sorted(p for p in root.iterdir() if (p / CITY_FILE).is_file()):
        city_path = city_dir / CITY_FILE
        city_data = {"id": city_dir.name, **_read_toml(city_path)}
        try:
            city = CityDef.model_validate(city_data)
        except ValidationError as exc:
            raise CatalogError(_validation_message(city_path, exc)) from None
        if city.id != city_dir.name:
            raise CatalogError(f"{city_path}: id {city.id!r} differs from folder {city_dir.name!r}")
        parsed = [
            parse_layer(_read_toml(path), city.id, path)
            for path in sorted(city_dir.glob("*.toml"))
            if path.name != CITY_FILE
        ]
        ids = [layer.id for layer in parsed]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise CatalogError(f"{city_dir}: layer ids defined twice: {dupes}")
        _check_roles(city, {layer.id for layer in parsed}, city_path)
        cities[city.id] = city
        layers[city.id] = tuple(sorted(parsed, key=lambda x: (x.order, x.id)))
    if not cities:
        raise CatalogError(f"no city definitions (<city>/{CITY_FILE}) under {root}")
    return Catalog(MappingProxyType(cities), MappingProxyType(layers), root)
