"""The API behind a real PgBouncer in transaction pooling mode (deploy/pgbouncer.ini): every
kind of read works, repeated past psycopg's prepare threshold, on pooled server connections
that change between transactions."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template

import pytest
from conftest import free_port
from fastapi.testclient import TestClient

from digitalcity.config import PROJECT_ROOT, Settings
from digitalcity.db.cluster import EmbeddedCluster

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
READS = [
    "/collections/cambridge__parcels/items?limit=20&bbox=-71.11,42.37,-71.10,42.375",
    "/collections/cambridge__parcels/items/1",
    "/collections/cambridge__hydrants/items?filter=lifecycle_status%3D%27ACT%27&limit=5",
    "/tiles/cambridge/14/4956/6060",
    "/cities/cambridge/search?q=maple",
    "/cities/cambridge/identify?lon=-71.1039&lat=42.37295",
]


@pytest.fixture(scope="module")
def bouncer(settings: Settings, engine) -> Iterator[str]:  # noqa: ANN001
    """PgBouncer on a free port in front of the test cluster; yields the database URL."""
    if settings.database_url:
        reason = "the test database is external: PgBouncer is tested on the embedded one"
        if os.environ.get("CI"):  # CI starts its own cluster: never let this pass unrun there
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = EmbeddedCluster(settings)
    root = Path(tempfile.mkdtemp(prefix="digitalcity-pgbouncer-"))
    port = free_port()
    (root / "userlist.txt").write_text(f'"{settings.db_user}" "{cluster.password}"\n')
    config = Template((PROJECT_ROOT / "deploy" / "pgbouncer.ini").read_text()).safe_substitute(
        dbname=settings.db_name,
        db_host=settings.db_host,
        db_port=settings.db_port,
        listen_host="127.0.0.1",
        listen_port=port,
        auth_file=root / "userlist.txt",
        logfile=root / "pgbouncer.log",
        pidfile=root / "pgbouncer.pid",
    )
    (root / "pgbouncer.ini").write_text(config)
    command = [PGBOUNCER, str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: run it as the server's user
        entry = pwd.getpwnam(settings.db_service_user)
        for path in [root, *root.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        command = [PGBOUNCER, "-u", settings.db_service_user, str(root / "pgbouncer.ini")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            log = (root / "pgbouncer.log").read_text() if (root / "pgbouncer.log").exists() else ""
            raise RuntimeError(f"pgbouncer did not start: {process.stderr.read()!r} {log}")  # type: ignore[union-attr]
        time.sleep(0.05)
    yield (
        f"postgresql://{settings.db_user}:{cluster.password}@127.0.0.1:{port}/{settings.db_name}"
    )
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def test_reads_through_transaction_pooling(settings: Settings, bouncer: str, loaded) -> None:  # noqa: ANN001
    from digitalcity.api import create_app

    pooled = settings.model_copy(
        update={"database_url": bouncer, "db_transaction_pooling": True, "items_cache_mb": 0}
    )
    with TestClient(create_app(pooled)) as client:
        # 8 rounds: past psycopg's prepare threshold (5) for every statement; 6 at once, so
        # PgBouncer hands transactions to server connections other than the one before
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda path: (path, client.get(path)), READS * 8))
        failed = [
            (path, r.status_code, r.text[:200]) for path, r in answers if r.status_code != 200
        ]
        assert not failed
        count = client.get("/collections/cambridge__parcels/items", params={"limit": 1}).json()[
            "numberMatched"
        ]
        assert count == 13_116
        analysis = client.post(
            "/cities/cambridge/analysis/population_in_polygon",
            json={
                "polygon": "POLYGON((-71.12 42.36,-71.10 42.36,-71.10 42.37,-71.12 42.37,-71.12 42.36))"
            },
        )
        assert analysis.status_code == 200, analysis.text
