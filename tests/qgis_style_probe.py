"""Run by Debian's Python with QGIS (python3-qgis), not by pytest: convert a MapLibre style
with QGIS's own converter (QgsMapBoxGlStyleConverter, what QGIS does when a vector tile layer
loads a style URL) and print, as JSON, what QGIS will draw.

Usage: ``python3 qgis_style_probe.py style.json probes.json``; ``probes`` is a list of
``{"layer": source-layer, "properties": {field: value}}``. For each probe the output has the
fill colour QGIS evaluates for a feature with those properties in every converted style of
that source layer (``#rrggbb``, or null when QGIS draws nothing there), and the list of
source layers the converted renderer draws.
"""

from __future__ import annotations

import json
import sys

from qgis.core import (  # type: ignore[import-not-found]
    QgsApplication,
    QgsExpression,
    QgsExpressionContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsMapBoxGlStyleConversionContext,
    QgsMapBoxGlStyleConverter,
    QgsSymbolLayer,
    QgsSymbolLayerUtils,
)
from qgis.PyQt.QtCore import QVariant  # type: ignore[import-not-found]


def _feature(properties: dict) -> tuple[QgsFeature, QgsFields]:
    fields = QgsFields()
    for name in properties:
        fields.append(QgsField(name, QVariant.String))
    feature = QgsFeature(fields)
    for name, value in properties.items():
        feature.setAttribute(name, value)
    return feature, fields


def _colour(style, properties: dict) -> str | None:  # noqa: ANN001
    symbol = style.symbol()
    if symbol is None:
        return None
    feature, fields = _feature(properties)
    context = QgsExpressionContext()
    context.setFeature(feature)
    context.setFields(fields)
    if style.filterExpression():
        if not QgsExpression(style.filterExpression()).evaluate(context):
            return None
    layer = symbol.symbolLayer(0)
    prop = layer.dataDefinedProperties().property(QgsSymbolLayer.PropertyFillColor)
    if prop and prop.isActive():
        value = prop.value(context, None)[0]
        if value is None:
            return None
        colour = QgsSymbolLayerUtils.decodeColor(str(value))
    else:
        colour = symbol.color()
    return colour.name().lower()


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    style = json.load(open(sys.argv[1], encoding="utf-8"))
    probes = json.load(open(sys.argv[2], encoding="utf-8"))
    converter = QgsMapBoxGlStyleConverter()
    converter.convert(style, QgsMapBoxGlStyleConversionContext())
    renderer = converter.renderer()
    styles = renderer.styles() if renderer else []
    out = {
        "layers": sorted({s.layerName() for s in styles}),
        "probes": [
            [
                _colour(s, p["properties"])
                for s in styles
                if s.layerName() == p["layer"] and s.geometryType() == 2  # polygons
            ]
            for p in probes
        ],
    }
    print(json.dumps(out))
    app.exitQgis()


if __name__ == "__main__":
    main()
