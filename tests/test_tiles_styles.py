"""MapLibre styles and legends generated from the catalog and the code tables."""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import mapbox_vector_tile
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)

from digitalcity.catalog.codes import code_tables
from digitalcity.db.keys import create_key
from digitalcity.tiles.symbology import Symbology

INTERNAL = {"drainage", "utility_poles"}


@pytest.fixture(scope="module")
def client(own_tiles_client):
    return own_tiles_client


@pytest.fixture(scope="module")
def planner(engine, loaded) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(engine, 'planner', 'style tests').key}"}


@pytest.fixture(scope="module")
def tables(settings):
    return code_tables(settings.layers_dir)


def match_colours(expression) -> dict[str, str]:
    """{value: colour} of a ``["match", ["get", f], [v1, ...], c1, ..., fallback]`` expression
    (labels as arrays, the form QGIS's converter reads)."""
    assert expression[0] == "match"
    pairs = expression[2:-1]
    assert all(isinstance(label, list) and label for label in pairs[::2])
    return {
        value: colour
        for label, colour in zip(pairs[::2], pairs[1::2], strict=True)
        for value in label
    }


def paint_colour(layer: dict):
    paint = layer["paint"]
    return paint.get("fill-color") or paint.get("line-color") or paint.get("circle-color")


def source_layers(style: dict) -> set[str]:
    return {layer["source-layer"] for layer in style["layers"] if "source-layer" in layer}


def drawn_layers(style: dict) -> set[str]:
    """The catalog layers a style draws (a polygon's labels read its label-point layer)."""
    return {x["metadata"]["digitalcity:layer"] for x in style["layers"] if "metadata" in x}


@pytest.mark.parametrize("name", ["planner", "public"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_style_is_valid_maplibre_json(client, name, lang):
    style = client.get(f"/styles/cambridge/{name}?lang={lang}").json()
    assert style["version"] == 8
    assert "cambridge" in style["sources"]  # the public map's has parts: test_tiles_selections
    for source in style["sources"].values():
        assert source["type"] == "vector"
        assert source["tiles"][0].startswith("http://testserver/tiles/cambridge/{z}/{x}/{y}")
    tilejson = client.get("/tiles/cambridge/tilejson.json").json()
    assert source_layers(style) <= {v["id"] for v in tilejson["vector_layers"]}
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids))
    assert all(layer.get("source", "cambridge") in style["sources"] for layer in style["layers"])
    assert "glyphs" not in style  # labels drawn with the browser's fonts: no glyph requests
    labels = [layer for layer in style["layers"] if layer["type"] == "symbol"]
    assert drawn_layers({"layers": labels}) >= {"street_centerlines", "neighbourhoods",
                                                "zoning_districts", "parcels"}  # fmt: skip


def test_parcels_of_a_native_first_city_are_coloured_by_its_own_classes(client, tables, catalog):
    """Cambridge's city.toml puts the assessor's use classes first: every use code takes the
    colour of its level-1 class, and the legend lists those classes."""
    assert catalog.city("cambridge").land_use_primary == "native"
    style = client.get("/styles/cambridge/public?lang=en").json()
    fill = next(x for x in style["layers"] if x["id"] == "parcels-fill")
    expression = fill["paint"]["fill-color"]
    assert expression[1] == ["get", "use_code"]
    colours = match_colours(expression)
    ma_use = tables["ma_use"]
    assert colours["101"] == colours["102"] == ma_use.get("100").colour  # residential
    assert colours["325"] == ma_use.get("300").colour  # small retail: commercial
    assert all(colours[code] == ma_use.colour_for(code) for code in colours)
    legend = client.get("/styles/cambridge/legend?style=public&lang=en").json()
    parcels = next(x for x in legend["layers"] if x["id"] == "parcels")
    labels = [e["label"] for e in parcels["entries"]]
    assert "Residential" in labels and "Commercial" in labels
    residential = next(e for e in parcels["entries"] if e["label"] == "Residential")
    assert "101" in residential["values"]


def test_standard_first_colours_by_the_national_classes(tables, settings, catalog):
    """The default (land_use_primary = 'standard'): the crosswalk's level-1 field and the 2023
    national classes' colours."""
    symbology = Symbology(tables, settings.layers_dir)  # no city puts its own classes first
    field, entries = symbology.classified(catalog.layer("cambridge", "parcels"), "en")
    assert field == "landuse_l1"
    colours = {e.value: e.colour for e in entries}
    assert colours["07"] == tables["tdyh_2023"].get("07").colour
    assert all(colours[code] == tables["tdyh_2023"].colour_for(code) for code in colours)


def test_zoning_colours_fall_back_to_the_family(client, tables):
    style = client.get("/styles/cambridge/planner").json()
    fill = next(x for x in style["layers"] if x["id"] == "zoning_districts-fill")
    colours = match_colours(fill["paint"]["fill-color"])
    zoning = tables["cambridge_zoning"]
    assert colours["C-1"] == zoning.get("C-1").colour
    assert colours["OS"] == zoning.colour_for("OS")
    assert all(colours[code] == zoning.colour_for(code) for code in colours)


def test_point_layers_have_distinct_colours(client):
    style = client.get("/styles/cambridge/planner").json()
    circles = [paint_colour(x) for x in style["layers"] if x["type"] == "circle"]
    assert len(circles) >= 10 and len(set(circles)) == len(circles)


def test_legend_colours_equal_style_colours(client, planner):
    for name, headers in (("public", {}), ("planner", planner)):
        style = client.get(f"/styles/cambridge/{name}?lang=en", headers=headers).json()
        legend = client.get(
            f"/styles/cambridge/legend?lang=en&style={name}", headers=headers
        ).json()
        by_layer: dict[str, list] = {}
        for layer in style["layers"]:
            if "metadata" in layer:
                by_layer.setdefault(layer["metadata"]["digitalcity:layer"], []).append(
                    paint_colour(layer)
                )
        assert sorted(x["id"] for x in legend["layers"]) == sorted(by_layer)
        for entry in legend["layers"]:
            colours = by_layer[entry["id"]]
            if isinstance(colours[0], list) and colours[0][0] == "case":  # graduated classes
                step = colours[0][3]  # ["step", value, c0, limit1, c1, ...]
                assert [e["colour"] for e in entry["entries"]] == [step[2], *step[4::2]]
            elif isinstance(colours[0], list):
                expected = match_colours(colours[0])
                coded = {
                    v: e["colour"]
                    for e in entry["entries"]
                    if e["value"]
                    for v in e.get("values") or [e["value"]]
                }
                assert coded == expected
            else:
                assert [e["colour"] for e in entry["entries"]] == [colours[0]]


def test_legend_labels_follow_the_language(client, tables):
    zh = client.get("/styles/cambridge/legend?lang=zh&style=public").json()
    en = client.get("/styles/cambridge/legend?lang=en&style=public").json()
    parcels_zh = next(x for x in zh["layers"] if x["id"] == "parcels")
    parcels_en = next(x for x in en["layers"] if x["id"] == "parcels")
    residential = tables["ma_use"].get("100")  # Cambridge puts its own classes first
    zh_entry = next(e for e in parcels_zh["entries"] if e["value"] == "100")
    assert zh_entry["label"] == residential.name_zh == "住宅"
    assert zh_entry["colour"] == residential.colour
    assert residential.name_en in [e["label"] for e in parcels_en["entries"]]
    assert parcels_zh["title"] != parcels_en["title"]


def test_public_style_and_legend_never_show_internal_layers(client, planner):
    for headers in ({}, planner):
        style = client.get("/styles/cambridge/public", headers=headers).json()
        legend = client.get("/styles/cambridge/legend?style=public", headers=headers).json()
        assert not source_layers(style) & INTERNAL
        assert not {x["id"] for x in legend["layers"]} & INTERNAL
    anonymous_planner_style = client.get("/styles/cambridge/planner").json()
    assert not source_layers(anonymous_planner_style) & INTERNAL
    keyed = client.get("/styles/cambridge/planner", headers=planner).json()
    assert INTERNAL <= source_layers(keyed)


def test_style_errors(client):
    assert client.get("/styles/cambridge/fancy").status_code == 404
    assert client.get("/styles/atlantis/public").status_code == 404
    assert client.get("/styles/cambridge/public?lang=fr").status_code == 400
    assert client.get("/styles/cambridge/legend?style=secret").status_code == 400


def test_xiamen_style(client):
    style = client.get("/styles/xiamen/public?lang=zh").json()
    assert drawn_layers(style) == {"districts", "island_zones"}
    assert source_layers(style) == {"districts", "districts-label", "island_zones"}
    assert style["name"].startswith("厦门市")


def walk(expression):
    """Every sub-expression of a style expression (lists), depth first."""
    if isinstance(expression, list):
        yield expression
        for part in expression:
            yield from walk(part)


def test_qgis_style_leaves_out_layers_off_by_default(client, catalog):
    maplibre = client.get("/styles/cambridge/public?lang=en").json()
    qgis = client.get("/styles/cambridge/public?lang=en&client=qgis").json()
    assert qgis["metadata"]["digitalcity:client"] == "qgis"
    on = {x.id for x in catalog.city_layers("cambridge") if x.default_on.public}
    assert drawn_layers(qgis) == on & drawn_layers(maplibre)
    assert all(x["layout"]["visibility"] == "visible" for x in qgis["layers"] if "layout" in x)
    off = [x for x in maplibre["layers"] if x.get("layout", {}).get("visibility") == "none"]
    assert off and drawn_layers({"layers": off}).isdisjoint(on)


def test_match_expressions_are_in_the_form_qgis_converts(client):
    for name in ("planner", "public"):
        for client_name in ("maplibre", "qgis"):
            style = client.get(f"/styles/cambridge/{name}?client={client_name}").json()
            matches = [e for x in style["layers"] for e in walk(x.get("paint", {}).get(
                "fill-color")) if e and e[0] == "match"]  # fmt: skip
            assert matches
            for expression in matches:
                labels = expression[2:-1:2]  # arrays (QGIS writes "field" IN (...))
                assert all(isinstance(v, list) and v for v in labels)
                assert isinstance(expression[-1], str) and expression[-1].startswith("#")


def test_label_layers_follow_the_definitions(client, catalog):
    en = client.get("/styles/cambridge/planner?lang=en").json()
    streets = next(x for x in en["layers"] if x["id"] == "street_centerlines-label")
    label = catalog.layer("cambridge", "street_centerlines").label
    assert streets["layout"]["symbol-placement"] == "line" == label.placement
    assert streets["layout"]["text-field"] == ["get", "label"]
    assert streets["minzoom"] == label.min_zoom
    assert streets["layout"]["text-size"][:3] == ["interpolate", ["linear"], ["zoom"]]
    parcels = next(x for x in en["layers"] if x["id"] == "parcels-label")
    assert parcels["minzoom"] >= 17
    sort_keys = [x["layout"]["symbol-sort-key"] for x in en["layers"] if x["type"] == "symbol"]
    # higher priority later: MapLibre places the top-most layer's labels first
    assert sort_keys == sorted(sort_keys, reverse=True)
    zh = client.get("/styles/xiamen/public?lang=zh").json()
    districts = next(x for x in zh["layers"] if x["id"] == "districts-label")
    # the Chinese name first, then the English one (test_romanise.py) where it is missing
    assert districts["layout"]["text-field"] == [
        "coalesce",
        ["get", "district"],
        ["get", "district_en"],
    ]
    assert "Noto Sans CJK SC" in districts["layout"]["text-font"]


def test_layer_styles_come_from_the_definitions(client, catalog, tables, planner):
    style = client.get("/styles/cambridge/planner").json()
    by_id = {x["id"]: x for x in style["layers"]}
    water = catalog.layer("cambridge", "water_bodies").style
    assert water.colour == "tdyh_2023:17"
    assert by_id["water_bodies-fill"]["paint"]["fill-color"] == tables["tdyh_2023"].colour_for("17")
    assert by_id["water_bodies-fill"]["paint"]["fill-opacity"] == water.opacity
    roads = catalog.layer("cambridge", "major_roads").style
    width = by_id["major_roads-line"]["paint"]["line-width"]
    assert width[3:] == [x for z, v in sorted(roads.width.items()) for x in (z, v)]
    drainage_dash = catalog.layer("cambridge", "drainage").style.dash
    keyed = client.get("/styles/cambridge/planner", headers=planner).json()
    line = next(x for x in keyed["layers"] if x["id"] == "drainage-line")
    assert line["paint"]["line-dasharray"] == list(drainage_dash)


def test_a_fill_without_outline_is_drawn_without_seams(client, catalog):
    """Wuhan's grid says ``outline_width = 0``: its fill has no outline layer and no
    antialiasing (whose soft edges overlap where cells touch and drew every border); fills
    with an outline keep both."""
    assert catalog.layer("wuhan", "population_grid").style.outline_width == 0
    for name in ("planner", "public"):
        wuhan = {x["id"]: x for x in client.get(f"/styles/wuhan/{name}").json()["layers"]}
        assert wuhan["population_grid-fill"]["paint"]["fill-antialias"] is False
        assert "population_grid-outline" not in wuhan
    cambridge = {x["id"]: x for x in client.get("/styles/cambridge/public").json()["layers"]}
    assert "fill-antialias" not in cambridge["parcels-fill"]["paint"]
    assert "parcels-outline" in cambridge


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"colour": "orange"}, "is not a colour"),
        ({"colour": "#12345"}, "is not a colour"),
        ({"opacity": 1.5}, "less than or equal to 1"),
        ({"width": {30: 2}}, "zoom 30 outside 0-24"),
        ({"dash": [3]}, "two or more"),
        ({"fill": "#ffffff"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_style_tables_are_clear_errors(catalog, table, message):
    import pydantic

    layer = catalog.layer("cambridge", "water_bodies")
    data = layer.model_dump(mode="python", exclude={"style"})
    with pytest.raises(pydantic.ValidationError, match=message):
        type(layer).model_validate({**data, "style": table})


def test_bad_label_tables_are_clear_errors(catalog):
    import pydantic

    layer = catalog.layer("cambridge", "parcels")
    data = layer.model_dump(mode="python", exclude={"label"})
    model = type(layer)
    with pytest.raises(pydantic.ValidationError, match="'nowhere' is not a field"):
        model.model_validate({**data, "label": {"field": "nowhere"}})
    with pytest.raises(pydantic.ValidationError, match="placement 'line' needs a line layer"):
        model.model_validate({**data, "label": {"field": "address", "placement": "line"}})
    with pytest.raises(pydantic.ValidationError, match="must be '#rrggbb'"):
        model.model_validate({**data, "label": {"field": "address", "colour": "red"}})
    ok = model.model_validate({**data, "label": {"field": {"zh": "address", "en": "ml"}}})
    assert ok.label.field_for("en") == ("ml", "address")


def test_check_layers_finds_a_class_colour_that_does_not_exist(settings, tmp_path):
    import shutil

    from digitalcity.catalog import load_catalog
    from digitalcity.catalog.validate import validate_catalog

    layers = tmp_path / "layers"
    shutil.copytree(settings.layers_dir, layers)
    water = layers / "cambridge" / "water_bodies.toml"
    water.write_text(water.read_text().replace('"tdyh_2023:17"', '"tdyh_2023:99"'))
    copy = settings.model_copy(update={"layers_dir": layers})
    assert validate_catalog(load_catalog(settings.layers_dir), settings) == []
    problems = validate_catalog(load_catalog(layers), copy)
    assert problems == [
        "cambridge.water_bodies: style colour 'tdyh_2023:99' names no coloured class"
    ]


QGIS_PYTHON = "/usr/bin/python3"  # Debian's, with python3-qgis (3.22 on bookworm)


def test_qgis_keeps_the_colours_of_the_style(client, tables, tmp_path):
    """QGIS's own converter (what a vector tile layer with a style URL runs) draws parcels and
    zones in the style's colours, and leaves out the layers off by default."""
    style = client.get("/styles/cambridge/public?lang=en&client=qgis").json()
    zoning_style = client.get("/styles/cambridge/planner?lang=en&client=qgis").json()
    density = client.get("/styles/shanghai/public?lang=zh&client=qgis").json()
    ma_use, zoning = tables["ma_use"], tables["cambridge_zoning"]
    cases = [
        (style, "parcels", {"use_code": "102"}, ma_use.colour_for("100")),
        (style, "parcels", {"use_code": "325"}, ma_use.colour_for("300")),
        (style, "parcels", {"use_code": "999x"}, "#bdbdbd"),  # unknown code: the fallback grey
        (zoning_style, "zoning_districts", {"zone_code": "C-1"}, zoning.colour_for("C-1")),
        (zoning_style, "zoning_districts", {"zone_code": "OS"}, zoning.colour_for("OS")),
        # a graduated fill: each density in its class's colour, a limit in the class above
        (density, "districts", {"ghsl_density": 500}, "#ffffcc"),
        (density, "districts", {"ghsl_density": 3000}, "#fd8d3c"),
        (density, "districts", {"ghsl_density": 46837}, "#800026"),
    ]
    for doc in (style, zoning_style, density):
        (tmp_path / "style.json").write_text(json.dumps(doc), encoding="utf-8")
        probes = [{"layer": layer, "properties": p} for d, layer, p, _ in cases if d is doc]
        (tmp_path / "probes.json").write_text(json.dumps(probes), encoding="utf-8")
        done = subprocess.run(
            [QGIS_PYTHON, str(Path(__file__).with_name("qgis_style_probe.py")),
             str(tmp_path / "style.json"), str(tmp_path / "probes.json")],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        expected = [c.lower() for d, _, _, c in cases if d is doc]
        drawn = [[c for c in colours if c] for colours in out["probes"]]
        assert [d[0] if d else None for d in drawn] == expected
        on = {x["source-layer"] for x in doc["layers"] if "source-layer" in x}
        assert set(out["layers"]) - {"background"} <= on  # nothing off by default


def test_every_public_map_opens_with_something_to_see(client, catalog):
    """A citizen opening any city's public map sees at least one layer and its names."""
    for city in catalog.cities:
        style = client.get(f"/styles/{city}/public?lang=zh").json()
        shown = [x for x in style["layers"] if x.get("layout", {}).get("visibility") == "visible"]
        assert any(x["type"] != "symbol" for x in shown), city


@pytest.mark.parametrize(
    ("graduated", "message"),
    [
        ({"field": "ghsl_density", "breaks": [10, 5], "colours": ["#ffffff"] * 3}, "increase"),
        ({"field": "ghsl_density", "breaks": [10], "colours": ["#ffffff"]}, "1 colours"),
        ({"field": "ghsl_density", "breaks": [10], "colours": ["red", "#ffffff"]}, "rrggbb"),
        ({"field": "district", "breaks": [10], "colours": ["#ffffff"] * 2}, "numeric"),
        ({"field": "nowhere", "breaks": [10], "colours": ["#ffffff"] * 2}, "numeric"),
    ],
)
def test_bad_graduated_styles_are_clear_errors(catalog, graduated, message):
    import pydantic

    layer = catalog.layer("shanghai", "districts")
    data = layer.model_dump(mode="python", exclude={"style"})
    with pytest.raises(pydantic.ValidationError, match=message):
        type(layer).model_validate({**data, "style": {"graduated": graduated}})


def test_graduated_fills_and_their_legend(client, catalog):
    """Districts coloured by density in the definition's classes: a ``step`` on the field
    (missing values grey), the same classes in the legend with what they measure, and tiles
    that carry the field at every zoom."""
    graduated = catalog.layer("shanghai", "districts").style.graduated
    assert graduated is not None and graduated.field == "ghsl_density"
    style = client.get("/styles/shanghai/public?lang=zh").json()
    fill = next(x for x in style["layers"] if x["id"] == "districts-fill")["paint"]["fill-color"]
    steps = [graduated.colours[0]]
    for limit, colour in zip(graduated.breaks, graduated.colours[1:], strict=True):
        steps += [limit, colour]
    value = ["get", "ghsl_density"]
    assert fill == ["case", ["==", value, None], "#bdbdbd", ["step", value, *steps]]
    for lang, title, unit in (("zh", "GHSL人口密度", "persons/km²"), ("en", "GHSL", "persons/km²")):
        legend = client.get(f"/styles/shanghai/legend?lang={lang}&style=public").json()
        entry = next(x for x in legend["layers"] if x["id"] == "districts")
        assert entry["field_title"].startswith(title) and entry["unit"] == unit
        assert [e["colour"] for e in entry["entries"]] == list(graduated.colours)
        labels = [e["label"] for e in entry["entries"]]
        assert labels == ["< 1,000", "1,000 – 3,000", "3,000 – 10,000", "10,000 – 20,000",
                          "≥ 20,000"]  # fmt: skip
    z8 = client.get("/tiles/shanghai/8/214/104")
    assert z8.status_code == 200
    districts = mapbox_vector_tile.decode(z8.content)["districts"]["features"]
    assert districts and all("ghsl_density" in f["properties"] for f in districts)
    assert graduated.colour_of(2999.9) == "#fed976" and graduated.colour_of(3000) == "#fd8d3c"
