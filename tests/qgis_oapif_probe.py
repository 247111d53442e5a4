"""Run by Debian's Python with QGIS (python3-qgis), not by pytest: open a collection with
QGIS's own OGC API – Features provider (what QGIS does for a layer added from an OAPIF
connection) and read every feature; print, as JSON, whether the layer is valid, the feature
count QGIS reports, the features read and how many of them have a geometry.

Usage: ``python3 qgis_oapif_probe.py <base URL> <collection id>``.
"""

from __future__ import annotations

import json
import sys

from qgis.core import QgsApplication, QgsVectorLayer  # type: ignore[import-not-found]


def main(base: str, collection: str) -> dict[str, object]:
    messages: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: messages.append(f"{tag}: {message}")
    )
    layer = QgsVectorLayer(f"url='{base}' typename='{collection}'", collection, "OAPIF")
    if not layer.isValid():  # (layer.error() crashes QGIS 3.22 here)
        return {"valid": False, "messages": messages}
    read = with_geometry = 0
    for feature in layer.getFeatures():
        read += 1
        with_geometry += int(feature.hasGeometry())
    return {
        "valid": True,
        "reported": layer.featureCount(),
        "read": read,
        "with_geometry": with_geometry,
        "fields": [f.name() for f in layer.fields()],
    }


if __name__ == "__main__":
    # the application lives at module level: created inside a function, QGIS crashed
    # (SIGSEGV) on the first layer
    QgsApplication.setPrefixPath("/usr", True)
    APP = QgsApplication([], False)
    APP.initQgis()
    print(json.dumps(main(sys.argv[1], sys.argv[2])), flush=True)
    APP.exitQgis()
