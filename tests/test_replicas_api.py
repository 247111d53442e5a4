"""The API over a real primary and a streaming standby: reads answered by the standby, a load
on the primary visible within 2 s without NOTIFY, reads through a stopped standby or a
stopped primary, and no DDL from the API process."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SHARED_DATA, free_port
from fastapi.testclient import TestClient

from digitalcity.catalog import Catalog
from digitalcity.config import PROJECT_ROOT, Settings
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.db.engine import ensure_ready, make_engine
from digitalcity.db.standby import StandbyCluster
from digitalcity.ingest.loader import load_layer

CITY = "cambridge"
LAYERS = ("hydrants", "neighbourhoods")
HYDRANTS = "/collections/cambridge__hydrants/items?limit=50&bbox=-71.13,42.36,-71.09,42.39"


def _settings(root: Path) -> Settings:
    return Settings(
        data_dir=root,
        db_port=free_port(),
        db_fast_unsafe=True,
        progress=False,
        source_data_dir=SHARED_DATA,
        layers_dir=PROJECT_ROOT / "layers",
        tiles_dir=root / "tiles",
        items_cache_mb=0,
        tile_cache=False,
        replica_check_seconds=0.2,
    )


class Stack:
    def __init__(self, catalog: Catalog) -> None:
        self.roots = [Path(tempfile.mkdtemp(prefix="digitalcity-rapi-")) for _ in range(2)]
        self.primary = EmbeddedCluster(_settings(self.roots[0]))
        self.primary.start()
        self.engine = make_engine(self.primary.settings)
        ensure_ready(self.engine)
        self.catalog = catalog
        for layer_id in LAYERS:
            self.load(layer_id)
        self.standby = StandbyCluster(_settings(self.roots[1]), self.primary)
        self.standby.init()
        with (self.standby.dir / "postgresql.auto.conf").open("a") as conf:
            conf.write("log_statement = 'all'\n")  # to see which reads the standby answers
        self.standby.start()
        self.standby_engine = make_engine(self.standby.settings)
        # the DDL statements from here on, in the primary's log
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ALTER SYSTEM SET log_statement = 'ddl'"))
            conn.execute(sa.text("SELECT pg_reload_conf()"))
        self.api_settings = self.primary.settings.model_copy(
            update={"read_database_urls": self.standby.url()}
        )

    def load(self, layer_id: str, *, force: bool = False) -> int:
        layer = self.catalog.layer(CITY, layer_id)
        report = load_layer(
            layer, self.catalog.city(CITY), self.engine, self.primary.settings, force=force
        )
        return int(report.version or 0)

    def standby_log(self, start: int = 0) -> str:
        with self.standby.log_file.open("rb") as fh:
            fh.seek(start)
            return fh.read().decode(errors="replace")

    def close(self) -> None:
        self.engine.dispose()
        self.standby_engine.dispose()
        self.standby.destroy()
        self.primary.destroy()
        for root in self.roots:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(catalog: Catalog) -> Iterator[Stack]:
    built = Stack(catalog)
    yield built
    built.close()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    from digitalcity.api import create_app

    with TestClient(create_app(stack.api_settings)) as client:
        yield client


def test_reads_are_served_by_the_standby(stack: Stack, api: TestClient) -> None:
    start = stack.standby.log_file.stat().st_size
    for _ in range(20):
        response = api.get(HYDRANTS)
        assert response.status_code == 200
        assert len(response.json()["features"]) == 50
    tile = api.get("/tiles/cambridge/14/4956/6060")
    assert tile.status_code == 200 and tile.content
    time.sleep(0.2)
    logged = stack.standby_log(start)
    assert logged.count("ST_AsGeoJSON") >= 20 or logged.count("hydrants") >= 20, logged[-2000:]
    assert "ST_AsMVT" in logged


def test_a_load_on_the_primary_reaches_the_api_within_2_s(stack: Stack, api: TestClient) -> None:
    def served_version() -> int:
        layers = api.get("/layers").json()["layers"]
        return next(
            v["version"]
            for v in layers
            if v["id"] == "hydrants" and v.get("city", "cambridge") == "cambridge"
        )

    old = served_version()
    new = stack.load("hydrants", force=True)
    assert new > old
    started = time.monotonic()
    while served_version() != new:
        assert time.monotonic() - started < 2.0, "the new version did not reach the API in 2 s"
        time.sleep(0.05)
    assert api.get(HYDRANTS).status_code == 200


def test_the_api_issues_no_ddl(stack: Stack, api: TestClient) -> None:
    log = stack.primary.log_file
    start = log.stat().st_size
    for path in (HYDRANTS, "/collections", "/layers", "/tiles/cambridge/13/2478/3030"):
        assert api.get(path).status_code in (200, 204)
    time.sleep(0.5)
    with log.open("rb") as fh:
        fh.seek(start)
        statements = [
            line for line in fh.read().decode(errors="replace").splitlines() if "statement:" in line
        ]
    assert not statements, statements[:5]


def test_standby_stopped_reads_fall_back_to_the_primary(stack: Stack, api: TestClient) -> None:
    stack.standby.stop()
    try:
        time.sleep(0.3)  # the router's next check finds it gone
        for _ in range(5):
            assert api.get(HYDRANTS).status_code == 200
    finally:
        stack.standby.start()


def test_primary_stopped_reads_continue(stack: Stack, api: TestClient) -> None:
    stack.primary.stop()
    try:
        time.sleep(0.3)
        for _ in range(5):
            response = api.get(HYDRANTS)
            assert response.status_code == 200, response.text
        assert api.get("/tiles/cambridge/14/4956/6060").status_code == 200
    finally:
        stack.primary.start()


def test_an_api_on_the_primary_alone_issues_no_ddl(stack: Stack) -> None:
    """Without standbys too: a new version's tiles come from its table until the writer
    builds the copy; the API builds none."""
    from digitalcity.api import create_app

    stack.load("neighbourhoods", force=True)  # a version without a tile copy
    log = stack.primary.log_file
    start = log.stat().st_size
    with TestClient(create_app(stack.primary.settings)) as client:
        for path in (HYDRANTS, "/tiles/cambridge/13/2478/3030", "/tiles/cambridge/12/1239/1515"):
            assert client.get(path).status_code in (200, 204)
        time.sleep(0.5)
    with log.open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode(errors="replace")
    assert "statement:" not in text, text[-2000:]


def test_writes_get_503_with_the_primary_down(stack: Stack, api: TestClient) -> None:
    stack.primary.stop()
    try:
        time.sleep(0.3)
        response = api.post(
            "/cities/cambridge/analysis/population_in_polygon",
            json={
                "polygon": "POLYGON((-71.12 42.36,-71.10 42.36,-71.10 42.37,-71.12 42.37,-71.12 42.36))"
            },
        )
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in response.headers
        assert api.get(HYDRANTS).status_code == 200
    finally:
        stack.primary.start()


def test_read_your_writes_over_a_standby(stack: Stack, api: TestClient) -> None:
    """An edit goes to the primary; the editor's next read sees it at once (the router sends
    it to a standby only once that standby has replayed the edit's WAL position)."""
    from digitalcity.db.keys import create_key

    key = create_key(stack.engine, "land_bureau", "ryw").key
    headers = {"X-API-Key": key}
    url = "/collections/cambridge__hydrants/items/3"
    for n in range(5):
        tag = api.get(url, headers=headers).headers["etag"]
        patched = api.patch(
            url,
            json={"properties": {"colour": f"ryw-{n}"}},
            headers={**headers, "If-Match": tag},
        )
        assert patched.status_code == 200, patched.text
        assert patched.headers["x-commit-lsn"]
        assert api.get(url, headers=headers).json()["properties"]["colour"] == f"ryw-{n}"
