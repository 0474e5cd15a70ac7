"""The PostgreSQL store's pieces on a real server (issue 15): the connection adapter (`?`
placeholders, literal `%`, value types, constraint errors), the runner (a SERIALIZABLE
read-modify-write that loses a race is run again, so no update is lost) and the versioned
migrations (idempotent, safe when two run at once, a newer schema refused)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import psycopg
import pytest

from gateway.store.base import LedgerError
from gateway.store.postgres.connect import connect
from gateway.store.postgres.connection import PgConnection, translate
from gateway.store.postgres.migrations import SCHEMA_VERSION
from gateway.store.postgres.runner import PgRunner
from gateway.store.postgres.schema import migrate, version
from gateway.store.sql import Connection, IntegrityError, immediate, skip_locked, snapshot
from tests.postgres_empty import empty_postgres_url

__all__ = ["empty_postgres_url"]  # a fixture


@pytest.fixture
def conn(empty_postgres_url: str) -> Iterator[PgConnection]:
    with connect(empty_postgres_url) as raw:
        yield PgConnection(raw)


def test_placeholders_become_psycopgs_and_a_literal_percent_is_doubled() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c LIKE '%x'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '%%x'"
    )
    with pytest.raises(AssertionError, match="inside a literal"):
        translate("SELECT 'what?' WHERE a = ?")


def test_statements_round_trip_values_as_sqlite_gives_them(conn: PgConnection) -> None:
    row = conn.execute(
        "SELECT ? || '%', 'a%b', ?::bytea, ? > 0, ?::bigint, ?", ("x", b"\x00\x01", 3, 2**40, None)
    ).fetchone()
    assert row == ("x%", "a%b", b"\x00\x01", True, 2**40, None)
    assert type(row[2]) is bytes  # not a memoryview: the rows layer decodes bytes
    # no parameters at all: a literal % is still read as one
    assert conn.execute("SELECT '100%'").fetchone() == ("100%",)
    assert conn.execute("SELECT 1 WHERE 'a' LIKE '%'").fetchall() == [(1,)]


def test_executemany_and_rowcount(conn: PgConnection) -> None:
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    conn.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [("a", 1), ("b", 2), ("c%", 3)])
    assert conn.execute("UPDATE t SET v = v + 1 WHERE v >= ?", (2,)).rowcount == 2
    assert conn.execute("SELECT k, v FROM t ORDER BY k").fetchall() == [
        ("a", 1),
        ("b", 3),
        ("c%", 4),
    ]


def test_a_refused_constraint_is_the_stores_integrity_error(
    conn: PgConnection, empty_postgres_url: str
) -> None:
    migrate(empty_postgres_url)
    batch = (
        "INSERT INTO batches (id, owner, backend, status, run_count, created_us, updated_us)"
        " VALUES ('b1', 'o', 'local', 'pending', 1, 0, 0)"
    )
    conn.execute(batch)
    with pytest.raises(IntegrityError, match="duplicate key"):
        conn.execute(batch)
    with pytest.raises(IntegrityError):
        conn.executemany(
            "INSERT INTO batch_inputs (batch_id, idx, body) VALUES (?, ?, ?)", [("none", 0, b"{}")]
        )
    # the trigger that marks an input created refuses a second run for it, as SQLite's does
    conn.execute("INSERT INTO batch_inputs (batch_id, idx, body) VALUES ('b1', 0, ?)", (b"{}",))
    run = (
        "INSERT INTO runs (key, owner, backend, upstream_id, surface, status, filename,"
        " filename_folded, created_us, updated_us, run, batch_id, batch_input)"
        " VALUES (?, 'o', 'local', ?, 'retab', 'queued', 'f', 'f', 0, 0, ?, 'b1', 0)"
    )
    conn.execute(run, ("k1", "u1", b"{}"))
    state = conn.execute("SELECT state, run_key FROM batch_inputs").fetchone()
    assert state == ("created", "k1")
    with pytest.raises(IntegrityError, match="not pending"):
        conn.execute(run, ("k2", "u2", b"{}"))
    assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_the_transaction_helpers_open_postgresqls_transactions(conn: PgConnection) -> None:
    conn.execute("CREATE TABLE t (v INTEGER)")

    def insert_then_fail() -> None:
        with immediate(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError  # rolled back

    with pytest.raises(RuntimeError):
        insert_then_fail()
    with immediate(conn):
        level = conn.execute("SHOW transaction_isolation").fetchone()
        conn.execute("INSERT INTO t VALUES (2)")
    assert level == ("serializable",)
    with snapshot(conn):
        seen = conn.execute("SELECT v FROM t").fetchall()
        read_only = conn.execute("SHOW transaction_read_only").fetchone()
        level = conn.execute("SHOW transaction_isolation").fetchone()
    assert (seen, read_only, level) == ([(2,)], ("on",), ("repeatable read",))
    assert skip_locked(conn) == " FOR UPDATE SKIP LOCKED"
    assert conn.raw.info.transaction_status is psycopg.pq.TransactionStatus.IDLE


def _counter(conn: Connection) -> None:
    conn.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
    conn.execute("INSERT INTO counter VALUES (0)")


def test_racing_read_modify_writes_are_retried_and_none_is_lost(postgres_url: str) -> None:
    racing = 2
    met = threading.Barrier(racing, timeout=30)
    tries: list[int] = []

    def increment(conn: Connection) -> int:
        with immediate(conn):
            (n,) = conn.execute("SELECT n FROM counter").fetchone()
            tries.append(n)
            if len(tries) <= racing:
                met.wait()  # both first tries have read the same n before either writes
            conn.execute("UPDATE counter SET n = ?", (n + 1,))
        return int(n) + 1

    async def race() -> tuple[list[int], int]:
        runner = await PgRunner.open(postgres_url, size=4, timeout=10)
        try:
            await runner.write(_counter)
            done = await asyncio.gather(*(runner.write(increment) for _ in range(racing)))
            final = await runner.read(
                lambda conn: conn.execute("SELECT n FROM counter").fetchone()[0]
            )
        finally:
            await runner.close()
        return sorted(done), final

    done, final = asyncio.run(race())
    assert done == [1, 2]
    assert final == racing
    assert tries[:racing] == [0, 0]
    assert len(tries) > racing  # the loser really ran again


def test_many_concurrent_writes_all_land(postgres_url: str) -> None:
    def increment(conn: Connection) -> None:
        with immediate(conn):
            (n,) = conn.execute("SELECT n FROM counter").fetchone()
            conn.execute("UPDATE counter SET n = ?", (n + 1,))

    async def run() -> int:
        runner = await PgRunner.open(postgres_url, size=4, timeout=10)
        try:
            await runner.write(_counter)
            await asyncio.gather(*(runner.write(increment) for _ in range(20)))
            n: int = await runner.read(
                lambda conn: conn.execute("SELECT n FROM counter").fetchone()[0]
            )
        finally:
            await runner.close()
        return n

    assert asyncio.run(run()) == 20


def test_migrating_is_idempotent(empty_postgres_url: str) -> None:
    assert version(empty_postgres_url) is None
    assert migrate(empty_postgres_url) == (0, SCHEMA_VERSION)
    assert migrate(empty_postgres_url) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert version(empty_postgres_url) == SCHEMA_VERSION


def test_two_replicas_migrating_at_once_migrate_once(empty_postgres_url: str) -> None:
    with ThreadPoolExecutor(2) as both:
        results = sorted(both.map(migrate, [empty_postgres_url] * 2))
    assert results == [(0, SCHEMA_VERSION), (SCHEMA_VERSION, SCHEMA_VERSION)]
    with connect(empty_postgres_url) as raw:
        assert raw.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)


def test_a_newer_schema_is_refused(empty_postgres_url: str) -> None:
    migrate(empty_postgres_url)
    with connect(empty_postgres_url) as raw:
        raw.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(LedgerError, match="upgrade crosswalk"):
        migrate(empty_postgres_url)
    assert version(empty_postgres_url) == SCHEMA_VERSION + 1  # left as it was


def test_a_read_survives_connections_the_server_ended_while_idle(postgres_url: str) -> None:
    def backends(conn: Connection) -> int:
        count: int = conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0]
        return count

    async def run() -> int:
        runner = await PgRunner.open(postgres_url, size=3, timeout=10)
        try:
            await asyncio.gather(*(runner.read(backends) for _ in range(6)))  # several open
            with connect(postgres_url) as admin:
                ended = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
            assert ended is not None
            assert ended[0] >= 1
            return await runner.read(backends)
        finally:
            await runner.close()

    assert asyncio.run(run()) >= 1


def test_text_with_nul_round_trips_and_is_found_as_sqlite_finds_it(conn: PgConnection) -> None:
    conn.execute("CREATE TABLE t (k INTEGER, name TEXT)")
    names = ["a\x00b.pdf", "x\uffffy", "\x00\uffff\x00", "plain 0.pdf"]
    conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(names)))
    assert [name for (name,) in conn.execute("SELECT name FROM t ORDER BY k")] == names
    assert conn.execute("SELECT k FROM t WHERE name = ?", ("a\x00b.pdf",)).fetchall() == [(0,)]

    def holding(needle: str) -> list[int]:
        found = conn.execute("SELECT k FROM t WHERE name LIKE ? ORDER BY k", (f"%{needle}%",))
        return [k for (k,) in found]

    assert holding("\x00b") == [0]
    assert holding("\x00") == [0, 2]
    assert holding("0") == [3]  # not the escaped NULs
    assert holding("\uffff") == [1, 2]


async def test_a_cancelled_caller_still_waits_for_its_transaction_to_end(
    postgres_url: str,
) -> None:
    started, release = threading.Event(), threading.Event()
    scopes: list[anyio.CancelScope] = []
    ended: list[bool] = []

    def slow_insert(conn: Connection) -> None:
        with immediate(conn):
            conn.execute("CREATE TABLE t (v INTEGER)")
            started.set()
            release.wait(30)
            conn.execute("INSERT INTO t VALUES (1)")

    async def caller(runner: PgRunner) -> None:
        with anyio.CancelScope() as scope:  # as a request's scope is, when its client goes
            scopes.append(scope)
            try:
                await runner.write(slow_insert)
            finally:
                ended.append(True)

    runner = await PgRunner.open(postgres_url, size=2, timeout=10)
    try:
        task = asyncio.create_task(caller(runner))
        await asyncio.to_thread(started.wait, 30)
        scopes[0].cancel()
        for _ in range(5):  # turns of the loop in which an unshielded await would end
            await asyncio.sleep(0)
        assert not ended  # the caller has not moved on mid-transaction
        release.set()
        await task
        assert ended
        rows = await runner.read(lambda conn: conn.execute("SELECT v FROM t").fetchall())
        assert rows == [(1,)]  # the transaction ended as it would have: committed
    finally:
        release.set()
        await runner.close()


@pytest.mark.parametrize("idle_check", [0.0, float("inf")], ids=["checked", "unchecked"])
async def test_a_write_passes_over_a_connection_the_server_ended_while_idle(
    postgres_url: str, idle_check: float
) -> None:
    runner = await PgRunner.open(postgres_url, size=1, timeout=10, idle_check=idle_check)
    try:
        await runner.write(_counter)  # the pool's one connection, used and idle now
        with connect(postgres_url) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

        def increment(conn: Connection) -> None:
            conn.execute("UPDATE counter SET n = n + 1")

        if idle_check == 0:  # checked before the write: a new connection takes it
            await runner.write(increment)
            n = await runner.read(lambda conn: conn.execute("SELECT n FROM counter").fetchone())
            assert n == (1,)
        else:  # the mechanism the check avoids: the write meets the dead connection
            with pytest.raises(psycopg.OperationalError):
                await runner.write(increment)
    finally:
        await runner.close()
