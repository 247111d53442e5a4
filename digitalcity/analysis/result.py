"""``AnalysisResult``: a frame, its CRS and units, and where it came from."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import digitalcity
from digitalcity.analysis.errors import LayerNotLoaded
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City

_VERSIONS = sa.text(
    "SELECT layer, version, fingerprint, loaded_at, rows_loaded FROM digitalcity.layer_versions "
    "WHERE city = :city AND layer = ANY(:layers) AND is_current"
)


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """The outcome of one analysis.

    ``frame`` is a DataFrame, or a GeoDataFrame whose geometry is in ``crs`` (the city's storage
    CRS, lon/lat); measures in it were taken in the city's local metric CRS, named in
    ``provenance["crs"]``. ``units`` maps column → unit; ``summary`` holds city-wide figures
    (totals, shares) that reconcile with the frame.
    """

    frame: pd.DataFrame
    crs: str | None
    units: Mapping[str, str]
    provenance: Mapping[str, Any]
    summary: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: a GeoJSON FeatureCollection (in ``crs``) or a list of records."""
        frame = self.frame
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
            geo = frame.geometry
            props = pd.DataFrame(frame.drop(columns=[geo.name]))
            features = [
                {
                    "type": "Feature",
                    "geometry": None if g is None or g.is_empty else g.__geo_interface__,
                    "properties": row,
                }
                for g, row in zip(geo, _records(props), strict=True)
            ]
            data: Any = {"type": "FeatureCollection", "features": features}
        else:
            data = _records(pd.DataFrame(frame))
        return _plain(
            {
                "crs": self.crs,
                "units": dict(self.units),
                "summary": dict(self.summary),
                "provenance": dict(self.provenance),
                "data": data,
            }
        )

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (NaN written as null)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, **kwargs)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = (
        frame.reset_index() if frame.index.name or isinstance(frame.index, pd.MultiIndex) else frame
    )
    return [dict(zip(frame.columns, row, strict=True)) for row in frame.itertuples(index=False)]


def _plain(value: Any) -> Any:
    """Recursively turn numpy / pandas scalars, dates and NaN into JSON-safe Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    return value


def provenance(
    conn: Connection,
    city: City,
    analysis: str,
    parameters: Mapping[str, Any],
    layers: Iterable[LayerDef],
    *,
    method: str,
    assumptions: Iterable[str] = (),
) -> dict[str, Any]:
    """Provenance of a result; raises LayerNotLoaded for an input layer with no current version.

    Read on the analysis's own connection, so the versions are those the analysis saw.
    """
    wanted = sorted({layer.id for layer in layers})
    rows = {r.layer: r for r in conn.execute(_VERSIONS, {"city": city.id, "layers": wanted}).all()}
    missing = [x for x in wanted if x not in rows]
    if missing:
        raise LayerNotLoaded(
            f"layer(s) {', '.join(f'{city.id}.{m}' for m in missing)} not loaded: "
            f"run `digitalcity load {city.id}` first"
        )
    return _plain(
        {
            "analysis": analysis,
            "parameters": dict(parameters),
            "inputs": [
                {
                    "layer": f"{city.id}.{x}",
                    "version": rows[x].version,
                    "fingerprint": rows[x].fingerprint,
                    "loaded_at": rows[x].loaded_at,
                    "rows": rows[x].rows_loaded,
                }
                for x in wanted
            ],
            "crs": {
                "storage": city.definition.storage_crs,
                "measurement": city.local_crs,
            },
            "method": method,
            "assumptions": list(assumptions),
            "role": city.role,
            "package_version": digitalcity.__version__,
            "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
