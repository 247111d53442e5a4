"""Map symbols of layers: the layer's ``[style]`` table over the package's defaults per kind and
geometry, colours from the code tables; one function for style, legend and folium maps.

A classified layer is coloured by its classification: through the crosswalk's level-1 field
and the target table's colours (parcels: ``landuse_l1`` → tdyh_2023), or by its own code
table (zoning: ``zone_code`` → the zone's colour, else its family's). Other layers take
``style.colour`` from their definition (``#rrggbb`` or ``<system>:<code>``, a class colour of a
code table) or, for point layers, a distinct colour of ``PALETTE`` in catalog order. Nothing
here names a city or a layer. Widths and radii are screen pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from functools import cache
from pathlib import Path
from typing import Any, Literal

from digitalcity.catalog import Catalog, LayerDef
from digitalcity.catalog.cartography import ByZoom, GraduatedDef
from digitalcity.catalog.codes import CodeTable, load_crosswalk
from digitalcity.catalog.model import Classification
from digitalcity.tiles.content import POINT_TYPES

Geometry = Literal["fill", "line", "circle"]
StyleName = Literal["planner", "public"]
FALLBACK = "#bdbdbd"  # features whose code has no colour
OUTLINE = "#7f7f7f"  # outline of classified fills
# Tableau 20: distinct hues for point layers (infrastructure symbols).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
# Defaults per kind; a layer's [style] table overrides any of them.
DEFAULTS: dict[str, dict[str, Any]] = {
    "boundary": {"colour": "#555555", "width": 1.5, "outline_only": True},
    "population": {"colour": "#9e9ac8", "opacity": 0.15, "width": 0.6},
    "planning": {"colour": "#756bb1", "opacity": 0.12, "width": 1.0, "dash": (3.0, 2.0)},
    "basemap": {"colour": "#d9d9d9", "opacity": 0.6},
    "landuse": {"colour": "#a1d99b", "opacity": 0.6},
    "infrastructure": {"colour": "#636363", "opacity": 0.7, "width": 1.2},
}
CLASSIFIED_OPACITY = {"landuse": 0.8}  # other classified kinds: 0.45
RADIUS: dict[int, float] = {12: 2.5, 18: 7.0}


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: the value coloured (None for a single-colour layer), colour, label."""

    colour: str
    label: str
    value: str | None = None
    group: str | None = None
    values: tuple[str, ...] = ()  # every code drawn in this colour (a class and its subclasses)


@dataclass(frozen=True)
class Symbol:
    """How a layer is drawn: geometry type, colour (a hex or a ``match`` expression), widths."""

    layer: LayerDef
    geometry: Geometry
    colour: str | list[Any]
    entries: tuple[LegendEntry, ...]
    opacity: float = 0.8
    width: ByZoom = 1.0
    dash: tuple[float, ...] | None = None
    outline_only: bool = False
    outline: str | None = None
    outline_width: float | None = None
    radius: ByZoom = default(default_factory=lambda: dict(RADIUS))
    visible: bool = True
    field: str | None = None


def step_colour(graduated: GraduatedDef) -> list[Any]:
    """``["step", ["get", field], c0, b1, c1, ...]``: a feature's class colour (missing
    values take the fallback grey)."""
    steps: list[Any] = [graduated.colours[0]]
    for low, _, colour in graduated.classes()[1:]:
        steps += [low, colour]
    value = ["get", graduated.field]
    return ["case", ["==", value, None], FALLBACK, ["step", value, *steps]]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"


def graduated_entries(graduated: GraduatedDef) -> tuple[LegendEntry, ...]:
    """One legend row per class, its range in the field's unit: ``< 1,000``, ``1,000 – 3,000``,
    ..., ``≥ 20,000`` (the symbols read alike in every language)."""
    return tuple(
        LegendEntry(colour, _range(low, high)) for low, high, colour in graduated.classes()
    )


def _range(low: float | None, high: float | None) -> str:
    if low is None:
        return f"< {_number(high or 0)}"
    if high is None:
        return f"≥ {_number(low)}"
    return f"{_number(low)} – {_number(high)}"


def geometry_of(layer: LayerDef) -> Geometry:
    if layer.geometry_type in POINT_TYPES:
        return "circle"
    return "line" if "LineString" in layer.geometry_type else "fill"


def match_colour(field: str, entries: tuple[LegendEntry, ...]) -> list[Any]:
    """``["match", ["get", field], ["v1"], c1, ["v2"], c2, ..., fallback]``.

    One-element arrays as labels: MapLibre reads them like plain values, and QGIS's style
    converter (3.22+) turns them into ``"field" IN ('v1')``; with plain string labels it
    writes ``IN ()`` and greys out every feature.
    """
    pairs = [
        x
        for e in entries
        if e.value is not None
        for x in (list(e.values) if e.values else [e.value], e.colour)
    ]
    return ["match", ["get", field], *pairs, FALLBACK]


@cache
def _crosswalk_codes(path: Path, table: CodeTable, cls: Classification) -> tuple[str, ...]:
    walk = load_crosswalk(path, table, cls.normaliser)
    targets = {l1 for l1, _ in walk.rules.values()}
    return tuple(c.code for c in table.level(1) if c.code in targets)


def native_first_cities(catalog: Catalog) -> frozenset[str]:
    """The cities whose definition puts their own land-use classes first."""
    return frozenset(c.id for c in catalog.cities.values() if c.land_use_primary == "native")


def _under(table: CodeTable, code: Any, ancestor: str) -> bool:
    seen: set[str] = set()
    while code is not None and code.parent and code.parent not in seen:
        if code.parent == ancestor:
            return True
        seen.add(code.parent)
        code = table.get(code.parent)
    return False


class Symbology:
    """Symbols of every layer, from the definitions and the code tables under ``layers_dir``."""

    def __init__(
        self,
        tables: dict[str, CodeTable],
        layers_dir: Path,
        native_first: frozenset[str] = frozenset(),
    ) -> None:
        """``native_first``: the cities whose ``land_use_primary`` is 'native' (their crosswalked
        layers are coloured by their own codes' level-1 classes, not the standard ones)."""
        self.tables = tables
        self.layers_dir = layers_dir
        self.native_first = native_first

    def colour(self, spec: str) -> str:
        """A ``#rrggbb`` as is, or the colour of ``<system>:<code>`` in the code tables."""
        if spec.startswith("#"):
            return spec
        system, _, code = spec.partition(":")
        table = self.tables.get(system)
        return (table.colour_for(code) if table else None) or FALLBACK

    def classified(self, layer: LayerDef, lang: str) -> tuple[str, tuple[LegendEntry, ...]]:
        """The field a classified layer is coloured by, and its legend entries."""
        cls = layer.classification
        assert cls is not None
        if cls.crosswalk and layer.city in self.native_first and cls.system in self.tables:
            return cls.field, self._by_level1(self.tables[cls.system], lang)
        if cls.crosswalk:
            table = self.tables[cls.crosswalk.to]
            path = self.layers_dir / cls.crosswalk.file
            codes = [table.get(c) for c in _crosswalk_codes(path, table, cls)]
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
                values=forms if len(forms := cls.written_forms(c.code)) > 1 else (),
            )
            for c in leaves
        )
        return cls.field, entries

    @staticmethod
    def _by_level1(table: CodeTable, lang: str) -> tuple[LegendEntry, ...]:
        """One entry per coloured level-1 class, drawing the class and all its subclasses."""
        entries = []
        for top in table.level(1):
            colour = table.colour_for(top.code)
            if colour is None:
                continue
            codes = [top.code]
            codes += [c.code for c in table if c.code != top.code and _under(table, c, top.code)]
            entries.append(LegendEntry(colour, top.name(lang), top.code, values=tuple(codes)))
        return tuple(entries)

    def is_classified(self, layer: LayerDef) -> bool:
        """True when ``layer`` is coloured by classes (a code table, maybe through a crosswalk)."""
        cls = layer.classification
        return bool(cls and (cls.crosswalk or cls.system in self.tables))

    def symbol(self, layer: LayerDef, point_index: int, lang: str, visible: bool = True) -> Symbol:
        """The symbol of ``layer``; ``point_index`` picks its palette colour among points."""
        geometry = geometry_of(layer)
        declared = layer.style.model_dump(exclude_none=True)
        hint = {**DEFAULTS.get(layer.kind, {}), **declared}
        common: dict[str, Any] = {
            "width": hint.get("width", 1.0),
            "dash": tuple(hint["dash"]) if hint.get("dash") else None,
            "outline_only": bool(hint.get("outline_only", False)),
            "outline": self.colour(hint["outline"]) if "outline" in hint else None,
            "outline_width": hint.get("outline_width"),
            "radius": hint.get("radius", RADIUS),
            "visible": visible,
        }
        if self.is_classified(layer):
            name, entries = self.classified(layer, lang)
            other = LegendEntry(
                FALLBACK, "其他 / 未分类" if lang == "zh" else "Other / unclassified"
            )
            opacity = declared.get("opacity", CLASSIFIED_OPACITY.get(layer.kind, 0.45))
            return Symbol(
                layer, geometry, match_colour(name, entries), (*entries, other),
                float(opacity), field=name, **common,
            )  # fmt: skip
        graduated = layer.style.graduated
        if graduated is not None:
            opacity = declared.get("opacity", CLASSIFIED_OPACITY.get(layer.kind, 0.45))
            return Symbol(
                layer, geometry, step_colour(graduated), graduated_entries(graduated),
                float(opacity), field=graduated.field, **common,
            )  # fmt: skip
        if geometry == "circle" and "colour" not in declared:
            hint["colour"] = PALETTE[point_index % len(PALETTE)]
        hex_colour = self.colour(hint.get("colour", FALLBACK))
        return Symbol(
            layer,
            geometry,
            hex_colour,
            (LegendEntry(hex_colour, layer.title.get(lang)),),
            opacity=float(hint.get("opacity", 0.8)),
            **common,
        )

    def symbols(
        self, city_layers: list[LayerDef], shown: set[str], lang: str, style: StyleName
    ) -> list[Symbol]:
        """Symbols of the layers in ``shown`` among a city's layers (catalog order).

        Point colours are assigned over all the city's point layers, so a layer has the same
        colour in every style, legend and folium map. A layer starts visible when its
        definition's ``default_on`` says so for ``style``.
        """
        out = []
        points = 0
        for layer in city_layers:
            if layer.id in shown:
                visible = getattr(layer.default_on, style)
                out.append(self.symbol(layer, points, lang, visible))
            points += geometry_of(layer) == "circle"
        return out

    def symbol_in_city(self, city_layers: list[LayerDef], layer: LayerDef, lang: str) -> Symbol:
        """The symbol of one layer as the city's styles draw it (same palette colour)."""
        return self.symbols(city_layers, {layer.id}, lang, "planner")[0]
