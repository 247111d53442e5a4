"""A heavy city tile rendered as two runs of layers on two connections equals the tile
rendered in one statement, byte for byte; light tiles are not split."""

from __future__ import annotations

import mapbox_vector_tile

from digitalcity.tiles.content import label_points_layer
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.service import TileService
from digitalcity.tiles.split import MIN_SPLIT_WEIGHT, plan_weight, split_in_two
from digitalcity.tiles.tms import TileIndex

HEAVY = TileIndex(14, 4956, 6059)  # central Cambridge: parcels, blocks, streets, zoning …
LIGHT = TileIndex(10, 308, 379)  # outside the city


def _service(catalog, engine, tmp_path, cores: int) -> TileService:
    options = TileOptions(tiles_dir=tmp_path, cache=False, copies=False, render_cores=cores)
    service = TileService(catalog, options)
    service.start(engine, listen=False)
    return service


def test_split_is_contiguous_and_balanced() -> None:
    weights = {"a": 10.0, "b": 900.0, "c": 50.0, "d": 600.0, "e": 40.0}
    runs = split_in_two(list(weights), weights.__getitem__)
    assert [list(r) for r in runs] == [["a", "b"], ["c", "d", "e"]]
    assert split_in_two(["x", "y"], lambda _: MIN_SPLIT_WEIGHT / 4) == [["x", "y"]]
    assert split_in_two(["x"], lambda _: 1e9) == [["x"]]


def test_heavy_tile_renders_the_same_split_or_not(catalog, engine, loaded, tmp_path) -> None:
    single = _service(catalog, engine, tmp_path / "one", cores=1)
    split = _service(catalog, engine, tmp_path / "two", cores=4)
    try:
        tileset = split.city_tileset("cambridge", "anonymous", HEAVY.z)
        sources = split.sources(tileset)
        runs = split_in_two(sources, plan_weight(split._state, HEAVY))
        assert len(runs) == 2, "the central z14 tile should be heavy enough to split"
        together = single.render(engine, single.city_tileset("cambridge", "anonymous", 14), HEAVY)
        apart = split.render(engine, tileset, HEAVY)
        assert apart == together
        layers = mapbox_vector_tile.decode(apart)
        order = [n for p, _ in sources for n in (p.layer.id, label_points_layer(p.layer))]
        assert list(layers) == [name for name in order if name in layers]
        assert len(layers["parcels"]["features"]) > 1000
        light = split_in_two(
            split.sources(split.city_tileset("cambridge", "anonymous", LIGHT.z)),
            plan_weight(split._state, LIGHT),
        )
        assert len(light) == 1
    finally:
        single.stop()
        split.stop()
