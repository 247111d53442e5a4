"""A SYNTHETIC benchmark dataset shaped like an OpenStreetMap extract, not like Cambridge:
many small building polygons, land-use polygons, long road lines, and wide, sparse attribute
columns (most values missing, as OSM tags are). Labelled SYNTHETIC everywhere; it is no city.

``write_dataset(folder, scale)`` writes ``SYNTHETIC_osmlike.gpkg`` (layers ``buildings``,
``landuse``, ``roads``; EPSG:4326 lon/lat), ``SYNTHETIC_osmlike_places.csv`` (a table of
places located by x and y columns, one per road) and a layers directory for a city
``synthetic_osm`` whose layer definitions read them (the places only with ``places``), so our loader, API and tiles serve it
like any city. At ``scale`` 1: 48,600 buildings, 24,000 land-use polygons, 246,900 roads and
as many places.
Deterministic (seeded).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio.raw
import shapely

from bench.common.osmlike_population import write_population
from digitalcity.config import PROJECT_ROOT

CITY = "synthetic_osm"
CENTRE = (8.54, 47.37)  # lon, lat: an arbitrary place for the synthetic grid
SIDE_M = 12_000.0  # the square the features fill
COUNTS = {"buildings": 48_600, "landuse": 24_000, "roads": 246_900}
PLACES_CSV = "SYNTHETIC_osmlike_places.csv"  # a table of 246,900 places (x, y columns)
# the buildings again, in the text formats GDAL parses whole: layer id -> (file, GDAL driver)
BUILDINGS_AS = {
    "buildings_geojson": ("SYNTHETIC_osmlike_buildings.geojson", "GeoJSON"),
    "buildings_kml": ("SYNTHETIC_osmlike_buildings.kml", "KML"),
}
LANDUSE = ["residential", "commercial", "industrial", "retail", "farmland", "forest", "grass",
           "meadow", "cemetery", "construction", "railway", "allotments"]  # fmt: skip
HIGHWAY = ["residential", "service", "footway", "track", "path", "tertiary", "secondary",
           "primary", "unclassified", "cycleway"]  # fmt: skip
# (column, share of rows that have a value)
SPARSE = [("name", 0.18), ("addr_street", 0.12), ("addr_housenumber", 0.11), ("addr_city", 0.05),
          ("building_levels", 0.06), ("height", 0.03), ("roof_shape", 0.02), ("operator", 0.02),
          ("opening_hours", 0.01), ("website", 0.01), ("wheelchair", 0.015), ("surface", 0.08),
          ("lanes", 0.04), ("maxspeed", 0.05), ("oneway", 0.07), ("lit", 0.03), ("access", 0.02),
          ("source", 0.2), ("note", 0.005), ("start_date", 0.01)]  # fmt: skip


# the fields bench.search searches (``write_dataset(searchable=True)``)
SEARCHED = {"buildings": ("name", "addr_street"), "roads": ("name", "addr_street")}


def _metres_to_degrees(xy: np.ndarray) -> np.ndarray:
    lon0, lat0 = CENTRE
    per_lat = 111_320.0
    per_lon = per_lat * math.cos(math.radians(lat0))
    return np.column_stack([lon0 + xy[:, 0] / per_lon, lat0 + xy[:, 1] / per_lat])


def _sparse_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, share in SPARSE:
        values = np.full(n, None, dtype=object)
        filled = rng.random(n) < share
        values[filled] = [f"{name} {v}" for v in rng.integers(0, 5000, filled.sum())]
        out[name] = values
    return out


def _buildings(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rotated rectangles of 6-30 m, clustered (a city's buildings are not uniform)."""
    clusters = rng.uniform(-SIDE_M / 2, SIDE_M / 2, (max(n // 200, 1), 2))
    centres = clusters[rng.integers(0, len(clusters), n)] + rng.normal(0, 250, (n, 2))
    half = rng.uniform(3, 15, (n, 2))
    angle = rng.uniform(0, math.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    local = corners[None, :, :] * half[:, None, :]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    rotated = np.stack(
        [local[..., 0] * cos - local[..., 1] * sin, local[..., 0] * sin + local[..., 1] * cos],
        axis=-1,
    )
    rings = _metres_to_degrees((rotated + centres[:, None, :]).reshape(-1, 2))
    return shapely.polygons(shapely.linearrings(rings, indices=np.repeat(np.arange(n), 5)))


def _landuse(rng: np.random.Generator, n: int) -> np.ndarray:
    """Irregular polygons of 40-400 m (hulls of random points); some overlap, as in OSM."""
    centres = rng.uniform(-SIDE_M / 2, SIDE_M / 2, (n, 2))
    radius = rng.uniform(20, 200, n)
    points = 9
    angles = np.sort(rng.uniform(0, 2 * math.pi, (n, points)), axis=1)
    r = radius[:, None] * rng.uniform(0.6, 1.0, (n, points))
    xy = np.stack([np.cos(angles) * r, np.sin(angles) * r], axis=-1) + centres[:, None, :]
    xy = np.concatenate([xy, xy[:, :1, :]], axis=1)  # close the rings (star-shaped: valid)
    rings = _metres_to_degrees(xy.reshape(-1, 2))
    return shapely.polygons(shapely.linearrings(rings, indices=np.repeat(np.arange(n), points + 1)))


def _roads(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random walks of 2-80 vertices with 15-60 m steps: many short ways, a few long ones."""
    lengths = np.minimum(2 + rng.geometric(0.12, n), 80)
    total = int(lengths.sum())
    steps = rng.uniform(15, 60, total)
    heading = np.repeat(rng.uniform(0, 2 * math.pi, n), lengths) + rng.normal(0, 0.25, total)
    delta = np.column_stack([np.cos(heading) * steps, np.sin(heading) * steps])
    starts = np.repeat(rng.uniform(-SIDE_M / 2, SIDE_M / 2, (n, 2)), lengths, axis=0)
    ids = np.repeat(np.arange(n), lengths)
    offsets = np.cumsum(lengths) - lengths
    walk = np.cumsum(delta, axis=0)
    walk -= np.repeat(walk[offsets] - delta[offsets], lengths, axis=0)  # each way from its start
    return shapely.linestrings(_metres_to_degrees(starts + walk), indices=ids)


# OSM landuse values to the level-1 / level-2 classes of tdyh_2023 (layers/codes), so the
# land-use analyses classify the SYNTHETIC polygons as they do a city's parcels
LANDUSE_CLASSES = {
    "residential": ("07", "0701"), "commercial": ("09", "0901"), "industrial": ("10", "1001"),
    "retail": ("09", "0901"), "farmland": ("01", "0103"), "forest": ("03", "0301"),
    "grass": ("14", "1401"), "meadow": ("04", "0403"), "cemetery": ("15", "1506"),
    "construction": ("16", "16"), "railway": ("12", "1201"), "allotments": ("01", "0103"),
}  # fmt: skip
POPULATION_TIF = "SYNTHETIC_osmlike_population.tif"
DISTRICT_GRID = 6  # SYNTHETIC districts: a 6 x 6 grid of 2 km squares over the features


def _districts() -> tuple[np.ndarray, list[str]]:
    """The grid's squares (lon/lat polygons) and their names, row by row from the south-west."""
    step = SIDE_M / DISTRICT_GRID
    squares, names = [], []
    for row in range(DISTRICT_GRID):
        for col in range(DISTRICT_GRID):
            x0, y0 = -SIDE_M / 2 + col * step, -SIDE_M / 2 + row * step
            corners = np.array(
                [[x0, y0], [x0 + step, y0], [x0 + step, y0 + step], [x0, y0 + step], [x0, y0]]
            )
            squares.append(shapely.Polygon(_metres_to_degrees(corners)))
            names.append(f"SYNTHETIC district {row + 1}-{col + 1}")
    return np.asarray(squares, dtype=object), names


def write_dataset(
    folder: Path,
    scale: float = 1.0,
    seed: int = 20261203,
    *,
    editable: bool = False,
    population: bool = False,
    places: bool = False,
    text_copies: bool = False,
    searchable: bool = False,
) -> Path:
    """Write the GeoPackage and the layers directory under ``folder``; returns the layers dir.
    ``editable``: the roads may be edited (by ``land_bureau``). ``population``: also a
    SYNTHETIC population grid (a GeoTIFF, ``osmlike_population``) and its layer. ``places``:
    also the places table (CSV) and its layer; ``text_copies``: also the buildings as a GeoJSON
    and a KML file, and their layers (``BUILDINGS_AS``; both for bench.ingest, the other
    benches serve the city without them). ``searchable``: the buildings and roads are
    searched by name and street (``SEARCHED``; for bench.search: the trigram indexes a
    searched field needs would weigh on every other bench's loads)."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "SYNTHETIC_osmlike.gpkg"
    gpkg.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    makers = {"buildings": _buildings, "landuse": _landuse, "roads": _roads}
    for layer, make in makers.items():
        n = max(1, int(COUNTS[layer] * scale))
        geoms = make(rng, n)
        if layer == "buildings" and population:
            write_population(folder / POPULATION_TIF, geoms, CENTRE, SIDE_M)
        fields: dict[str, np.ndarray] = {"osm_id": np.arange(1, n + 1, dtype=np.int64)}
        if layer == "landuse":
            fields["landuse"] = np.asarray(LANDUSE, dtype=object)[rng.integers(0, len(LANDUSE), n)]
        if layer == "roads":
            fields["highway"] = np.asarray(HIGHWAY, dtype=object)[rng.integers(0, len(HIGHWAY), n)]
        fields.update(_sparse_columns(rng, n))
        if layer == "roads" and places:  # a table of places: where each road starts
            _write_places(folder / PLACES_CSV, geoms, fields)
        pyogrio.raw.write(
            gpkg,
            np.asarray(shapely.to_wkb(geoms), dtype=object),
            list(fields.values()),
            list(fields),
            layer=layer,
            driver="GPKG",
            geometry_type="LineString" if layer == "roads" else "Polygon",
            crs="EPSG:4326",
            append=gpkg.exists(),
        )
        for name, driver in BUILDINGS_AS.values() if layer == "buildings" and text_copies else ():
            (folder / name).unlink(missing_ok=True)
            pyogrio.raw.write(
                folder / name,
                np.asarray(shapely.to_wkb(geoms), dtype=object),
                list(fields.values()),
                list(fields),
                driver=driver,
                geometry_type="Polygon",
                crs="EPSG:4326",
            )
    squares, names = _districts()
    pyogrio.raw.write(
        gpkg,
        np.asarray(shapely.to_wkb(squares), dtype=object),
        [np.arange(1, len(names) + 1, dtype=np.int64), np.asarray(names, dtype=object)],
        ["district_id", "name"],
        layer="districts",
        driver="GPKG",
        geometry_type="Polygon",
        crs="EPSG:4326",
        append=True,
    )
    tif = folder / POPULATION_TIF if population else None
    table = folder / PLACES_CSV if places else None
    layers = _write_layers(folder / "layers", gpkg, editable, tif, table, searchable)
    for layer_id, (name, driver) in BUILDINGS_AS.items() if text_copies else ():
        # KML keeps a feature's name in its own element, which GDAL reads as "Name"
        tables = [_field_toml(c) for c, _ in SPARSE if c != "name" or driver != "KML"]
        _write_layer(
            layers / CITY, layer_id, (f"合成buildings（{driver}）",
            f"SYNTHETIC buildings ({driver})"), "infrastructure", "MultiPolygon",
            "min_zoom = 10\nmax_zoom = 22\n",
            f'path = "{folder / name}"\nid_field = "osm_id"', "\n".join(tables),
        )  # fmt: skip
    return layers


def _write_places(path: Path, roads: np.ndarray, fields: dict[str, np.ndarray]) -> None:
    """The SYNTHETIC places table: one row per road, at its first vertex (x, y: lon/lat,
    7 decimals, as exports write them) with the road's id and sparse columns; empty cells
    where a value is missing."""
    first = shapely.get_coordinates(shapely.get_point(roads, 0))
    columns = {
        "osm_id": fields["osm_id"].astype(str),
        **{name: fields[name] for name, _ in SPARSE},
        "x": np.char.mod("%.7f", first[:, 0]),
        "y": np.char.mod("%.7f", first[:, 1]),
    }
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _field_toml(name: str) -> str:
    return f'[[fields]]\nname = "{name}"\ntitle = {{ zh = "{name}", en = "{name}" }}\n'


def _write_layer(
    city_dir: Path, layer_id: str, title: tuple[str, str], kind: str, geometry: str,
    options: str, source: str, fields: str, origin: str = "bench/common/osmlike.py",
) -> None:  # fmt: skip
    """One public layer's definition: ``options`` (TOML lines before its source), ``source``
    (the lines of its [source] table) and ``fields`` ([[fields]] tables)."""
    zh, en = title
    (city_dir / f"{layer_id}.toml").write_text(
        f'''# SYNTHETIC ({origin})
id = "{layer_id}"
title = {{ zh = "{zh}", en = "{en}" }}
kind = "{kind}"
geometry_type = "{geometry}"
access = "public"
{options}
[source]
{source}

{fields}'''
    )


def _write_layers(
    layers: Path,
    gpkg: Path,
    editable: bool,
    population: Path | None,
    places: Path | None,
    searchable: bool,
) -> Path:
    city_dir = layers / CITY
    city_dir.mkdir(parents=True, exist_ok=True)
    codes = layers / "codes"
    if not codes.exists():
        codes.symlink_to(PROJECT_ROOT / "layers" / "codes", target_is_directory=True)
    (city_dir / "city.toml").write_text(
        f"""# SYNTHETIC benchmark dataset (bench/common/osmlike.py): not a real city.
title = {{ zh = "合成测试数据（类OSM）", en = "SYNTHETIC OSM-like benchmark data" }}
country = "XX"
storage_crs = "EPSG:4326"
local_crs = "EPSG:32632"
center = [{CENTRE[0]}, {CENTRE[1]}]
default_zoom = 13
bbox = [{CENTRE[0] - 0.12}, {CENTRE[1] - 0.08}, {CENTRE[0] + 0.12}, {CENTRE[1] + 0.08}]

[roles]
parcels = "landuse"
districts = "districts"
{'population = "population_grid"' if population is not None else ""}
"""
    )
    crosswalk = city_dir / "crosswalk_osm_landuse_to_tdyh2023.csv"
    crosswalk.write_text(
        "from_prefix,to_level1,to_level2,note,match\n"
        + "".join(f"{k},{a},{b},SYNTHETIC,exact\n" for k, (a, b) in LANDUSE_CLASSES.items())
    )
    classification = (
        f'[classification]\nfield = "landuse"\nsystem = "osm_landuse"\n'
        f'crosswalk = {{ to = "tdyh_2023", file = "{CITY}/{crosswalk.name}", '
        'level1_field = "landuse_l1", level2_field = "landuse_l2" }\n'
    )
    kinds = {
        "buildings": ("infrastructure", "MultiPolygon", []),
        "landuse": ("landuse", "MultiPolygon", ["landuse"]),
        "roads": ("infrastructure", "MultiLineString", ["highway"]),
    }
    for layer, (kind, geometry, extra) in kinds.items():
        fields = "\n".join(_field_toml(c) for c in [*extra, *(name for name, _ in SPARSE)])
        # bench.edits edits the roads, as a land bureau keeps its street names current; the
        # land use is classified for bench.analysis
        section = {
            "roads": '[editing]\nenabled = true\nroles = ["land_bureau", "admin"]\n'
            if editable
            else "",
            "landuse": classification,
        }.get(layer, "")
        if searchable and layer in SEARCHED:  # a top-level key: before any [table]
            searched = ", ".join(f'"{name}"' for name in SEARCHED[layer])
            section = f"search_fields = [{searched}]\n{section}"
        _write_layer(
            city_dir, layer, (f"合成{layer}", f"SYNTHETIC {layer}"), kind, geometry,
            f"min_zoom = 10\nmax_zoom = 22\n\n{section}",
            f'path = "{gpkg}"\nlayer = "{layer}"\nid_field = "osm_id"', fields,
        )  # fmt: skip
    if places is not None:
        _write_layer(
            city_dir, "places", ("合成地点表", "SYNTHETIC places (CSV)"), "infrastructure",
            "Point", "min_zoom = 14\nmax_zoom = 22\n",
            f'path = "{places}"\nx = "x"\ny = "y"\ncrs = "EPSG:4326"\nid_field = "osm_id"',
            "\n".join(_field_toml(name) for name, _ in SPARSE),
        )  # fmt: skip
    _write_layer(
        city_dir, "districts", ("合成分区", "SYNTHETIC districts"), "boundary", "MultiPolygon",
        'label_field = "name"\n',
        f'path = "{gpkg}"\nlayer = "districts"\nid_field = "district_id"', _field_toml("name"),
    )  # fmt: skip
    if population is not None:  # residents from the buildings
        _write_layer(
            city_dir, "population_grid", ("合成人口格网（25米）", "SYNTHETIC population grid (25 m)"),
            "population", "Polygon", "min_zoom = 12\n", f'path = "{population}"\nband = 1',
            '[[fields]]\nname = "population"\ntype = "float"\nsource = "value"\n'
            'unit = "persons"\ntitle = { zh = "人口（合成）", en = "Residents (SYNTHETIC)" }\n',
            origin="bench/common/osmlike_population.py",
        )  # fmt: skip
    return layers
