"""The tile cache: keyed by layer version, hits without the database, seeding, PMTiles export."""

from __future__ import annotations

import gzip
import time
import warnings

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from pmtiles.reader import MmapSource, Reader, all_tiles
from typer.testing import CliRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from digitalcity.api.app import create_app
from digitalcity.cli import app as cli_app
from digitalcity.db.routing import ReadRouter
from digitalcity.ingest import load_layer
from digitalcity.tiles.content import label_points_layer, label_zooms
from digitalcity.tiles.export import export_pmtiles
from digitalcity.tiles.options import TileOptions
from digitalcity.tiles.service import TileService

PARCELS = "/collections/cambridge__parcels/tiles/WebMercatorQuad/16/19822/24236"
ZONING = "/collections/cambridge__zoning_districts/tiles/WebMercatorQuad/16/19822/24236"


def wait_for(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_reload_invalidates_only_that_layer_and_hits_skip_the_database(
    loaded, settings, catalog, engine, tmp_path
):
    app = create_app(settings.model_copy(update={"tiles_dir": tmp_path}))
    with TestClient(app) as client:
        service = app.state.tile_service
        parcels_before = client.get(PARCELS)
        zoning_before = client.get(ZONING)
        assert parcels_before.status_code == zoning_before.status_code == 200
        old_version = service.versions.get("cambridge", "zoning_districts").version

        layer = catalog.layer("cambridge", "zoning_districts")
        report = load_layer(layer, catalog.city("cambridge"), engine, settings, force=True)
        assert report.version == old_version + 1
        # The LISTEN thread picks the new version up from the loader's NOTIFY.
        assert wait_for(
            lambda: service.versions.get("cambridge", "zoning_districts").version == report.version
        )
        zoning_after = client.get(ZONING)
        assert zoning_after.headers["etag"] != zoning_before.headers["etag"]
        assert mapbox_vector_tile.decode(zoning_after.content) == mapbox_vector_tile.decode(
            zoning_before.content
        )  # same source data, re-rendered from the new version
        zoning_dirs = {p.name for p in (tmp_path / "cache/cambridge/zoning_districts").iterdir()}
        assert len(zoning_dirs) == 2  # old and new version keys

        # No database from here on: any connection attempt fails.
        app.state.engine = sa.create_engine(
            "postgresql+psycopg://nobody:wrong@127.0.0.1:9/none", poolclass=sa.pool.NullPool
        )
        app.state.router = ReadRouter(app.state.engine, [])
        cached = client.get(PARCELS)
        assert cached.status_code == 200
        assert cached.headers["etag"] == parcels_before.headers["etag"]
        assert cached.content == parcels_before.content
        assert client.get(ZONING).status_code == 200  # the new version, cached above
        assert (
            client.get(PARCELS, headers={"If-None-Match": cached.headers["etag"]}).status_code
            == 304
        )
        broken = TestClient(app, raise_server_exceptions=False)
        uncached = broken.get(
            "/collections/cambridge__parcels/tiles/WebMercatorQuad/16/19823/24236"
        )
        assert uncached.status_code in (500, 503)  # proves the engine really was unusable


def test_cache_can_be_disabled(loaded, settings, tmp_path):
    app = create_app(settings.model_copy(update={"tiles_dir": tmp_path, "tile_cache": False}))
    with TestClient(app) as client:
        assert client.get(PARCELS).status_code == 200
    assert not (tmp_path / "cache").exists()


def test_pmtiles_export_holds_exactly_the_public_layers(
    loaded, settings, catalog, engine, tmp_path
):
    service = TileService(catalog, TileOptions(tiles_dir=tmp_path))
    service.start(engine, listen=False)
    try:
        report = export_pmtiles(service, engine, "cambridge", range(12, 15), tmp_path / "c.pmtiles")
    finally:
        service.stop()
    public = {
        x.id for x in catalog.city_layers("cambridge") if x.access == "public" and x.min_zoom <= 14
    }
    # and the label points the archive's zooms hold (the parcels' start at z17: not theirs)
    public |= {
        label_points_layer(x)
        for x in catalog.city_layers("cambridge")
        if x.id in public and set(label_zooms(x)) & {12, 13, 14}
    }
    assert "neighbourhoods-label" in public and "parcels-label" not in public
    with open(report.path, "rb") as fh:
        reader = Reader(MmapSource(fh))
        header, metadata = reader.header(), reader.metadata()
        assert (header["min_zoom"], header["max_zoom"]) == (12, 14)
        assert {layer["id"] for layer in metadata["vector_layers"]} == public
        parcels = next(v for v in metadata["vector_layers"] if v["id"] == "parcels")
        assert not set(parcels["fields"]) & {"land_value", "total_value", "sale_date"}
        seen: set[str] = set()
        count = 0
        for (_z, _x, _y), data in all_tiles(reader.get_bytes):
            layers = mapbox_vector_tile.decode(gzip.decompress(data))
            seen |= set(layers)
            count += 1
        tile = mapbox_vector_tile.decode(gzip.decompress(reader.get(14, 4955, 6059)))
    assert count == report.tiles > 0
    assert seen <= public and {"parcels", "zoning_districts", "street_centerlines"} <= seen
    assert "total_value" not in tile["parcels"]["features"][0]["properties"]


@pytest.fixture
def cli_env(monkeypatch, settings, tmp_path):
    for name, value in {
        "DIGITALCITY_DATA_DIR": str(settings.data_dir),
        "DIGITALCITY_DB_PORT": str(settings.db_port),
        "DIGITALCITY_DB_FAST_UNSAFE": "true",
        "DIGITALCITY_SOURCE_DATA_DIR": str(settings.source_data_dir),
        "DIGITALCITY_TILES_DIR": str(tmp_path),
        "DIGITALCITY_PROGRESS": "false",
    }.items():
        monkeypatch.setenv(name, value)
    if settings.database_url:
        monkeypatch.setenv("DIGITALCITY_DATABASE_URL", settings.database_url)
    return tmp_path


def test_cli_seed_export_and_clear(loaded, cli_env):
    runner = CliRunner()
    seeded = runner.invoke(cli_app, ["tiles", "seed", "cambridge", "--zooms", "11-12", "--public"])
    assert seeded.exit_code == 0, seeded.output
    assert list((cli_env / "cache/cambridge/_city").rglob("*.mvt"))
    out = cli_env / "out.pmtiles"
    exported = runner.invoke(
        cli_app, ["tiles", "export", "cambridge", "--public", "--zooms", "10-11", "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert out.stat().st_size > 0
    refused = runner.invoke(cli_app, ["tiles", "export", "cambridge", "--zooms", "10-11"])
    assert refused.exit_code == 1 and "public" in refused.output
    bad = runner.invoke(cli_app, ["tiles", "seed", "cambridge", "--zooms", "9-x"])
    assert bad.exit_code == 1 and "zooms" in bad.output
    cleared = runner.invoke(cli_app, ["tiles", "clear", "cambridge"])
    assert cleared.exit_code == 0
    assert not (cli_env / "cache/cambridge").exists()


def test_a_load_commits_its_tile_copy_with_it(catalog, engine, settings, loaded):
    """The loader builds the EPSG:3857 copy inside the load's transaction: the moment the new
    version is current its copy exists, and the previous version's copy is gone."""
    from digitalcity.db.live import VersionMap
    from digitalcity.ingest.city import load_city
    from digitalcity.tiles.prepare import copy_name, existing_copies

    layer = catalog.layer("cambridge", "libraries")
    versions = VersionMap()
    versions.load(engine)
    before = versions.get("cambridge", "libraries").version
    [outcome] = list(load_city(catalog, "cambridge", ["libraries"], engine, settings, force=True))
    assert outcome.error is None
    versions.load(engine)
    after = versions.get("cambridge", "libraries").version
    assert after == before + 1
    with engine.connect() as conn:
        copies = existing_copies(conn)
    assert copy_name(layer, after) in copies
    assert copy_name(layer, before) not in copies
