"""`PgRunner`: runs the ledger's jobs on a pool of PostgreSQL connections, each job on a
worker thread of its own.

The jobs are synchronous functions of a connection, shared with SQLite (which runs them on
its own threads, gateway/store/sqlite/threads.py), so they run here on psycopg's synchronous
connections from a `psycopg_pool.ConnectionPool`, one thread per connection: a job never
waits for a connection its thread could not get. A write's SERIALIZABLE transaction that lost
a race with another replica's (a serialization failure, or a deadlock) is rolled back whole,
so the runner runs the whole job again after a short random pause; its reads are then
fresh. A connection that broke mid-job is discarded by the pool when the job gives it back.
Connections are not checked before each job (that would cost every job a round trip), only
before one idle for a while (the server may have restarted meanwhile); one found broken is
discarded, and a read that found it so runs again on another. A write that fails on a
connection broken under it fails: its COMMIT may have landed before the connection broke.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

import anyio
import psycopg
from psycopg_pool import ConnectionPool

from gateway.store.postgres.connection import PgConnection
from gateway.store.sql import Job

P = ParamSpec("P")
T = TypeVar("T")

MAX_TRIES = 30  # a job whose transaction loses this many races in a row gives up
_BACKOFF_START, _BACKOFF_MAX = 0.002, 0.25  # seconds: doubles each try, jittered
CHECKOUT_TIMEOUT = 30.0  # seconds a job waits for a connection (only if the server is slow)
IDLE_CHECK = 1.0  # seconds: a connection idle longer is checked before a write runs on it
_RACES = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


class _Uncommitted(psycopg.OperationalError):
    """The connection broke under a job before it sent anything that commits."""


class PgRunner:
    """A `LedgerRunner` over `pool`, with as many threads as the pool has connections."""

    def __init__(self, pool: ConnectionPool[Any], *, idle_check: float = IDLE_CHECK) -> None:
        self._pool = pool
        self._threads = ThreadPoolExecutor(pool.max_size, thread_name_prefix="ledger-pg")
        self._closed = False
        self._idle_check = idle_check
        self._used: WeakKeyDictionary[psycopg.Connection[Any], float] = WeakKeyDictionary()

    @classmethod
    async def open(
        cls, url: str, *, size: int, timeout: float, idle_check: float = IDLE_CHECK
    ) -> PgRunner:
        """A runner over up to `size` connections to `url`: one opened now (a PoolTimeout
        after `timeout` seconds without one), the rest as jobs need them."""
        pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True},
            open=False,
            name="crosswalk-ledger",
        )
        try:
            await anyio.to_thread.run_sync(lambda: pool.open(wait=True, timeout=timeout))
        except BaseException:
            await anyio.to_thread.run_sync(pool.close)
            raise
        return cls(pool, idle_check=idle_check)

    async def write(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(conn, ...)`, run again whole while its transaction loses a race."""

        def bound(conn: PgConnection) -> T:
            return job(conn, *args, **kwargs)

        return await _settle(self._threads.submit(self._retried, bound))

    async def read(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(conn, ...)` in one read-only snapshot transaction."""

        def in_snapshot(conn: PgConnection) -> T:
            with conn.snapshot():
                return job(conn, *args, **kwargs)

        return await _settle(self._threads.submit(self._read, in_snapshot))

    async def read_point(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """As `read`: every read here is a round trip to the server, none can be answered
        on the caller's thread."""
        return await self.read(job, *args, **kwargs)

    async def close(self) -> None:
        """Let the jobs already asked for finish, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        self._threads.shutdown(wait=True)
        self._pool.close()

    def _retried(self, job: Callable[[PgConnection], T]) -> T:
        broken = 0
        for attempt in range(1, MAX_TRIES + 1):
            try:
                return self._on_a_connection(job)
            except _Uncommitted as exc:
                # every pooled connection may have broken at once (the server restarted)
                broken += 1
                if broken > self._pool.max_size or attempt == MAX_TRIES:
                    raise exc.__cause__ or exc from None
            except _RACES:
                if attempt == MAX_TRIES:
                    raise
                time.sleep(random.uniform(0, min(_BACKOFF_MAX, _BACKOFF_START * 2**attempt)))
        raise AssertionError("unreachable")  # the last try returned or raised

    def _read(self, job: Callable[[PgConnection], T]) -> T:
        """`job` on a pooled connection, again on another while the one it got turns out
        broken (the server restarted, or ended it, while it was idle): a read changes
        nothing, so it is safe to run twice, unlike a write whose COMMIT may have landed."""
        for _ in range(self._pool.max_size):
            with self._pool.connection(timeout=CHECKOUT_TIMEOUT) as raw:
                try:
                    return self._run(job, raw)
                except psycopg.OperationalError:
                    if not raw.broken:
                        raise
        return self._on_a_connection(job)  # every idle one was broken: this one is new

    def _on_a_connection(self, job: Callable[[PgConnection], T]) -> T:
        """`job` on a pooled connection. One idle for over `idle_check` seconds is checked
        first (a round trip only then), and passed over if it broke meanwhile: a write that
        failed on it could not tell whether its COMMIT landed, so could not run again."""
        for _ in range(self._pool.max_size):
            with self._pool.connection(timeout=CHECKOUT_TIMEOUT) as raw:
                if self._usable(raw):
                    return self._run(job, raw)
        with self._pool.connection(timeout=CHECKOUT_TIMEOUT) as raw:  # a new one, unchecked
            return self._run(job, raw)

    def _run(self, job: Callable[[PgConnection], T], raw: psycopg.Connection[Any]) -> T:
        conn = PgConnection(raw)
        try:
            return job(conn)
        except psycopg.OperationalError as exc:
            if raw.broken and not conn.committing:
                raise _Uncommitted(str(exc)) from exc
            raise
        finally:
            self._used[raw] = time.monotonic()

    def _usable(self, raw: psycopg.Connection[Any]) -> bool:
        """Whether `raw` still works: used lately, or answering now (if not, given back
        broken, the pool discards it)."""
        if time.monotonic() - self._used.get(raw, 0.0) <= self._idle_check:
            return True
        try:
            raw.execute("SELECT 1")
        except psycopg.OperationalError:
            if raw.broken:
                return False
            raise
        self._used[raw] = time.monotonic()
        return True


async def _settle(future: Future[T]) -> T:
    """The job's result. A caller cancelled meanwhile still waits for it (not abandoned: a
    transaction always ends before the caller moves on), then sees the cancellation."""
    with anyio.CancelScope(shield=True):
        result = await asyncio.wrap_future(future)
    return result
