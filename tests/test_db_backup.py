"""Backups and restores (``digitalcity db backup`` / ``restore``) with the real PostgreSQL
tools, on a database of their own on the test cluster: Cambridge's fire stations and hydrants
loaded by our loader, a hydrant edited through the API. The demo database the other tests
read is never renamed."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from digitalcity.catalog import Catalog
from digitalcity.config import Settings
from digitalcity.db.backup import BackupError, backup, client_tool, restore
from digitalcity.db.engine import database_url, ensure_ready, make_engine
from digitalcity.db.keys import create_key
from digitalcity.ingest.city import load_city

HYDRANTS = "/collections/cambridge__hydrants/items"


def _libpq(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def _databases(admin_url: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
        ).fetchall()
    return sorted(r[0] for r in rows)


def _count(url: str, database: str, table: str = "cambridge.hydrants") -> int:
    with psycopg.connect(_libpq(url, database)) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table))).fetchone()
    return int(row[0]) if row else -1


@pytest.fixture(scope="module")
def own(settings: Settings, catalog: Catalog, engine, tmp_path_factory) -> Iterator[Settings]:  # noqa: ANN001
    """Settings of a database of this module's own, loaded with two Cambridge layers."""
    name = f"dc_backup_{secrets.token_hex(3)}"
    shared = database_url(settings)
    admin = _libpq(shared, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    folder = tmp_path_factory.mktemp("backup")
    mine = settings.model_copy(
        update={
            "database_url": make_url(shared).set(database=name).render_as_string(False),
            "data_dir": folder,
            "tiles_dir": folder / "tiles",
        }
    )
    own_engine = make_engine(mine)
    ensure_ready(own_engine)
    for outcome in load_city(catalog, "cambridge", ["fire_stations", "hydrants"], own_engine, mine):
        assert not outcome.error, outcome.error
    own_engine.dispose()
    yield mine
    with psycopg.connect(admin, autocommit=True) as conn:
        for db in _databases(admin, name):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )


@contextmanager
def _api(own: Settings) -> Iterator[TestClient]:
    """The API on the module's database; its connections closed afterwards, as a stopped
    server's are (a restore refuses while any is open)."""
    from digitalcity.api import create_app

    app = create_app(own)
    try:
        with TestClient(app) as api:
            yield api
    finally:
        app.state.engine.dispose()


def _edit_a_hydrant(own: Settings, colour: str) -> tuple[int, str]:
    """Patch the first hydrant's colour through the API as the land bureau; (fid, key)."""
    api_engine = make_engine(own)
    key = create_key(api_engine, "land_bureau", "backup test").key
    api_engine.dispose()
    with _api(own) as api:
        first = api.get(HYDRANTS, params={"limit": 1}).json()["features"][0]
        url = f"{HYDRANTS}/{first['id']}"
        tag = api.get(url).headers["etag"]
        patched = api.patch(
            url,
            json={"properties": {"colour": colour}},
            headers={"X-API-Key": key, "If-Match": tag, "X-Change-Reason": "survey"},
        )
        assert patched.status_code == 200, patched.text
    return int(first["id"]), key


def test_a_restore_brings_back_the_data_as_it_was_and_keeps_what_it_replaced(
    own: Settings,
) -> None:
    url = database_url(own)
    name = make_url(url).database or ""
    fid, key = _edit_a_hydrant(own, "violet")
    before = _count(url, name)

    report = backup(own)
    assert report.path.is_file() and report.path.parent == own.data_dir / "backups"
    assert report.layers == 2 and report.tables >= 10 and report.size > 10_000
    assert not list(report.path.parent.glob(".*partial"))  # written under its own name at once

    # after the backup: rows removed, the key revoked, a cached tile on disk
    with psycopg.connect(_libpq(url, name), autocommit=True) as conn:
        conn.execute(
            "DELETE FROM cambridge.hydrants WHERE fid IN (SELECT fid FROM cambridge.hydrants LIMIT 7)"
        )
        conn.execute("UPDATE digitalcity.api_keys SET revoked_at = now()")
    cached = own.tiles_dir / "cache" / "cambridge" / "hydrants" / "v" / "f" / "14" / "1" / "2.mvt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")

    restored = restore(own, report.path)
    assert restored.database == name and restored.layers == 2
    assert restored.tile_cache_cleared and not cached.exists()
    assert _count(url, name) == before
    # what the restore replaced is kept, as it was
    assert _count(url, restored.kept_as) == before - 7
    assert _databases(_libpq(url, "postgres"), name) == sorted([name, restored.kept_as])

    with _api(own) as api:
        feature = api.get(f"{HYDRANTS}/{fid}")
        assert feature.json()["properties"]["colour"] == "violet"
        history = api.get(f"{HYDRANTS}/{fid}/history", headers={"X-API-Key": key})
        assert history.status_code == 200  # the key works again: it was valid in the backup
        reasons = [v["created_by"]["reason"] for v in history.json()["versions"]]
        assert reasons == ["load", "survey"]
        again = api.patch(  # the restored database takes edits (sequences, triggers, history)
            f"{HYDRANTS}/{fid}",
            json={"properties": {"colour": "green"}},
            headers={"X-API-Key": key, "If-Match": feature.headers["etag"]},
        )
        assert again.status_code == 200, again.text
        assert (
            len(api.get(f"{HYDRANTS}/{fid}/history", headers={"X-API-Key": key}).json()["versions"])
            == 3
        )


def test_a_refused_restore_changes_nothing(own: Settings, tmp_path: Path) -> None:
    url = database_url(own)
    name = make_url(url).database or ""
    admin = _libpq(url, "postgres")
    before = _count(url, name)
    good = backup(own, tmp_path / "good.dump")

    not_a_backup = tmp_path / "notes.dump"
    not_a_backup.write_text("这不是备份 not a backup\n", encoding="utf-8")
    with pytest.raises(BackupError, match="not a backup pg_restore can read"):
        restore(own, not_a_backup)
    with pytest.raises(BackupError, match="no backup file"):
        restore(own, tmp_path / "missing.dump")

    # a real pg_dump archive, of a database that is not ours
    other = f"{name}_other"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    with psycopg.connect(_libpq(url, other), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id int)")
    foreign = tmp_path / "foreign.dump"
    parts = make_url(url)
    subprocess.run(
        [client_tool("pg_dump", 10, own), "-Fc", "-f", foreign, "-d", other],
        env={
            "PGHOST": parts.host or "",
            "PGPORT": str(parts.port),
            "PGUSER": parts.username or "",
            "PGPASSWORD": parts.password or "",
        },
        check=True,
    )
    with pytest.raises(BackupError, match="not a digitalcity backup"):
        restore(own, foreign)

    # someone connected to the database in use (an API server, a notebook)
    with psycopg.connect(_libpq(url, name), application_name="a notebook"):
        with pytest.raises(BackupError, match=r"1 session\(s\) are connected.*a notebook"):
            restore(own, good.path)

    assert _count(url, name) == before
    assert not [d for d in _databases(admin, name) if d.endswith("_restoring")]
    with pytest.raises(BackupError, match="never overwritten"):
        backup(own, good.path)
    assert good.path.stat().st_size == good.size


def test_the_commands(own: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from digitalcity.cli import app

    monkeypatch.setenv("DIGITALCITY_DATABASE_URL", own.database_url or "")
    monkeypatch.setenv("DIGITALCITY_DATA_DIR", str(own.data_dir))
    monkeypatch.setenv("DIGITALCITY_TILES_DIR", str(own.tiles_dir))
    runner = CliRunner()
    target = tmp_path / "city.dump"
    done = runner.invoke(app, ["db", "backup", str(target)])
    assert done.exit_code == 0, done.output
    assert f"backup written: {target}" in done.output and "2 layers" in done.output

    # a nightly job's rotation: default names, the two newest kept, other files left alone
    folder = own.data_dir / "backups"
    folder.mkdir(exist_ok=True)
    (folder / "before-the-move.dump").write_bytes(b"kept by hand")
    runs = [runner.invoke(app, ["db", "backup", "--keep", "2"]) for _ in range(3)]
    assert [r.exit_code for r in runs] == [0, 0, 0], runs[-1].output
    written = [Path(r.output.split("backup written: ")[1].split(" (")[0]) for r in runs]
    assert len(set(written)) == 3  # within one second too
    assert "removed an older backup" in runs[2].output
    assert sorted(p.name for p in folder.glob("*.dump")) == sorted(
        [written[1].name, written[2].name, "before-the-move.dump"]
    )
    assert runner.invoke(app, ["db", "backup", "--keep", "0"]).exit_code != 0

    unasked = runner.invoke(app, ["db", "restore", str(target)])  # no terminal to ask on
    assert unasked.exit_code == 1 and "pass --yes" in unasked.output

    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"PGDMP")
    refused = runner.invoke(app, ["db", "restore", str(bad), "--yes"])
    assert refused.exit_code == 1 and "error: " in refused.output
    assert "Traceback" not in refused.output

    restored = runner.invoke(app, ["db", "restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "2 layers" in restored.output and "_before_restore_" in restored.output
    kept = restored.output.split("is kept as '")[1].split("'")[0]
    status = runner.invoke(app, ["db", "status"])  # the databases kept aside, to drop
    assert status.exit_code == 0 and f"kept by a restore: {kept} (" in status.output
