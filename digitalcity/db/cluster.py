"""The embedded PostgreSQL + PostGIS cluster: a private server in the project's data directory.

Run as root (as CI does), the server runs as an unprivileged system user, since ``initdb``
and ``postgres`` refuse root. The superuser password is generated at ``initdb`` time and kept
in a 0600 file beside the cluster; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from digitalcity.config import Settings
from digitalcity.errors import ClusterError, ConfigError

INSTALL_HINT = (
    "run `make setup` (or: apt-get install postgresql postgresql-<major>-postgis-3 "
    "postgresql-<major>-pgrouting)"
)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def find_pg_bin(settings: Settings) -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (newest major first)."""
    candidates: list[Path] = []
    if settings.pg_bin_dir:  # an explicit choice is the only candidate
        bin_dir = settings.pg_bin_dir
        if all((bin_dir / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return bin_dir
        raise ConfigError(
            f"PostgreSQL server binaries (initdb, pg_ctl) not found in {bin_dir}: {INSTALL_HINT}"
        )
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    for path in candidates:
        if (
            (path / "initdb").exists()
            and (path / "pg_ctl").exists()
            and (path / "postgres").exists()
        ):
            return path
    raise ConfigError(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}")


def _share_dir(bin_dir: Path) -> Path:
    pg_config = bin_dir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return bin_dir.parent / "share"


def check_postgis(bin_dir: Path) -> None:
    """Raise a one-line ConfigError when PostGIS is not installed for this server."""
    control = _share_dir(bin_dir) / "extension" / "postgis.control"
    if not control.exists():
        raise ConfigError(f"PostGIS is not installed for the server in {bin_dir}: {INSTALL_HINT}")


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    data_dir: Path
    port: int
    pid: int | None


class EmbeddedCluster:
    """A private PostgreSQL cluster under ``settings.cluster_dir``; every method is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.cluster_dir
        self.password_file = settings.data_dir / "db-password"
        self.log_file = settings.data_dir / "postgresql.log"

    # -- helpers -----------------------------------------------------------------------------
    def _service_user(self) -> str | None:
        """The user the server runs as when we are root (created on first use)."""
        if not _is_root():
            return None
        name = self.settings.db_service_user
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                check=True,
                capture_output=True,
            )
        return name

    def _run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        user = self._service_user()
        if user:
            cmd = ["runuser", "-u", user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ClusterError(
                f"{Path(cmd[0 if not user else 4]).name} failed: "
                f"{detail[-1] if detail else proc.returncode}"
            )
        return proc

    def _give_to_service_user(self, path: Path) -> None:
        user = self._service_user()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_reachable(self) -> None:
        """As root, the service user must be able to traverse to the data directory."""
        if not _is_root():
            return
        for parent in [self.settings.data_dir.resolve(), *self.settings.data_dir.resolve().parents]:
            mode = parent.stat().st_mode
            if parent == self.settings.data_dir.resolve():
                os.chmod(parent, mode | 0o711)
            elif not mode & 0o001:
                raise ClusterError(
                    f"{parent} is not traversable by the server user "
                    f"{self.settings.db_service_user!r}: choose another DIGITALCITY_DATA_DIR"
                )

    @property
    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise ClusterError(
                f"no cluster in {self.dir}: run `digitalcity db start` first"
            ) from None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster (initdb) unless it exists."""
        bin_dir = find_pg_bin(self.settings)
        check_postgis(bin_dir)
        if self.initialised:
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self._give_to_service_user(self.dir)
        pwfile = self.settings.data_dir / ".initdb-pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._give_to_service_user(pwfile)
        try:
            self._run(
                bin_dir / "initdb",
                "-D",
                self.dir,
                "-U",
                self.settings.db_user,
                "--pwfile",
                pwfile,
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\ninclude_if_exists = 'digitalcity.conf'\n")

    def _write_conf(self) -> None:
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.settings.db_port}",
            f"unix_socket_directories = '{self.dir}'",
            "max_connections = 100",
            f"shared_buffers = '{max(16, int(self.settings.db_shared_buffers_mb))}MB'",
            "work_mem = '32MB'",
            "maintenance_work_mem = '256MB'",
            "max_wal_size = '2GB'",
            "jit = off",
            # a load analyses only the columns its queries need; autovacuum's full ANALYZE
            # of the new version follows within this
            "autovacuum_naptime = '10s'",
        ]
        if self.settings.db_fast_unsafe:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        path = self.dir / "digitalcity.conf"
        path.write_text("\n".join(lines) + "\n")
        self._give_to_service_user(path)

    def status(self) -> ClusterStatus:
        pid = None
        running = False
        if self.initialised:
            bin_dir = find_pg_bin(self.settings)
            proc = self._run(bin_dir / "pg_ctl", "-D", self.dir, "status", check=False)
            running = proc.returncode == 0
            pid_file = self.dir / "postmaster.pid"
            if running and pid_file.exists():
                pid = int(pid_file.read_text().split()[0])
        return ClusterStatus(running, self.dir, self.settings.db_port, pid)

    def _port_taken(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            return sock.connect_ex((self.settings.db_host, self.settings.db_port)) == 0

    def start(self) -> ClusterStatus:
        """Create if needed, start if stopped, and make sure the database and PostGIS exist."""
        self.init()
        current = self.status()
        if not current.running:
            if self._port_taken():
                raise ClusterError(
                    f"port {self.settings.db_port} is in use by another server: "
                    "set DIGITALCITY_DB_PORT"
                )
            self._write_conf()
            self.log_file.touch(exist_ok=True)
            self._give_to_service_user(self.log_file)
            bin_dir = find_pg_bin(self.settings)
            self._run(
                bin_dir / "pg_ctl", "-D", self.dir, "-l", self.log_file, "-w", "-t", "60", "start"
            )
        self.ensure_database()
        return self.status()

    def stop(self) -> ClusterStatus:
        if self.status().running:
            bin_dir = find_pg_bin(self.settings)
            self._run(bin_dir / "pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")
        return self.status()

    def destroy(self) -> None:
        """Stop the cluster and delete its data directory (tests only)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- connection --------------------------------------------------------------------------
    def url(self, database: str | None = None) -> str:
        s = self.settings
        return (
            f"postgresql+psycopg://{quote(s.db_user)}:{quote(self.password)}"
            f"@{s.db_host}:{s.db_port}/{quote(database or s.db_name)}"
        )

    def ensure_database(self) -> None:
        import psycopg

        admin = self.url("postgres").replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.db_name,)
            ).fetchone()
            if not exists:
                from psycopg import sql

                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.settings.db_name))
                )
