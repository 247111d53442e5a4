"""Label points in tiles: a polygon's point label is drawn once, from one point inside the
polygon, however many tiles the polygon crosses (MapLibre would place it in each tile's part);
labels that ``repeat`` stay on the polygons. Served tiles, TileJSON and styles, against
PostGIS; the same points from the EPSG:3857 copy and from the table (as-of)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)

from digitalcity.catalog.codes import code_tables
from digitalcity.tiles.content import LayerPlan, label_points_layer
from digitalcity.tiles.metadata import TilesetInfo
from digitalcity.tiles.query import TileSource, layer_statement
from digitalcity.tiles.style import style as map_style
from digitalcity.tiles.symbology import Symbology, native_first_cities
from digitalcity.tiles.tms import EXTENT, TMS_ID, TileIndex, tile_matrix_set, tiles_for_bounds

CAMBRIDGE = (-71.161, 42.352, -71.064, 42.404)
NAMES = "SELECT name FROM cambridge.neighbourhoods"


@pytest.fixture(scope="module")
def client(own_tiles_client):
    return own_tiles_client


@pytest.fixture(scope="module")
def names(engine, loaded) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text(NAMES)))


def tile(client, z: int, x: int, y: int, query: str = "") -> dict:
    response = client.get(f"/tiles/cambridge/{z}/{x}/{y}{query}")
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.text
    return mapbox_vector_tile.decode(response.content)


def inside(feature: dict) -> bool:
    """Whether a decoded point lies in its tile proper (not in the buffer around it)."""
    x, y = feature["geometry"]["coordinates"]
    return 0 <= x < EXTENT and 0 <= y < EXTENT


@pytest.mark.parametrize("z", [12, 13, 14, 15])
def test_each_neighbourhood_has_one_label_point_per_zoom(client, names, z):
    """Across every tile of the city at ``z``, each neighbourhood's label point lies in
    exactly one tile, while its polygon is cut into several tiles' parts."""
    points: Counter[str] = Counter()
    parts = 0
    for t in tiles_for_bounds(CAMBRIDGE, range(z, z + 1)):
        layers = tile(client, t.z, t.x, t.y)
        labels = layers.get("neighbourhoods-label", {"features": []})["features"]
        for f in labels:
            assert set(f["properties"]) == {"name"}  # the label's field, nothing else
        points.update(f["properties"]["name"] for f in labels if inside(f))
        parts += len(layers.get("neighbourhoods", {"features": []})["features"])
    assert sorted(points) == names and set(points.values()) == {1}
    assert parts > len(names)  # the polygons themselves do cross tiles


def test_label_points_lie_inside_their_polygons(client, engine, names):
    """Each point, back in EPSG:3857 from its tile's grid, falls inside its polygon."""
    found: dict[str, tuple[float, float]] = {}
    for t in tiles_for_bounds(CAMBRIDGE, range(14, 15)):
        west, south, east, north = _tile_bounds(t)
        for f in tile(client, t.z, t.x, t.y).get("neighbourhoods-label", {"features": []})[
            "features"
        ]:
            if inside(f):
                x, y = f["geometry"]["coordinates"]  # decoded with y up
                found[f["properties"]["name"]] = (
                    west + (east - west) * x / EXTENT,
                    south + (north - south) * y / EXTENT,
                )
    assert sorted(found) == names
    query = sa.text(
        "SELECT ST_Contains(ST_Transform(geom, 3857), ST_SetSRID(ST_Point(:x, :y), 3857))"
        " FROM cambridge.neighbourhoods WHERE name = :name"
    )
    with engine.connect() as conn:
        for name, (x, y) in found.items():
            assert conn.execute(query, {"x": x, "y": y, "name": name}).scalar_one(), name


def _tile_bounds(t: TileIndex) -> tuple[float, float, float, float]:
    b = tile_matrix_set(TMS_ID).xy_bounds(morecantile.Tile(t.x, t.y, t.z))  # EPSG:3857 m
    return b.left, b.bottom, b.right, b.top


def test_label_points_are_the_same_from_the_copy_and_from_the_table(client):
    """As-of tiles read the table and reproject each row; current tiles read the EPSG:3857
    copy: both give the same label points (and the same polygons)."""
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    for t in list(tiles_for_bounds(CAMBRIDGE, range(14, 15)))[:12]:
        current = tile(client, t.z, t.x, t.y)
        past = tile(client, t.z, t.x, t.y, f"?as-of={now}")
        for name in ("neighbourhoods", "neighbourhoods-label"):
            assert past.get(name) == current.get(name)


def test_repeated_labels_stay_on_the_polygons(client, catalog):
    """Zoning codes ``repeat``: no label points; the style labels the polygons."""
    assert catalog.layer("cambridge", "zoning_districts").label.repeat
    layers = tile(client, 15, 9911, 12117)
    assert "zoning_districts" in layers and "zoning_districts-label" not in layers
    style = client.get("/styles/cambridge/planner?lang=en").json()
    by_id = {x["id"]: x for x in style["layers"]}
    assert by_id["zoning_districts-label"]["source-layer"] == "zoning_districts"
    assert by_id["neighbourhoods-label"]["source-layer"] == "neighbourhoods-label"
    assert by_id["street_centerlines-label"]["source-layer"] == "street_centerlines"


def test_tilejson_and_tileset_describe_the_label_points(client, catalog):
    label = catalog.layer("cambridge", "neighbourhoods").label
    for lang, title in (("en", "(label points)"), ("zh", "（标注点）")):
        doc = client.get(f"/tiles/cambridge/tilejson.json?lang={lang}").json()
        entry = next(x for x in doc["vector_layers"] if x["id"] == "neighbourhoods-label")
        assert entry["fields"] == {"name": "String"}
        assert (entry["minzoom"], entry["maxzoom"]) == (label.min_zoom, label.max_zoom)
        assert entry["description"].endswith(title)
    ogc = client.get("/tiles/cambridge/WebMercatorQuad").json()
    points = next(x for x in ogc["layers"] if x["id"] == "neighbourhoods-label")
    assert points["geometryDimension"] == 0
    assert list(points["propertiesSchema"]["properties"]) == ["name"]


def test_no_label_points_without_the_label_field(catalog):
    """A role that may not see the label's field gets no label points (nothing to draw)."""
    layer = catalog.layer("cambridge", "neighbourhoods")
    city = catalog.city("cambridge")
    source = TileSource('"cambridge_tiles"."n"', range(0))
    seen = LayerPlan(layer, layer.all_fields)
    hidden = LayerPlan(layer, tuple(f for f in layer.all_fields if f.name != "name"))
    with_label, _ = layer_statement(seen, city, TileIndex(13, 2420, 3029), source, 0)
    without, _ = layer_statement(hidden, city, TileIndex(13, 2420, 3029), source, 0)
    assert "ST_PointOnSurface" in with_label and "ST_PointOnSurface" not in without
    above, _ = layer_statement(seen, city, TileIndex(16, 19822, 24236), source, 0)
    assert "ST_PointOnSurface" not in above  # past the label's zooms
    assert label_points_layer(layer) == "neighbourhoods-label"


def test_an_archive_that_stops_before_a_label_labels_its_polygons(catalog, settings):
    """A PMTiles archive up to z16 holds no parcel label points (they start at z17): its
    style labels the overzoomed parcels themselves, the neighbourhoods from their points."""
    layers = list(catalog.city_layers("cambridge"))
    symbology = Symbology(
        code_tables(settings.layers_dir), settings.layers_dir, native_first_cities(catalog)
    )
    symbols = symbology.symbols(layers, {x.id for x in layers}, "en", "public")
    info = TilesetInfo(catalog.city("cambridge"), [], "t", "d", "", "", "", "", "en")
    for deepest, parcels in ((16, "parcels"), (None, "parcels-label")):
        doc = map_style("public", info, symbols, {}, deepest=deepest)
        by_id = {x["id"]: x for x in doc["layers"]}
        assert by_id["parcels-label"]["source-layer"] == parcels
        assert by_id["neighbourhoods-label"]["source-layer"] == "neighbourhoods-label"


def test_point_names_sit_beside_their_markers(client):
    """A facility's name is placed on whichever side of its circle has room, never over it;
    a polygon's name stays centred on its label point."""
    style = client.get("/styles/cambridge/public?lang=en").json()
    by_id = {x["id"]: x for x in style["layers"]}
    hospital = by_id["hospitals-label"]["layout"]
    assert hospital["text-variable-anchor"] == ["top", "bottom", "right", "left"]
    circle = by_id["hospitals-circle"]["paint"]["circle-radius"]
    largest = max(circle[4::2]) if isinstance(circle, list) else circle
    assert (
        hospital["text-radial-offset"] * min(by_id["hospitals-label"]["layout"]["text-size"][4::2])
        > largest
    )
    neighbourhood = by_id["neighbourhoods-label"]["layout"]
    assert "text-variable-anchor" not in neighbourhood and neighbourhood["text-offset"] == [0, 0]
