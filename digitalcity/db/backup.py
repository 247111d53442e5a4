"""Backups of the database in use, and restoring one (``digitalcity db backup`` / ``restore``).

A backup is ``pg_dump``'s custom format of the whole database: every layer with its kept
versions, the history and change sets, attachments, API keys (hashed), code tables and the
tile copies. It is written under a temporary name and renamed once complete, so a failed
backup never leaves a truncated file under the name asked for.

A restore never touches the database in use until the backup is restored whole: it goes into
a new database on the same server (one transaction), which then takes the current database's
name; the current one is kept under another name (``<name>_before_restore_<time>``) for the
operator to drop once satisfied. Nothing may be connected to the database in use (an API
server, a notebook), since its name moves. The on-disk tile cache is cleared afterwards: a
restored layer may reuse version numbers and edit tags with other content.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from digitalcity.config import Settings
from digitalcity.db.engine import database_url
from digitalcity.errors import ConfigError, DigitalCityError

MARKER = ("digitalcity", "layer_versions")  # the table every digitalcity database has
KEPT_SUFFIX = "_before_restore_"
KEPT_STAMP = "%Y%m%d_%H%M%S"  # 15 characters
STAGING_SUFFIX = "_restoring"
MAX_NAME = 63  # PostgreSQL's identifier length
CURRENT_LAYERS = "SELECT count(*) FROM digitalcity.layer_versions WHERE is_current AND NOT dropped"


class BackupError(DigitalCityError):
    """A backup that cannot be written or restored; the database in use is unchanged."""


@dataclass(frozen=True)
class BackupReport:
    """A backup written: its file, size (bytes), time taken (s) and what it holds."""

    path: Path
    size: int
    seconds: float
    tables: int
    layers: int
    removed: tuple[Path, ...] = ()  # older backups past ``keep``


@dataclass(frozen=True)
class RestoreReport:
    """A restore done: the database restored, where the former one is kept, what it holds."""

    database: str
    kept_as: str
    seconds: float
    tables: int
    layers: int
    tile_cache_cleared: bool


@dataclass(frozen=True)
class _Server:
    """How the PostgreSQL tools reach the database in use: libpq variables (the password
    among them, never on a command line) and the database's name."""

    env: dict[str, str]
    database: str

    @classmethod
    def of(cls, settings: Settings) -> _Server:
        url = make_url(database_url(settings))
        socket = url.query.get("host")  # ?host=/var/run/postgresql: a Unix socket
        env = {
            "PGHOST": url.host or (socket if isinstance(socket, str) else None) or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "",
            "PGPASSWORD": url.password or "",
            "PGCONNECT_TIMEOUT": "10",
        }
        return cls(env, url.database or "")

    def connect(self, database: str) -> psycopg.Connection:
        e = self.env
        try:
            return psycopg.connect(
                host=e["PGHOST"],
                port=e["PGPORT"],
                user=e["PGUSER"],
                password=e["PGPASSWORD"],
                dbname=database,
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as exc:
            raise BackupError(f"cannot reach database {database!r}: {_first_line(exc)}") from None

    def summary(self, database: str) -> tuple[int, int]:
        """(server major version, current layers) of ``database``."""
        with self.connect(database) as conn:
            major = int(conn.info.server_version) // 10000
            try:
                row = conn.execute(CURRENT_LAYERS).fetchone()
            except psycopg.errors.UndefinedTable:  # a database the project never set up
                return major, 0
            return major, int(row[0]) if row else 0


def _first_line(error: object) -> str:
    lines = [x.strip() for x in str(error).splitlines() if x.strip()]
    wanted = [x for x in lines if "error" in x.lower()]
    return (wanted or lines or ["no message"])[0]


def client_tool(name: str, server_major: int, settings: Settings) -> Path:
    """``pg_dump`` or ``pg_restore`` of at least the server's major version (an older one
    refuses a newer server): the configured server binaries, Debian's versioned directories
    (newest first), then ``PATH``."""
    candidates: list[Path] = []
    if settings.pg_bin_dir:
        candidates.append(settings.pg_bin_dir)
    debian = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(debian, key=lambda p: int(p.parent.name), reverse=True)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found).parent)
    for directory in candidates:
        tool = directory / name
        if tool.exists() and _tool_major(tool) >= server_major:
            return tool
    raise ConfigError(
        f"{name} for PostgreSQL {server_major} or newer not found: "
        f"apt-get install postgresql-client-{server_major}"
    )


def _tool_major(tool: Path) -> int:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(found.group(1)) if found else 0


def _run(args: list[str | Path], server: _Server, what: str) -> str:
    env = {**os.environ, **server.env}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what}: {_first_line(done.stderr)}")
    return done.stdout


def backup(settings: Settings, path: Path | None = None, keep: int | None = None) -> BackupReport:
    """Write a backup of the database in use to ``path`` (default: ``<data_dir>/backups/
    <database>-<time>.dump``); an existing file is never overwritten. With ``keep``, the
    default folder's backups of this database beyond the ``keep`` newest are then removed
    (a nightly job's rotation): only files named as the default names them."""
    server = _Server.of(settings)
    started = time.perf_counter()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = settings.data_dir / "backups"
    path = path or _free_name(folder, f"{server.database}-{stamp}")
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1 (the backup just written)")
    if path.exists():
        raise BackupError(f"{path} exists: choose another name (a backup is never overwritten)")
    major, layers = server.summary(server.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        _run(
            [
                client_tool("pg_dump", major, settings),
                "--format=custom",
                f"--file={partial}",
                f"--dbname={server.database}",
            ],
            server,
            "the backup failed",
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    tables = contents(path, client_tool("pg_restore", major, settings), server, ours=False)
    removed = _rotate(folder, server.database, keep) if keep else ()
    seconds = time.perf_counter() - started
    return BackupReport(path, path.stat().st_size, seconds, tables, layers, removed)


def _free_name(folder: Path, stem: str) -> Path:
    """``<stem>.dump`` in ``folder``, or ``<stem>-2.dump``… when backups follow each other
    within a second."""
    path, n = folder / f"{stem}.dump", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.dump"
    return path


def _rotate(folder: Path, database: str, keep: int) -> tuple[Path, ...]:
    """Remove this database's default-named backups in ``folder`` but the ``keep`` newest."""
    named = re.compile(rf"^{re.escape(database)}-\d{{8}}-\d{{6}}(-\d+)?\.dump$")
    ours = sorted(
        (p for p in folder.glob("*.dump") if named.match(p.name)),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    old = tuple(ours[:-keep])
    for stale in old:
        stale.unlink(missing_ok=True)
    return old


def contents(path: Path, pg_restore: Path, server: _Server, *, ours: bool = True) -> int:
    """The number of tables a backup file holds; a file ``pg_restore`` cannot read, or (with
    ``ours``) one without the project's metadata, is a BackupError."""
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    listing = _run(
        [pg_restore, "--list", path], server, f"{path} is not a backup pg_restore can read"
    )
    data = [line.split() for line in listing.splitlines() if " TABLE DATA " in line]
    tables = {(words[-3], words[-2]) for words in data if len(words) >= 3}
    if ours and MARKER not in tables:
        raise BackupError(
            f"{path} is not a digitalcity backup (it has no digitalcity.layer_versions)"
        )
    return len(tables)


def restore(settings: Settings, path: Path) -> RestoreReport:
    """Restore the backup at ``path`` in place of the database in use, which is kept under
    another name (see the module's notes). Refused, with nothing changed, when the file is
    not a digitalcity backup or anything is connected to the database in use."""
    server = _Server.of(settings)
    started = time.perf_counter()
    target = server.database
    staging = target[: MAX_NAME - len(STAGING_SUFFIX)] + STAGING_SUFFIX
    kept = _kept_prefix(target) + datetime.now().strftime(KEPT_STAMP)
    with server.connect("postgres") as admin:
        pg_restore = client_tool("pg_restore", int(admin.info.server_version) // 10000, settings)
        tables = contents(path, pg_restore, server)
        _refuse_if_connected(admin, target)
        drop_staging = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(staging))
        admin.execute(drop_staging)  # left by a restore interrupted before its swap
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(staging))
            )
        except psycopg.Error as exc:
            raise BackupError(
                f"cannot create a database to restore into: {_first_line(exc)}"
            ) from None
        try:
            _run(
                [
                    pg_restore,
                    "--exit-on-error",
                    "--single-transaction",
                    "--no-owner",
                    f"--dbname={staging}",
                    path,
                ],
                server,
                "the restore failed (the database in use is unchanged)",
            )
            _refuse_if_connected(admin, target)
            _swap(admin, target, staging, kept)
        except BaseException:
            admin.execute(drop_staging)
            raise
    from digitalcity.db.engine import ensure_ready, make_engine

    engine = make_engine(settings)  # a backup from an earlier release gets the newer metadata
    try:
        ensure_ready(engine)
    finally:
        engine.dispose()
    layers = server.summary(target)[1]
    cleared = _clear_tile_cache(settings)
    seconds = time.perf_counter() - started
    return RestoreReport(target, kept, seconds, tables, layers, cleared)


def _kept_prefix(database: str) -> str:
    """The start of the names restores keep ``database`` under (``<name>_before_restore_``,
    the name shortened so the time fits PostgreSQL's 63 characters)."""
    room = MAX_NAME - len(KEPT_SUFFIX) - len(datetime.now().strftime(KEPT_STAMP))
    return database[:room] + KEPT_SUFFIX


def kept_databases(settings: Settings) -> list[tuple[str, int]]:
    """The databases restores have kept aside (``<name>_before_restore_<time>``) on the server
    of the database in use, with their sizes (bytes), oldest first."""
    server = _Server.of(settings)
    prefix = _kept_prefix(server.database)
    with server.connect(server.database) as conn:
        rows = conn.execute(
            "SELECT datname, pg_database_size(oid) FROM pg_database "
            "WHERE starts_with(datname, %s) ORDER BY datname",
            (prefix,),
        ).fetchall()
    return [(str(name), int(size)) for name, size in rows]


def _refuse_if_connected(admin: psycopg.Connection, database: str) -> None:
    row = admin.execute(
        "SELECT count(*), string_agg(DISTINCT coalesce(nullif(application_name, ''), "
        "client_addr::text, 'local'), ', ') FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        (database,),
    ).fetchone()
    if row and row[0]:
        raise BackupError(
            f"{row[0]} session(s) are connected to {database!r} ({row[1]}): stop the API "
            "servers, notebooks and pools using it, then restore again (nothing was changed)"
        )


def _swap(admin: psycopg.Connection, target: str, staging: str, kept: str) -> None:
    """The restored database takes ``target``'s name; the former one becomes ``kept``."""
    rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
    try:
        admin.execute(rename.format(sql.Identifier(target), sql.Identifier(kept)))
    except psycopg.Error as exc:
        raise BackupError(f"cannot rename {target!r} aside: {_first_line(exc)}") from None
    try:
        admin.execute(rename.format(sql.Identifier(staging), sql.Identifier(target)))
    except psycopg.Error as exc:
        admin.execute(rename.format(sql.Identifier(kept), sql.Identifier(target)))
        raise BackupError(f"cannot rename the restored database: {_first_line(exc)}") from None


def _clear_tile_cache(settings: Settings) -> bool:
    from digitalcity.tiles.cache import TileCache

    return TileCache(settings.tiles_dir / "cache").clear() > 0
