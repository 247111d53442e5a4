"""A real streaming standby (pg_basebackup -R) of a throwaway primary, and the read router
over them: standby chosen when healthy, skipped when stopped or behind a write, kept when
the primary is down."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import free_port
from sqlalchemy.engine import Engine

from digitalcity.config import Settings
from digitalcity.db.cluster import EmbeddedCluster
from digitalcity.db.engine import make_engine
from digitalcity.db.routing import ReadRouter, commit_lsn, lsn_int
from digitalcity.db.standby import StandbyCluster

IN_RECOVERY = sa.text("SELECT pg_is_in_recovery()")


def _settings(root: Path) -> Settings:
    return Settings(data_dir=root, db_port=free_port(), db_fast_unsafe=True, progress=False)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[EmbeddedCluster, StandbyCluster, Engine, Engine]]:
    roots = [Path(tempfile.mkdtemp(prefix="digitalcity-rep-")) for _ in range(2)]
    primary = EmbeddedCluster(_settings(roots[0]))
    primary.start()
    standby = StandbyCluster(_settings(roots[1]), primary)
    standby.start()
    engines = (make_engine(primary.settings), make_engine(standby.settings))
    yield primary, standby, *engines
    for engine in engines:
        engine.dispose()
    standby.destroy()
    primary.destroy()
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(check, seconds: float = 5.0) -> float:  # noqa: ANN001
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if check():
                return time.monotonic() - start
        except sa.exc.DBAPIError:
            pass
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_lsn_parsing() -> None:
    assert lsn_int("0/0") == 0
    assert lsn_int("16/B374D848") == (0x16 << 32) + 0xB374D848


def test_standby_replays_the_primary_and_serves_reads(pair) -> None:  # noqa: ANN001
    primary, standby, p_engine, s_engine = pair
    with s_engine.connect() as conn:
        assert conn.execute(IN_RECOVERY).scalar_one() is True
    with p_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE replicated AS SELECT 42 AS answer"))

    def visible() -> bool:
        with s_engine.connect() as conn:
            return conn.execute(sa.text("SELECT answer FROM replicated")).scalar_one() == 42

    assert _wait_for(visible) < 2.0
    router = ReadRouter(p_engine, [s_engine], check_every_s=0.0)
    reader = router.reader()
    assert reader is s_engine
    with reader.connect() as conn:
        assert conn.execute(IN_RECOVERY).scalar_one() is True
    with pytest.raises(sa.exc.DBAPIError, match="read-only"), s_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE nope (x int)"))


def test_read_your_writes_goes_to_the_primary_until_replayed(pair) -> None:  # noqa: ANN001
    _, _, p_engine, s_engine = pair
    router = ReadRouter(p_engine, [s_engine], check_every_s=3600.0)
    router.refresh(force=True)
    with p_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE written AS SELECT 1 AS x"))
    with p_engine.connect() as conn:
        written = lsn_int(commit_lsn(conn))
    # the router's view of the standby predates the write: the writer's read goes to the primary
    assert router.reader(min_lsn=written) is p_engine
    assert router.reader() is s_engine
    _wait_for(
        lambda: (router.refresh(force=True), router.reader(min_lsn=written))[1] is s_engine
    )
    with router.reader(min_lsn=written).connect() as conn:
        assert conn.execute(sa.text("SELECT x FROM written")).scalar_one() == 1


def test_the_commit_position_covers_an_asynchronous_commit(pair) -> None:  # noqa: ANN001
    """Under synchronous_commit = off a commit returns before its WAL is written: the
    position a writer is given still covers it (a standby short of it is not chosen)."""
    _, _, p_engine, _ = pair
    with p_engine.connect() as conn:
        with conn.begin():
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            conn.execute(sa.text("CREATE TABLE written_async AS SELECT 1 AS x"))
            inside = lsn_int(
                conn.execute(sa.text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()
            )
        assert lsn_int(commit_lsn(conn)) > inside


def test_stopped_standby_is_skipped_and_taken_back(pair) -> None:  # noqa: ANN001
    _, standby, p_engine, s_engine = pair
    router = ReadRouter(p_engine, [s_engine], check_every_s=0.0)
    assert router.reader() is s_engine
    standby.stop()
    try:
        s_engine.dispose()
        assert router.reader() is p_engine
        assert router.healthy_standbys() == 0
    finally:
        standby.start()
    _wait_for(lambda: router.reader() is s_engine)


def test_reads_continue_on_the_standby_with_the_primary_down(pair) -> None:  # noqa: ANN001
    primary, _, p_engine, s_engine = pair
    router = ReadRouter(p_engine, [s_engine], check_every_s=0.0)
    primary.stop()
    try:
        p_engine.dispose()
        reader = router.reader()
        assert reader is s_engine
        with reader.connect() as conn:
            assert conn.execute(sa.text("SELECT answer FROM replicated")).scalar_one() == 42
    finally:
        primary.start()


def test_versions_never_go_back_when_read_from_standbys() -> None:
    from digitalcity.db.live import VersionMap

    versions = VersionMap()
    versions.replace([("c", "a", 3, None, 10), ("c", "b", 1, None, 5)], monotonic=True)
    # a lagging standby still says a:2, and b:2 is new
    changed = versions.replace([("c", "a", 2, None, 9), ("c", "b", 2, None, 6)], monotonic=True)
    assert changed == {("c", "b")}
    assert versions.get("c", "a").version == 3 and versions.get("c", "b").version == 2
