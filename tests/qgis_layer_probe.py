"""Run by Debian's Python with QGIS (python3-qgis), not by pytest: open layers as QGIS does
and print, as JSON, what it reads.

- ``python3 qgis_layer_probe.py oapif <base URL> <collection id>``: the collection through
  QGIS's own OGC API – Features provider (a layer added from an OAPIF connection), every
  feature read: whether the layer is valid, the count QGIS reports, the features read, how
  many have a geometry and, per field, how many have a value.
- ``python3 qgis_layer_probe.py files <path> [<path> ...]``: each file through QGIS's OGR
  provider (a layer added from the browser): valid, feature count, field names and, per
  field, the first feature's value as text.
"""

from __future__ import annotations

import json
import sys

from qgis.core import QgsApplication, QgsVectorLayer  # type: ignore[import-not-found]


def oapif(base: str, collection: str) -> dict[str, object]:
    layer = QgsVectorLayer(f"url='{base}' typename='{collection}'", collection, "OAPIF")
    if not layer.isValid():  # (layer.error() crashes QGIS 3.22 here)
        return {"valid": False}
    read = with_geometry = 0
    names = [f.name() for f in layer.fields()]
    filled = dict.fromkeys(names, 0)
    for feature in layer.getFeatures():
        read += 1
        with_geometry += int(feature.hasGeometry())
        for name in names:
            filled[name] += int(feature[name] is not None and not _is_null(feature[name]))
    return {
        "valid": True,
        "reported": layer.featureCount(),
        "read": read,
        "with_geometry": with_geometry,
        "fields": names,
        "filled": filled,
    }


def _is_null(value: object) -> bool:
    """QGIS gives a field without a value as a null QVariant."""
    return hasattr(value, "isNull") and bool(value.isNull())


def files(paths: list[str]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path in paths:
        layer = QgsVectorLayer(path, "export", "ogr")
        if not layer.isValid():
            out.append({"path": path, "valid": False})
            continue
        names = [f.name() for f in layer.fields()]
        values = [sorted({str(f[name]) for f in layer.getFeatures()}) for name in names]
        out.append(
            {
                "path": path,
                "valid": True,
                "count": layer.featureCount(),
                "fields": names,
                "values": dict(zip(names, values, strict=True)),
            }
        )
    return out


if __name__ == "__main__":
    # the application lives at module level: created inside a function, QGIS crashed
    # (SIGSEGV) on the first layer
    QgsApplication.setPrefixPath("/usr", True)
    APP = QgsApplication([], False)
    APP.initQgis()
    mode, *args = sys.argv[1:]
    result = oapif(*args) if mode == "oapif" else files(args)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    APP.exitQgis()
