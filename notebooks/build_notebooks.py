"""Write the land-bureau notebooks (nbformat v4) from the cells below: run this script after
editing them, so the ``.ipynb`` files stay reproducible. Usage::

    .venv/bin/python notebooks/build_notebooks.py [OUT_DIR]

Every notebook opens the city with settings from the environment (``DIGITALCITY_DATABASE_URL``
or ``DIGITALCITY_DATA_DIR`` / ``DIGITALCITY_DB_PORT``) and calls ``digitalcity.analysis``;
no calculation lives only in a notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import matplotlib.pyplot as plt
import pandas as pd

import digitalcity as dc
from digitalcity import analysis

pd.set_option("display.max_columns", 20)
city = dc.open_city("cambridge")"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_cambridge_landuse_statistics": [
        (
            "md",
            """\
# 01 · Cambridge land-use statistics（土地利用现状统计）

Area (m², ha) and parcel count per land-use class of the 2023 land and sea use guide
(国土空间调查、规划、用途管制用地用海分类指南), city-wide, by neighbourhood and inside a drawn
polygon. Areas are measured in the city's local metric CRS (EPSG:26986); parcels cut by a
zone or polygon edge are split exactly, so the classes of every zone add up to its total.""",
        ),
        ("code", SETUP),
        (
            "code",
            """\
citywide = analysis.landuse_statistics(city)
print(citywide.summary)
citywide.frame[["code", "name_en", "name_zh", "area_ha", "share", "parcels"]]""",
        ),
        (
            "code",
            """\
frame = citywide.frame.assign(label=citywide.frame["name_en"].fillna("Unclassified"))
ax = frame.plot.barh(
    x="label", y="area_ha", color=frame["colour"].fillna("#bbbbbb"), legend=False, figsize=(8, 5)
)
ax.set_xlabel("area (ha)")
ax.set_ylabel("")
ax.set_title("Cambridge parcels by land-use class (2023 guide, level 1)")
ax.invert_yaxis()
plt.tight_layout()""",
        ),
        (
            "md",
            "Level-1 classes by neighbourhood (hectares); each row sums to the neighbourhood's parcel area.",
        ),
        (
            "code",
            """\
by_hood = analysis.landuse_statistics(city, group_by="neighbourhoods")
table = by_hood.frame.pivot_table(
    index="zone", columns="code", values="area_ha", aggfunc="sum", fill_value=0.0
)
table.round(1)""",
        ),
        ("md", "Residential share per neighbourhood on a map (folium)."),
        (
            "code",
            """\
hoods = city.read("neighbourhoods")
residential = by_hood.frame[by_hood.frame["code"] == "07"].set_index("zone")["share"]
hoods["residential_share"] = hoods["name"].map(residential)
hoods.explore(column="residential_share", cmap="YlOrBr", tooltip=["name", "residential_share"])""",
        ),
        ("md", "Inside a drawn polygon (lon/lat): Central Square and Cambridgeport."),
        (
            "code",
            """\
box = {
    "type": "Polygon",
    "coordinates": [
        [[-71.12, 42.36], [-71.10, 42.36], [-71.10, 42.37], [-71.12, 42.37], [-71.12, 42.36]]
    ],
}
inside = analysis.landuse_statistics(city, polygon=box, level="level2")
print(inside.summary)
inside.frame.head(10)""",
        ),
        ("code", "inside.provenance"),
    ],
    "02_zoning_compliance": [
        (
            "md",
            """\
# 02 · Zoning compliance and plan vs current use（规划符合性与容积率核查）

Each parcel takes the zoning district covering the largest share of its area. Built FAR
(gross floor area / land area, from the assessor) is checked against the district's maximum
FAR, and the height implied by the stories (assumed 10 ft per story) against its height limit.
A missing control or figure gives **unknown**, never compliant. The land use is checked
against the district family's permitted classes in
`layers/cambridge/use_rules_zoning_vs_landuse.csv`.""",
        ),
        ("code", SETUP),
        (
            "code",
            """\
compliance = analysis.zoning_compliance(city)
print(compliance.summary)
print(compliance.units["implied_height_ft"])
compliance.frame.drop(columns="geometry").head()""",
        ),
        (
            "code",
            """\
summary = analysis.zoning_compliance_summary(city).frame
summary.sort_values("over", ascending=False).head(15)""",
        ),
        (
            "code",
            """\
top = summary.set_index("zone")[["over", "within", "unknown"]]
top = top[top.sum(axis=1) >= 20].sort_values("over")
ax = top.plot.barh(stacked=True, color=["#d7301f", "#31a354", "#bdbdbd"], figsize=(8, 7))
ax.set_xlabel("parcels")
ax.set_title("FAR and height checks by zoning district")
plt.tight_layout()""",
        ),
        ("md", "Parcels over their district's FAR or height limit."),
        (
            "code",
            """\
over = compliance.frame[compliance.frame["status"] == "over"]
over.explore(column="zone", tooltip=["label", "zone", "far", "max_far", "stories", "max_height_ft"])""",
        ),
        ("md", "Plan vs current use: district family × land-use class (hectares)."),
        (
            "code",
            """\
crosstab = analysis.zoning_landuse_crosstab(city).frame.set_index("family")
crosstab.round(1)""",
        ),
        (
            "code",
            """\
cells = crosstab.drop(columns="total").div(crosstab["total"], axis=0)
fig, ax = plt.subplots(figsize=(9, 4))
image = ax.imshow(cells.to_numpy(), cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(cells.shape[1]), cells.columns, rotation=90)
ax.set_yticks(range(cells.shape[0]), cells.index)
fig.colorbar(image, label="share of the family's parcel area")
ax.set_title("Zoning family × land-use class (2023 guide, level 1)")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
nonconforming = analysis.nonconforming_parcels(city)
print(nonconforming.summary)
nonconforming.frame.groupby(["family", "level2"]).size().sort_values(ascending=False).head(10)""",
        ),
        (
            "code",
            """\
nonconforming.frame.explore(column="family", tooltip=["label", "zone", "level2", "permitted"])""",
        ),
    ],
    "03_life_circle_and_hydrants": [
        (
            "md",
            """\
# 03 · 15-minute life circle and hydrant coverage（15分钟生活圈与消火栓覆盖）

Walking catchments along the street network (pgRouting in PostGIS) at 4.8 km/h (80 m/min):
from each facility's nearest street vertex, streets reachable within 5, 10 and 15 minutes,
buffered by 50 m. Residents inside come from the 2000 census blocks by areal interpolation.""",
        ),
        ("code", SETUP),
        (
            "code",
            """\
circle = analysis.life_circle(city, minutes=[5, 10, 15])
print(circle.provenance["method"])
circle.frame.drop(columns="geometry")""",
        ),
        (
            "code",
            """\
shares = circle.frame.assign(layer=circle.frame["layer"].fillna("all three"))
table = shares.pivot(index="layer", columns="minutes", values="share")
ax = table.plot.bar(figsize=(8, 4), rot=0)
ax.set_ylabel("share of residents")
ax.set_title("Residents within a walk of each kind of facility")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
subway = analysis.service_areas(city, "subway_stations", minutes=[10])
subway.frame.drop(columns="geometry").sort_values("population", ascending=False)""",
        ),
        (
            "code",
            """\
covered = circle.frame[(circle.frame["minutes"] == 15) & circle.frame["layer"].isna()]
m = covered.explore(color="#2b8cbe", name="15 min: all three")
subway.frame.explore(m=m, column="label", name="subway 10 min", legend=False)
city.read("subway_stations").explore(m=m, color="black", marker_kwds={"radius": 4})
m""",
        ),
        (
            "md",
            "Hydrant coverage: parcels farther than 90 m (straight line) from an in-service hydrant.",
        ),
        (
            "code",
            """\
far = analysis.parcels_beyond(city, 90)
print(far.summary)
far.frame.drop(columns="geometry").head(10)""",
        ),
        (
            "code",
            """\
ax = far.frame["distance_m"].plot.hist(bins=20, figsize=(7, 3))
ax.set_xlabel("distance to the nearest hydrant (m)")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
m = far.frame.explore(column="distance_m", cmap="OrRd", tooltip=["label", "distance_m", "nearest"])
city.read("hydrants", columns=["hydrant_id", "lifecycle_status"]).explore(
    m=m, color="#3182bd", marker_kwds={"radius": 2}
)
m""",
        ),
    ],
    "04_china_district_density_cgcs2000": [
        (
            "md",
            """\
# 04 · Xiamen and Beijing: district population density in CGCS2000（区县人口密度）

The 2020 census population of each district over its area. The layers are stored in CGCS2000
lon/lat (EPSG:4490, converted from the GCJ-02 source at load time); areas are measured in
CGCS2000 / 3-degree Gauss-Krüger CM 117°E (EPSG:4548).""",
        ),
        (
            "code",
            """\
import matplotlib.pyplot as plt
import pandas as pd

import digitalcity as dc
from digitalcity import analysis

results = {name: analysis.district_density(dc.open_city(name)) for name in ("xiamen", "beijing")}
for name, result in results.items():
    print(name, result.summary, result.provenance["crs"])""",
        ),
        (
            "code",
            """\
table = pd.concat(
    {name: r.frame.drop(columns="geometry").set_index("district") for name, r in results.items()}
)
table[["population", "area_km2", "density_per_km2", "share_of_population"]].round(2)""",
        ),
        (
            "code",
            """\
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, (name, result) in zip(axes, results.items(), strict=True):
    frame = result.frame.sort_values("density_per_km2")
    ax.barh(frame["fid"].astype(str), frame["density_per_km2"], color="#8856a7")
    ax.set_title(f"{name}: persons per km² (EPSG:4548 areas)")
    ax.set_xlabel("persons/km²")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
results["xiamen"].frame.explore(
    column="density_per_km2",
    cmap="PuRd",
    tooltip=["district", "population", "area_km2", "density_per_km2"],
)""",
        ),
        (
            "code",
            """\
results["beijing"].frame.explore(
    column="density_per_km2",
    cmap="PuRd",
    scheme="quantiles",
    k=5,
    tooltip=["district", "population", "area_km2", "density_per_km2"],
)""",
        ),
    ],
    "05_site_boundary_check": [
        (
            "md",
            """\
# 05 · Site boundary check（红线核查）

A site's boundary as planners receive it, a CAD drawing (DXF) whose coordinates are in the
Massachusetts state plane (US feet) and which declares no CRS, read with the loader's own
checks, then what applies inside it: the zoning districts with their limits, the land use by
class and the residents. Areas are m² in the city's local metric CRS (EPSG:26986). The
drawing is made here from one of the city's own neighbourhoods, so the figures can be checked
against the layer.""",
        ),
        ("code", SETUP),
        (
            "code",
            """\
import tempfile
from pathlib import Path

from digitalcity.boundary import read_boundary

# the outline of a neighbourhood, drawn as a CAD drawing would hold it: closed polylines in
# EPSG:2249, no CRS in the file
folder = Path(tempfile.mkdtemp(prefix="site-"))
hood = city.read("neighbourhoods", crs="EPSG:2249").iloc[[3]]
outline = hood.boundary.to_frame("geometry").set_geometry("geometry").reset_index(drop=True)
outline.to_file(folder / "site.dxf", driver="DXF")
site = read_boundary(folder / "site.dxf", city.definition, crs="EPSG:2249")
print(f"{site.area_m2:,.0f} m² in {site.parts} area(s), read in {site.crs}")""",
        ),
        (
            "code",
            """\
zoning = analysis.zoning_in_polygon(city, site.geometry, lang="zh")
print(zoning.summary, zoning.units)
zoning.frame""",
        ),
        (
            "code",
            """\
ax = zoning.frame.plot.barh(
    x="zone_code", y="area_m2", color="#c0392b", legend=False, figsize=(7, 3)
)
ax.set_xlabel("m² of the site (EPSG:26986)")
ax.set_ylabel("")
ax.set_title("The site by zoning district")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
import folium

import digitalcity.maps as maps

m = maps.explore(city, layers=["zoning_districts"], bbox=site.geometry.bounds)
folium.GeoJson(
    site.geometry.__geo_interface__,
    name="site (红线)",
    style_function=lambda _: {"color": "#e0001b", "weight": 3, "fill": False},
).add_to(m)
m""",
        ),
        (
            "code",
            """\
landuse = analysis.landuse_statistics(city, polygon=site.geometry)
landuse.frame[["code", "name_en", "name_zh", "area_ha", "share", "parcels"]]""",
        ),
        (
            "code",
            """\
residents = analysis.population_in_polygon(city, site.geometry)
print(f"{residents.summary['population']:,.0f} residents (areal interpolation of the 2000 blocks)")
zoning.provenance["inputs"]""",
        ),
    ],
    "06_keeping_the_data_current": [
        (
            "md",
            """\
# 06 · Keeping the data current（数据更新与变更记录）

A field survey corrects a fire hydrant's flow. The correction is written from Python with the
API's own rules (the field checked against its type and access, the reason kept, the
feature's ETag required), and then read back as the maps' *Recent changes* list it: every
change set of the city (loads, edits, reverts), newest first, one row per feature changed,
with its fields before and after. Geometries are CRS84 (lon/lat degrees); flows are in
gal/min. The last cell puts the hydrant back as it was.""",
        ),
        ("code", SETUP),
        (
            "code",
            """\
hydrants = city.read("hydrants", crs="OGC:CRS84")
fid = int(hydrants["flow_gpm"].dropna().index[0])
before = hydrants.loc[fid, ["hydrant_id", "flow_gpm"]]
etag = city.update(
    "hydrants",
    fid,
    {"properties": {"flow_gpm": int(before["flow_gpm"]) + 50}},
    etag=city.etag("hydrants", fid),
    reason="flow test 2026: measured 50 gal/min more (测压)",
)
before""",
        ),
        (
            "code",
            """\
changes = city.recent_changes(lang="en")
newest = changes.iloc[0]  # the correction above, as the maps list it
assert newest["reason"].startswith("flow test") and newest["fid"] == fid
assert newest["after"]["flow_gpm"] == newest["before"]["flow_gpm"] + 50
changes[["at", "kind", "layer", "change", "fid", "name", "fields", "before", "after", "reason"]].head(8)""",
        ),
        (
            "code",
            """\
# change sets and features changed per layer over the period
per_layer = changes.groupby("layer").agg(
    change_sets=("changeset", "nunique"), features=("fid", "size")
)
ax = per_layer.sort_values("features").plot.barh(
    y="features", color="#f28e2b", legend=False, figsize=(7, 4), logx=True
)
ax.set_xlabel("features listed (log scale; at most 100 per change set)")
ax.set_ylabel("")
ax.set_title("Recent changes by layer")
plt.tight_layout()""",
        ),
        (
            "code",
            """\
edits = changes[changes["kind"] == "edit"]
edits.explore(
    color="#f28e2b",
    marker_kwds={"radius": 9},
    tooltip=["at", "layer", "name", "fields", "reason"],
    tiles="CartoDB positron",
)""",
        ),
        (
            "code",
            """\
# the hydrant as it was: a change set of its own, kept in the history like any other
city.update(
    "hydrants",
    fid,
    {"properties": {"flow_gpm": int(before["flow_gpm"])}},
    etag=etag,
    reason="notebook 06: put back",
)
[(v["properties"]["flow_gpm"], (v["created_by"] or {}).get("reason")) for v in city.history("hydrants", fid)][-3:]""",
        ),
        (
            "md",
            """\
## Checking the layer（数据质检）

Before the layer is trusted again, its data quality check looks for features without a shape,
invalid shapes, duplicates (hydrants nearer each other than 1 m) and codes its code table
lacks: the same check as the planner map's *Data quality check* and `digitalcity quality`.""",
        ),
        (
            "code",
            """\
quality = analysis.data_quality(city, "hydrants", tolerance_m=1.0)
assert quality.summary["features"] == len(hydrants)
print(quality.summary["by_check"])
quality.frame.drop(columns="geometry")""",
        ),
    ],
}


def build(out_dir: Path = HERE) -> list[Path]:
    """Write every notebook into ``out_dir``; returns the paths written."""
    written = []
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(
            cells=[
                new_markdown_cell(text) if kind == "md" else new_code_cell(text)
                for kind, text in cells
            ],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        for i, cell in enumerate(notebook.cells):
            cell["id"] = f"{name[:2]}-{i:02d}"  # stable ids: rebuilding changes nothing
        nbformat.validate(notebook)
        path = out_dir / f"{name}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written_path)
