"""Proximity and coverage: buffers, parcels far from the nearest facility (hydrant coverage),
and facilities within a distance of a parcel or a polygon. Distances in metres and areas in m²,
measured in the city's local metric CRS; geometries returned in the storage CRS."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from digitalcity.analysis import params
from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import (
    frame,
    geo_frame,
    local_srid,
    stage,
    stage_geometry,
)
from digitalcity.catalog.model import LayerDef
from digitalcity.city import City
from digitalcity.errors import NotFound


def buffer(
    city: City,
    layer_id: str,
    distance_m: float,
    *,
    fids: Sequence[int] | None = None,
    dissolve: bool = False,
) -> AnalysisResult:
    """Buffers of a layer's features (all, or those with ``fids``) by ``distance_m`` metres in
    the local CRS; one row per feature, or one dissolved row. Areas in m²."""
    distance_m = params.distance(distance_m)
    wanted = params.fids(fids)
    layer = city.layer(layer_id)
    with city.engine.begin() as conn:
        stage(conn, city, "_features", layer, {"label": layer.label_field}, fids=wanted)
        sql = "buffer_dissolved" if dissolve else "buffer"
        gdf = geo_frame(conn, city, sql, {"distance_m": distance_m})
        prov = provenance(
            conn,
            city,
            "buffer",
            {"layer": layer_id, "distance_m": distance_m, "fids": wanted, "dissolve": dissolve},
            [layer],
            method="ST_Buffer in the local CRS (8 segments per quarter circle)",
        )
    summary = {
        "features": int(gdf["features"].sum()) if dissolve else len(gdf),
        "area_m2": float(gdf["area_m2"].sum()),
    }
    units = {"area_m2": "m²"}
    return AnalysisResult(gdf, city.definition.storage_crs, units, prov, summary)


def parcels_beyond(
    city: City, distance_m: float, *, facility_layer: str | None = None
) -> AnalysisResult:
    """Parcels farther than ``distance_m`` metres from the nearest facility of
    ``facility_layer`` (default: the city's in-service hydrants), with that distance (m, from
    the parcel's edge) and the nearest facility; summary: count and share of all parcels."""
    distance_m = params.distance(distance_m)
    bound = bindings_for(city)
    parcels = city.layer(require(city.id, "parcels", bound.parcels))
    facility_id = facility_layer or require(city.id, "hydrants", bound.hydrants)
    facilities = _point_layer(city, facility_id)
    where = None
    if facility_layer is None and bound.hydrant_filter is not None:
        where = {bound.hydrant_filter[0]: bound.hydrant_filter[1]}
    with city.engine.begin() as conn:
        stage(conn, city, "_parcels", parcels, {"label": parcels.label_field})
        stage(conn, city, "_facilities", facilities, {"label": facilities.label_field}, where=where)
        gdf = geo_frame(conn, city, "parcels_beyond", {"distance_m": distance_m})
        total = frame(conn, "parcel_count").iloc[0]
        prov = provenance(
            conn,
            city,
            "parcels_beyond",
            {
                "distance_m": distance_m,
                "facility_layer": facility_id,
                "facility_filter": dict(where or {}),
            },
            [parcels, facilities],
            method="nearest facility by true distance from the parcel polygon (0 inside it), "
            "local CRS; straight-line distance, not along streets",
        )
    summary = {
        "parcels": len(gdf),
        "area_m2": float(gdf["area_m2"].sum()),
        "all_parcels": int(total["parcels"]),
        "share_of_parcels": len(gdf) / int(total["parcels"]) if int(total["parcels"]) else None,
        "share_of_area": float(gdf["area_m2"].sum() / total["area_m2"])
        if total["area_m2"]
        else None,
    }
    units = {"area_m2": "m²", "distance_m": "m"}
    return AnalysisResult(gdf, city.definition.storage_crs, units, prov, summary)


def facilities_within(
    city: City,
    distance_m: float,
    *,
    parcel_fid: int | None = None,
    polygon: params.PolygonLike | None = None,
    polygon_crs: str | int = "EPSG:4326",
    layers: Sequence[str] | None = None,
) -> AnalysisResult:
    """Facilities within ``distance_m`` metres of a parcel (``parcel_fid``) or a polygon.

    ``layers``: facility layer ids (default: every point layer of kind 'infrastructure' the
    role may read). One row per facility with its layer, label and distance (m, local CRS).
    """
    distance_m = params.distance(distance_m)
    if (parcel_fid is None) == (polygon is None):
        raise params.InvalidParameter("give exactly one of parcel_fid and polygon")
    chosen = (
        [_point_layer(city, x) for x in layers]
        if layers is not None
        else [x for x in city.layers() if x.kind == "infrastructure" and x.geometry_type == "Point"]
    )
    bound = bindings_for(city)
    inputs: list[LayerDef] = list(chosen)
    frames = []
    area = None
    with city.engine.begin() as conn:
        if parcel_fid is not None:
            fid = params.fids(parcel_fid, "parcel_fid")
            parcels = city.layer(require(city.id, "parcels", bound.parcels))
            stage(conn, city, "_area", parcels, fids=fid)
            if frame(conn, "count_area").iloc[0, 0] == 0:
                raise NotFound(f"no parcel with fid {parcel_fid} in city {city.id!r}")
            inputs.append(parcels)
        else:
            area = params.polygon(conn, city, polygon, polygon_crs)
            stage_geometry(conn, "_area", area, local_srid(city))
        for layer in chosen:
            stage(conn, city, "_facilities", layer, {"label": layer.label_field})
            part = geo_frame(conn, city, "facilities_within", {"distance_m": distance_m})
            part.insert(0, "layer", layer.id)
            frames.append(part)
            conn.exec_driver_sql("DROP TABLE _facilities")
        prov = provenance(
            conn,
            city,
            "facilities_within",
            {
                "distance_m": distance_m,
                "parcel_fid": parcel_fid,
                "polygon": params.describe(area, city),
                "layers": [x.id for x in chosen],
            },
            inputs,
            method="ST_DWithin / ST_Distance in the local CRS (straight line)",
        )
    gdf = pd.concat(frames, ignore_index=True) if frames else None
    if gdf is None:
        raise params.InvalidParameter("no facility layer to search")
    gdf = gdf.sort_values(["distance_m", "layer", "fid"]).reset_index(drop=True)
    summary = {"facilities": len(gdf), "by_layer": gdf.groupby("layer").size().to_dict()}
    return AnalysisResult(gdf, city.definition.storage_crs, {"distance_m": "m"}, prov, summary)


def _point_layer(city: City, layer_id: str) -> LayerDef:
    layer = city.layer(layer_id)
    if layer.geometry_type not in ("Point", "MultiPoint"):
        raise params.InvalidParameter(f"layer {layer_id!r} is not a point layer")
    return layer
