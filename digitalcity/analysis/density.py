"""Population density of a city's districts: residents over the district's area, measured in
the city's local metric CRS (e.g. CGCS2000 / 3-degree Gauss-Krüger EPSG:4548 for Xiamen and
Beijing, whose layers are stored in CGCS2000 lon/lat EPSG:4490).

Residents come from the districts' own census field, or — for districts without one, such as
a city boundary over a population grid — from the city's population layer, allocated to each
district by areal interpolation."""

from __future__ import annotations

from digitalcity.analysis.bindings import bindings_for, require
from digitalcity.analysis.errors import InvalidParameter
from digitalcity.analysis.population import population_by_zone, population_field
from digitalcity.analysis.result import AnalysisResult, provenance
from digitalcity.analysis.sqlrun import geo_frame, stage
from digitalcity.city import City

UNITS = {
    "population": "persons (census)",
    "area_km2": "km²",
    "density_per_km2": "persons/km²",
    "share_of_population": "fraction of the city's census population (0-1)",
}


def district_density(city: City) -> AnalysisResult:
    """Per district (``fid`` is the layer's feature id, the adcode for Chinese districts):
    census population, area (km², local CRS) and density (persons/km²).

    GeoDataFrame in the storage CRS; summary: the total population (it reconciles with the
    census), the total area and the overall density.
    """
    bound = bindings_for(city)
    layer = city.layer(require(city.id, "districts", bound.districts))
    try:
        population = population_field(layer)
    except InvalidParameter:
        return _allocated_density(city, layer.id)
    label = layer.label_field
    with city.engine.begin() as conn:
        stage(conn, city, "_districts", layer, {"label": label, "pop": population})
        gdf = geo_frame(conn, city, "district_density")
        prov = provenance(
            conn,
            city,
            "district_density",
            {},
            [layer],
            method=f"{layer.id}.{population} / ST_Area in {city.local_crs} "
            f"(geometries stored in {city.definition.storage_crs})",
        )
    gdf = gdf.rename(columns={"label": label or "label"})
    gdf["population"] = gdf["population"].astype(float)
    total = float(gdf["population"].sum())
    gdf["share_of_population"] = gdf["population"] / total if total else float("nan")
    area = float(gdf["area_km2"].sum())
    summary = {
        "population": total,
        "area_km2": area,
        "density_per_km2": total / area if area else None,
        "districts": len(gdf),
    }
    return AnalysisResult(gdf, city.definition.storage_crs, UNITS, prov, summary)


def _allocated_density(city: City, districts: str) -> AnalysisResult:
    """District density with residents allocated from the population layer (areal)."""
    allocated = population_by_zone(city, districts)
    layer = city.layer(districts)
    label = layer.label_field
    if label is None:
        raise InvalidParameter(f"districts layer {districts!r} has no label_field to name them")
    shapes = city.read(districts, columns=[label]).reset_index()
    shapes = shapes[["fid", label, shapes.geometry.name]]
    by_zone = allocated.frame.rename(columns={"zone": label})
    gdf = shapes.merge(by_zone[[label, "population", "area_m2"]], on=label, how="left")
    gdf["population"] = gdf["population"].fillna(0.0).astype(float)
    gdf["area_km2"] = gdf["area_m2"].astype(float) / 1e6
    gdf["density_per_km2"] = gdf["population"] / gdf["area_km2"]
    gdf = gdf.drop(columns="area_m2")
    total = float(gdf["population"].sum())
    gdf["share_of_population"] = gdf["population"] / total if total else float("nan")
    area = float(gdf["area_km2"].sum())
    summary = {
        "population": total,
        "area_km2": area,
        "density_per_km2": total / area if area else None,
        "districts": len(gdf),
    }
    units = {**UNITS, "population": "persons (allocated from the population layer)"}
    return AnalysisResult(gdf, city.definition.storage_crs, units, allocated.provenance, summary)
