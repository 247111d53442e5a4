"""Map labels on folium maps, from the same ``[label]`` definitions as the web maps: the label
field (per language where the data has both), the zoom range, colour, halo and size.

Leaflet has no label placement of its own, so each label is a non-interactive text marker at
the feature's representative point (a line's label sits at the middle of the longest piece of
the street of that name, one label per name), drawn only inside the definition's zoom range.
Higher-priority layers are drawn above the others. Text is set as text, never as HTML.
Coordinates are lon/lat (EPSG:4326).
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from digitalcity.catalog.cartography import LabelDef, LangFields
from digitalcity.catalog.model import LayerDef

MAX_LABELS = 2_000  # per layer: beyond this a notebook map is better served by the web map


def label_field(label: LabelDef, lang: str) -> str:
    """The column a label reads in ``lang``."""
    if isinstance(label.field, LangFields):
        return label.field.zh if lang.lower().startswith("zh") else label.field.en
    return label.field


def _size(label: LabelDef) -> float:
    """The label's size in px at its first zoom (a number, or the smallest zoom's value)."""
    if isinstance(label.size, dict):
        return float(label.size[min(label.size)])
    return float(label.size)


def label_points(
    layer: LayerDef, frame: gpd.GeoDataFrame, lang: str
) -> list[tuple[float, float, str]]:
    """(lon, lat, text) of each label of ``frame`` (lon/lat): one per distinct text for lines
    (a street drawn as many segments is named once), one per feature otherwise."""
    label = layer.label
    if label is None or len(frame) == 0:
        return []
    field = label_field(label, lang)
    if field not in frame.columns:
        return []
    named = frame[frame[field].notna() & (frame[field].astype(str).str.strip() != "")]
    out: list[tuple[float, float, str]] = []
    if label.placement == "line":
        for text, group in named.groupby(named[field].astype(str)):
            longest = max(shapely.get_parts(group.geometry.values), key=lambda g: g.length)
            point = longest.interpolate(0.5, normalized=True)
            out.append((point.x, point.y, str(text)))
    else:
        for text, geom in zip(named[field].astype(str), named.geometry, strict=True):
            if geom is not None and not geom.is_empty:
                point = geom.representative_point()
                out.append((point.x, point.y, text))
    return out[:MAX_LABELS]


class Labels(MacroElement):
    """One layer's labels: text markers shown between the label's min and max zoom."""

    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var spec = {{ this.spec }};
  var group = L.layerGroup();
  spec.points.forEach(function (p) {
    var el = document.createElement("span");
    el.textContent = p[2];
    el.style.cssText = spec.css;
    group.addLayer(L.marker([p[1], p[0]], {
      interactive: false, keyboard: false, zIndexOffset: spec.z,
      icon: L.divIcon({className: "dc-label", html: el, iconSize: null}),
    }));
  });
  function sync() {
    var z = map.getZoom();
    if (z >= spec.minZoom && z <= spec.maxZoom) { group.addTo(map); } else { group.remove(); }
  }
  map.on("zoomend", sync);
  map.whenReady(sync);
})();
{% endmacro %}"""
    )

    def __init__(self, layer: LayerDef, points: list[tuple[float, float, str]]) -> None:
        super().__init__()
        self._name = "Labels"
        label = layer.label
        assert label is not None
        halo = label.halo
        shadow = ",".join(f"{dx}px {dy}px 0 {halo}" for dx in (-1, 0, 1) for dy in (-1, 0, 1))
        spec: dict[str, Any] = {
            "points": [[round(x, 6), round(y, 6), text] for x, y, text in points],
            "minZoom": label.min_zoom,
            "maxZoom": label.max_zoom,
            "z": label.priority * 10,
            "css": (
                f"color:{label.colour};font:{_size(label):.0f}px sans-serif;white-space:nowrap;"
                f"text-shadow:{shadow};transform:translate(-50%,-50%);display:inline-block"
            ),
        }
        # json.dumps escapes quotes; "</" is broken so a label cannot end the script element
        self.spec = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
