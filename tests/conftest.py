"""Test session: a throwaway PostGIS cluster, the demo cities loaded through our own loaders.

Set ``DIGITALCITY_TEST_DATABASE_URL`` to run against an existing PostGIS instead of a
throwaway cluster. In CI (``CI=true``) a skipped test fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy.engine import Engine

from digitalcity.catalog import Catalog, load_catalog
from digitalcity.catalog.model import LayerDef
from digitalcity.config import PROJECT_ROOT, Settings

SHARED_DATA = Path(
    os.environ.get("DIGITALCITY_SOURCE_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data")
)
XIAMEN_DISTRICTS = SHARED_DATA / "china_districts/derived_xiamen_districts_gcj02_census2020.geojson"
PROJECT_LAYERS = PROJECT_ROOT / "layers"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    """Xiamen's six districts (real): ``name``, ``population`` and their polygons, taken as WGS
    84 lon/lat (the file's GCJ-02 offset does not matter to the file-format tests, which write
    them in every format and compare what loads)."""
    with_gcj = gpd.read_file(XIAMEN_DISTRICTS)
    return (
        with_gcj[["district", "POPU", "geometry"]]
        .rename(columns={"district": "name", "POPU": "population"})
        .set_crs(4326, allow_override=True)
    )


class CityDrafter:
    """``digitalcity init-city`` run as a new city's staff run it, into a fresh layers folder
    (``root``, the shared code tables copied in); calling it drafts ``folder`` as ``city``
    and returns the layer drafts by id."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, city: str, folder: Path) -> dict[str, dict]:
        from typer.testing import CliRunner

        from digitalcity.cli import app

        result = CliRunner().invoke(app, ["init-city", city, str(folder)])
        assert result.exit_code == 0, result.output
        return {
            p.stem: tomllib.loads(p.read_text(encoding="utf-8"))
            for p in (self.root / city).glob("*.toml")
            if p.name != "city.toml"
        }

    def problems(self) -> list[str]:
        """What ``check-layers`` finds in the drafts."""
        from digitalcity.catalog.validate import validate_catalog

        settings = Settings(source_data_dir=SHARED_DATA, layers_dir=self.root, progress=False)
        return validate_catalog(load_catalog(self.root), settings)


@pytest.fixture
def init_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CityDrafter:
    root = tmp_path / "drafted_layers"
    root.mkdir()
    shutil.copytree(PROJECT_LAYERS / "codes", root / "codes")
    monkeypatch.setenv("DIGITALCITY_LAYERS_DIR", str(root))
    monkeypatch.setenv("DIGITALCITY_SOURCE_DATA_DIR", str(SHARED_DATA))
    return CityDrafter(root)


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp (0700 per user): the server user must traverse to it when root.
    path = Path(tempfile.mkdtemp(prefix="digitalcity-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DIGITALCITY_TEST_DATABASE_URL"),
        db_port=free_port(),
        db_fast_unsafe=True,
        source_data_dir=SHARED_DATA,
        layers_dir=PROJECT_ROOT / "layers",
        tiles_dir=data_dir / "tiles",
        progress=False,
    )


@pytest.fixture(scope="session")
def catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.layers_dir)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    from digitalcity.db.cluster import EmbeddedCluster
    from digitalcity.db.engine import ensure_ready, make_engine

    cluster = None if settings.database_url else EmbeddedCluster(settings)
    if cluster:
        cluster.start()
    engine = make_engine(settings)
    ensure_ready(engine)
    yield engine
    engine.dispose()
    if cluster:
        cluster.destroy()


@pytest.fixture(scope="session")
def loaded(catalog: Catalog, engine: Engine, settings: Settings) -> dict[str, dict]:
    """Every demo city loaded through the project's loaders; reports keyed by city.layer."""
    from digitalcity.ingest.city import load_city

    reports: dict[str, dict] = {}
    errors = []
    for city in catalog.cities.values():
        for outcome in load_city(catalog, city.id, None, engine, settings):
            if outcome.error:
                errors.append(outcome.error)
            else:
                reports[f"{city.id}.{outcome.layer}"] = outcome.report
    assert not errors, errors
    from digitalcity.tiles.prepare import prepare_city

    for city in catalog.cities.values():  # as `digitalcity load` does: the API builds none
        prepare_city(engine, catalog, city.id)
    return reports


def _is_browser_module(scope: str) -> bool:
    """A module that drives headless Chromium (``tests/test_web_*.py``)."""
    return Path(scope).name.startswith("test_web_")


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201
    """Two workers (``-n 2``), a module at a time (its module fixtures set up once). The
    Chromium modules run on one worker, one after another, while the other worker takes
    every other module; once those are done, it takes Chromium modules too, so both finish
    together.

    Chromium draws its WebGL on the CPU (SwiftShader) and keeps both cores busy on its own:
    two at once slow each other (each test 1.7x as long, about 1.18x the throughput), while
    the other modules are single-threaded and run beside one. Measured before this order:
    the other modules alone 6 min 7 s on one process, the Chromium modules about 13 min,
    all on the one worker while the other sat idle for the second half of the run."""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::", 1)[0]

        def _runs_browser(self, node) -> bool:  # noqa: ANN001
            return any(_is_browser_module(s) for s in self.assigned_work.get(node, {}))

        def _browser_busy_elsewhere(self, node) -> bool:  # noqa: ANN001
            return any(
                not done
                for other, work in self.assigned_work.items()
                if other is not node
                for scope, tests in work.items()
                if _is_browser_module(scope)
                for done in tests.values()
            )

        def _assign_work_unit(self, node) -> None:  # noqa: ANN001
            """The next module for ``node``: a Chromium one for the worker that runs them
            (or the first worker to ask), another module for the other worker while any is
            left. The queue keeps xdist's order (the largest module first)."""
            browser = [s for s in self.workqueue if _is_browser_module(s)]
            others = [s for s in self.workqueue if not _is_browser_module(s)]
            wants_browser = self._runs_browser(node) or not self._browser_busy_elsewhere(node)
            if browser and (wants_browser or not others):
                chosen = browser[0]
            else:
                chosen = others[0]
            self.workqueue.move_to_end(chosen, last=False)
            super()._assign_work_unit(node)

    return BrowserApart(config, log)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: PostGIS, browser and notebook tests must run (counted
    where the results are gathered: in the controller under xdist)."""
    if not os.environ.get("CI") or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) skipped; skipped tests fail CI", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def app(settings: Settings, loaded):  # noqa: ANN201
    from digitalcity.api import create_app

    return create_app(settings)


@pytest.fixture(scope="session")
def client(app):  # noqa: ANN001, ANN201
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def own_tiles_client(loaded, settings: Settings, tmp_path_factory, request):  # noqa: ANN001, ANN201
    """A client of an app of the module's own, whose tile cache directory no other module
    shares (so no tile cached elsewhere answers for it)."""
    from fastapi.testclient import TestClient

    from digitalcity.api import create_app

    tiles_dir = tmp_path_factory.mktemp(f"tiles-{request.module.__name__.rsplit('.', 1)[-1]}")
    with TestClient(create_app(settings.model_copy(update={"tiles_dir": tiles_dir}))) as c:
        yield c


@pytest.fixture(scope="session")
def planner_key(engine: Engine, loaded) -> str:
    from digitalcity.db.keys import create_key

    return create_key(engine, "planner", "tests").key


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    """The API on a free local port, served by uvicorn in a background thread."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test API server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def cli_on_test_cluster(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Point the command line (run in-process by typer's CliRunner) at the test cluster."""
    for name, value in {
        "DIGITALCITY_DATA_DIR": settings.data_dir,
        "DIGITALCITY_DB_PORT": settings.db_port,
        "DIGITALCITY_SOURCE_DATA_DIR": settings.source_data_dir,
    }.items():
        monkeypatch.setenv(name, str(value))


def polygon_feature(ring: list[list[float]]) -> dict:
    """A GeoJSON Feature of one polygon ring (lon/lat) without fields, to add by POST."""
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {},
    }


def editable_copy(catalog: Catalog, layer_id: str, copy_id: str) -> LayerDef:
    """A Cambridge layer's definition under ``copy_id``, editable by land_bureau and admin
    (tests that edit load it as a layer of its own, so the demo layers stay untouched)."""
    data = catalog.layer("cambridge", layer_id).model_dump(mode="python", exclude_none=True)
    data["id"] = copy_id
    data["editing"] = {"enabled": True, "roles": ["land_bureau", "admin"]}
    data.pop("label", None)
    return LayerDef.model_validate(data)


def serve_with_layers(
    settings: Settings, catalog: Catalog, engine: Engine, layers: list[LayerDef]
) -> Iterator[str]:
    """Load Cambridge ``layers`` with our loader (their tile copies too) and serve the API,
    its catalog holding them, on a free local port with uvicorn; yields the base URL."""
    import threading
    import time

    import uvicorn

    from digitalcity.api import create_app
    from digitalcity.api.reload import Definitions, install
    from digitalcity.ingest.loader import load_layer
    from digitalcity.tiles.prepare import prepare_layer

    city = catalog.city("cambridge")
    extended = catalog
    for layer in layers:
        report = load_layer(layer, city, engine, settings, force=True)
        prepare_layer(engine, layer, city, int(report.version or 0))
        extended = extended.with_layer(layer)
    app = create_app(settings.model_copy(update={"tile_cache": False}))
    defs = app.state.definitions
    install(app, Definitions(extended, defs.codes, defs.descriptions))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the test API server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
