"""Map symbols of layers: colours from the code tables, one function for style and legend.

A classified layer is coloured by its classification: through the crosswalk's level-1 field
and the target table's colours (parcels: ``landuse_l1`` → tdyh_2023), or by its own code
table (zoning: ``zone_code`` → the zone's colour, else its family's). Other layers take a
colour from ``symbology.toml`` or a default of their kind and geometry; point layers of a
city get distinct colours from ``PALETTE`` in catalog order.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from digitalcity.catalog import LayerDef
from digitalcity.catalog.codes import CodeTable, load_crosswalk, normaliser_for
from digitalcity.tiles.content import POINT_TYPES

Geometry = Literal["fill", "line", "circle"]
FALLBACK = "#bdbdbd"  # features whose code has no colour
# Tableau 20: distinct hues for point layers (infrastructure symbols).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
DEFAULTS: dict[str, dict[str, Any]] = {
    "boundary": {"colour": "#555555", "width": 1.5, "outline_only": True},
    "population": {"colour": "#9e9ac8", "opacity": 0.15, "width": 0.6},
    "planning": {"colour": "#756bb1", "opacity": 0.12, "width": 1.0, "dash": True},
    "basemap": {"colour": "#d9d9d9", "opacity": 0.6},
    "landuse": {"colour": "#a1d99b", "opacity": 0.6},
    "infrastructure": {"colour": "#636363", "opacity": 0.7, "width": 1.2},
}


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: the value coloured (None for a single-colour layer), colour, label."""

    colour: str
    label: str
    value: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Symbol:
    """How a layer is drawn: geometry type, colour (a hex or a ``match`` expression)."""

    layer: LayerDef
    geometry: Geometry
    colour: str | list[Any]
    entries: tuple[LegendEntry, ...]
    opacity: float = 0.8
    width: float = 1.0
    dash: bool = False
    outline_only: bool = False
    visible: bool = True
    field: str | None = None


@cache
def _hints() -> dict[str, dict[str, Any]]:
    text = resources.files("digitalcity.tiles").joinpath("symbology.toml").read_text("utf-8")
    return tomllib.loads(text)


def _geometry(layer: LayerDef) -> Geometry:
    if layer.geometry_type in POINT_TYPES:
        return "circle"
    return "line" if "LineString" in layer.geometry_type else "fill"


@cache
def _crosswalk_codes(path: Path, table: CodeTable, system: str) -> tuple[str, ...]:
    walk = load_crosswalk(path, table, normaliser_for(system))
    targets = {l1 for l1, _ in walk.rules.values()}
    return tuple(c.code for c in table.level(1) if c.code in targets)


class Symbology:
    """Symbols of every layer, from the code tables under ``layers_dir``."""

    def __init__(self, tables: dict[str, CodeTable], layers_dir: Path) -> None:
        self.tables = tables
        self.layers_dir = layers_dir

    def colour(self, spec: str) -> str:
        """A ``#rrggbb`` as is, or the colour of ``<system>:<code>`` in the code tables."""
        if spec.startswith("#"):
            return spec
        system, _, code = spec.partition(":")
        return self.tables[system].colour_for(code) or FALLBACK

    def _classified(self, layer: LayerDef, lang: str) -> tuple[str, tuple[LegendEntry, ...]]:
        cls = layer.classification
        assert cls is not None
        if cls.crosswalk:
            table = self.tables[cls.crosswalk.to]
            path = self.layers_dir / cls.crosswalk.file
            codes = [table.get(c) for c in _crosswalk_codes(path, table, cls.system)]
            entries = tuple(
                LegendEntry(
                    table.colour_for(c.code) or FALLBACK, f"{c.code} {c.name(lang)}", c.code
                )
                for c in codes
                if c is not None
            )
            return cls.crosswalk.level1_field, entries
        table = self.tables[cls.system]
        leaves = [c for c in table if not any(d.parent == c.code for d in table)]
        entries = tuple(
            LegendEntry(
                table.colour_for(c.code) or FALLBACK,
                c.name(lang),
                c.code,
                (parent.name(lang) if (parent := table.get(c.parent)) else None),
            )
            for c in leaves
        )
        return cls.field, entries

    def symbol(self, layer: LayerDef, point_index: int, lang: str, visible: bool = True) -> Symbol:
        """The symbol of ``layer``; ``point_index`` picks its palette colour among points."""
        geometry = _geometry(layer)
        title = layer.title.get(lang)
        if layer.classification and (
            layer.classification.crosswalk or layer.classification.system in self.tables
        ):
            name, entries = self._classified(layer, lang)
            colour: str | list[Any] = [
                "match",
                ["get", name],
                *[x for e in entries for x in (e.value, e.colour)],
                FALLBACK,
            ]
            other = LegendEntry(
                FALLBACK, "其他 / 未分类" if lang == "zh" else "Other / unclassified"
            )
            opacity = 0.8 if layer.kind == "landuse" else 0.45
            return Symbol(layer, geometry, colour, (*entries, other), opacity, field=name)
        hint = {**DEFAULTS.get(layer.kind, {}), **_hints().get(layer.qualified_id, {})}
        if geometry == "circle" and layer.qualified_id not in _hints():
            hint["colour"] = PALETTE[point_index % len(PALETTE)]
        hex_colour = self.colour(hint.get("colour", FALLBACK))
        return Symbol(
            layer,
            geometry,
            hex_colour,
            (LegendEntry(hex_colour, title),),
            opacity=float(hint.get("opacity", 0.8)),
            width=float(hint.get("width", 1.0)),
            dash=bool(hint.get("dash", False)),
            outline_only=bool(hint.get("outline_only", False)),
            visible=visible,
        )

    def symbols(self, city_layers: list[LayerDef], shown: set[str], lang: str) -> list[Symbol]:
        """Symbols of the layers in ``shown`` among a city's layers (catalog order).

        Point colours are assigned over all the city's point layers, so a layer has the same
        colour in every style and legend. Only the first population layer shown starts
        visible, so census layers of different years do not stack.
        """
        out = []
        points = 0
        population_seen = False
        for layer in city_layers:
            if layer.id in shown:
                visible = not (layer.kind == "population" and population_seen)
                population_seen = population_seen or layer.kind == "population"
                out.append(self.symbol(layer, points, lang, visible))
            points += _geometry(layer) == "circle"
        return out
