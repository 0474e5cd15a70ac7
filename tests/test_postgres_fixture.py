"""The throwaway PostgreSQL server the store tests run on (tests/postgres.py): a real server on
loopback, a fresh database per test, gone at the end, and a clear skip or failure when no
server can be had."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.postgres import (
    ABANDONED_SECONDS,
    DIR_PREFIX,
    SETTINGS,
    TEMPLATE,
    PostgresServer,
    PostgresUnavailable,
    _sweep_abandoned,
    find_bindir,
    install_postgres,
    start_server,
    without_postgres,
)

# every test makes its own database: ~20 ms each when measured on an idle machine; the bound
# is loose because the machine is shared, and catches a clone that syncs to disk (~seconds)
CREATE_BUDGET_SECONDS = 0.5


def test_a_query_round_trips(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT %s::int + 1, current_setting('fsync')", (41,)).fetchone()
    assert row == (42, SETTINGS["fsync"])


def test_the_server_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    assert postgres_server.host == "127.0.0.1"
    with psycopg.connect(postgres_server.url()) as conn:
        row = conn.execute("SELECT current_setting('listen_addresses'), host(inet_server_addr())")
        assert row.fetchone() == ("127.0.0.1", "127.0.0.1")


def test_two_tests_get_different_databases(postgres_server: PostgresServer) -> None:
    """What one test writes, another test's database does not hold, and the databases are
    dropped when their tests end."""
    first = postgres_server.create_database()
    second = postgres_server.create_database()
    try:
        assert first != second
        with psycopg.connect(postgres_server.url(first)) as conn:
            conn.execute("CREATE TABLE marks (id int)")
            conn.execute("INSERT INTO marks VALUES (1)")
        with psycopg.connect(postgres_server.url(second)) as conn:
            exists = conn.execute("SELECT to_regclass('marks') IS NOT NULL").fetchone()
        assert exists == (False,)
    finally:
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)
    with psycopg.connect(postgres_server.url()) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname IN (%s, %s)", (first, second)
        ).fetchone()
    assert left == (0,)


def test_a_database_is_cloned_from_the_template_quickly(postgres_server: PostgresServer) -> None:
    """Best of a few: the machine is shared, so one slow clone says little."""
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        name = postgres_server.create_database()
        timings.append(time.perf_counter() - started)
        postgres_server.drop_database(name)
    assert min(timings) < CREATE_BUDGET_SECONDS, timings


def test_a_test_database_is_dropped_even_with_a_connection_left_open(
    postgres_server: PostgresServer,
) -> None:
    name = postgres_server.create_database()
    leaked = psycopg.connect(postgres_server.url(name))
    try:
        postgres_server.drop_database(name)
        with psycopg.connect(postgres_server.url()) as conn:
            left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert left.fetchone() == (0,)
    finally:
        leaked.close()


def test_a_server_is_stopped_and_its_directory_removed(postgres_server: PostgresServer) -> None:
    """A second cluster, started and stopped here, leaves no process and no directory."""
    server = start_server(postgres_server.bindir)
    try:
        assert server.port != postgres_server.port
        with psycopg.connect(server.url(TEMPLATE)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert not server.directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url(), connect_timeout=2)


def _cluster_dir(parent: Path, name: str, pid: int | None, age: float) -> Path:
    directory = parent / f"{DIR_PREFIX}{name}"
    (directory / "data").mkdir(parents=True)
    marked = directory
    if pid is not None:
        marked = directory / "data" / "postmaster.pid"
        marked.write_text(f"{pid}\n{directory}\n")
    then = time.time() - age
    os.utime(marked, (then, then))
    return directory


def test_only_clusters_abandoned_for_a_while_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session that died without its finalizers left its directory behind (its server died
    with it): the next session removes it. Another live session's cluster stays, also while
    its initdb runs (the standalone backend's pid is written negated) and before it has a
    pid file at all."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])  # a pid that has exited
    dead.wait()
    old = ABANDONED_SECONDS + 60
    abandoned = _cluster_dir(tmp_path, "abandoned", dead.pid, old)
    half_made_long_ago = _cluster_dir(tmp_path, "half", None, old)
    kept = [
        _cluster_dir(tmp_path, "live", os.getpid(), old),
        _cluster_dir(tmp_path, "initdb", -os.getpid(), old),
        _cluster_dir(tmp_path, "starting", None, 1),
        _cluster_dir(tmp_path, "just-died", dead.pid, 1),
    ]
    _sweep_abandoned()
    assert not abandoned.exists()
    assert not half_made_long_ago.exists()
    assert all(directory.exists() for directory in kept)


def test_the_server_binaries_are_found(postgres_server: PostgresServer) -> None:
    found = find_bindir()
    assert found is not None
    assert (found / "initdb").is_file()
    assert (found / "postgres").is_file()


def test_installing_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PostgresUnavailable, match="needs root"):
        install_postgres()


def test_installing_needs_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="no apt-get"):
        install_postgres()


def test_without_a_server_ci_fails_and_elsewhere_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = PostgresUnavailable("installing it needs root")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="installing it needs root"):
        without_postgres(reason)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="installing it needs root"):
        without_postgres(reason)
