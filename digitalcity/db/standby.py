"""A hot standby of the embedded cluster: PostgreSQL's own streaming replication, made with
``pg_basebackup -R`` from a running primary, on its own data directory and port.

This is how a deployment scales reads (see README "Deployment"); on one machine it lets the
tests and ``bench/scale`` run the API over a real replica. The standby has the primary's
superuser and password (it is a byte copy), so its password file is copied too.
"""

from __future__ import annotations

import shutil

from digitalcity.config import Settings
from digitalcity.db.cluster import EmbeddedCluster, check_postgis, find_pg_bin


class StandbyCluster(EmbeddedCluster):
    """A streaming standby of ``primary`` under ``settings.cluster_dir`` (port
    ``settings.db_port``); ``start`` creates it with ``pg_basebackup`` when it does not exist."""

    def __init__(self, settings: Settings, primary: EmbeddedCluster) -> None:
        super().__init__(settings)
        self.primary = primary

    def init(self) -> None:
        bin_dir = find_pg_bin(self.settings)
        check_postgis(bin_dir)
        if self.initialised:
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        shutil.copyfile(self.primary.password_file, self.password_file)
        self.password_file.chmod(0o600)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self._give_to_service_user(self.dir)
        p = self.primary.settings
        conninfo = (
            f"host={p.db_host} port={p.db_port} user={p.db_user} "
            f"password={self.primary.password} application_name=digitalcity_standby"
        )
        # -R writes standby.signal and primary_conninfo; -X stream copies the WAL the backup
        # needs over a second connection; -c fast asks the primary for an immediate checkpoint
        self._run(
            bin_dir / "pg_basebackup",
            "-D",
            self.dir,
            "-d",
            conninfo,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )

    def ensure_database(self) -> None:
        """Nothing to create on a standby: the database comes with the replication."""

    def promote(self) -> None:
        """Make this standby a primary (failover)."""
        bin_dir = find_pg_bin(self.settings)
        self._run(bin_dir / "pg_ctl", "-D", self.dir, "-w", "promote")
