"""The ledger's own threads: one writer thread holding the file's writing connection, and a
few reader threads, each with a read-only connection of its own; and a read-only connection
for point reads, used on the caller's own thread.

Ledger calls never wait behind other work in anyio's default thread pool, and a long read
never holds up a write: under WAL, a reader's snapshot sits beside the writer's
transactions. Writes stay one at a time on one connection (SQLite serialises writers anyway);
every read runs in one `snapshot`, so the statements of a listing agree with each other.

A point read (a few rows by key, `read_point`) costs tens of microseconds from SQLite's page
cache, less than the hop to a reader thread and back (issue 14): it runs on the event loop's
thread instead, on a connection of its own that never waits for a lock (busy timeout 0). A
WAL reader meets a lock only in rare cases (a checkpoint resetting the log, recovery); then,
or when called from another thread than the first caller's, it takes the thread path.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

import anyio

from gateway.store.sqlite.schema import connect, connect_reader, snapshot

P = ParamSpec("P")
T = TypeVar("T")
Job = Callable[Concatenate[sqlite3.Connection, P], T]


class LedgerThreads:
    """Runs ledger jobs, each a function of a connection: writes on the writer thread, reads
    on a reader thread; open with `await LedgerThreads.open(path, readers=n)`."""

    def __init__(
        self,
        writes: ThreadPoolExecutor,
        writer: sqlite3.Connection,
        readers: tuple[sqlite3.Connection, ...],
        point: sqlite3.Connection,
    ) -> None:
        self._writes, self._writer = writes, writer
        self._point = point
        self._point_thread: int | None = None  # the thread of the first point read
        self._point_claim = threading.Lock()
        self._reads = ThreadPoolExecutor(len(readers), thread_name_prefix="ledger-read")
        self._readers = readers
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for reader in readers:
            self._idle.put(reader)
        self._closed = False

    @classmethod
    async def open(cls, path: str, *, readers: int) -> LedgerThreads:
        """Connect to (creating or upgrading) the ledger at `path`, with `readers` readers."""
        if readers < 1:
            raise ValueError(f"a ledger needs at least one reader, got {readers}")
        writes = ThreadPoolExecutor(1, thread_name_prefix="ledger-write")
        opened: list[sqlite3.Connection] = []
        try:
            opened.append(await _settle(writes.submit(connect, path)))
            for _ in range(readers + 1):
                opened.append(await _settle(writes.submit(connect_reader, path)))
            await _settle(writes.submit(opened[-1].execute, "PRAGMA busy_timeout = 0"))
        except BaseException:
            await _settle(writes.submit(_close_all, opened))
            writes.shutdown()
            raise
        return cls(writes, opened[0], tuple(opened[1:-1]), opened[-1])

    async def write(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(writer, ...)`, on the writer thread, after every write asked for before it."""
        return await _settle(self._writes.submit(job, self._writer, *args, **kwargs))

    async def read(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(reader, ...)` in one read transaction, on a reader thread."""

        def on_a_reader() -> T:
            conn = self._idle.get()  # never waits: as many connections as reader threads
            try:
                with snapshot(conn):
                    return job(conn, *args, **kwargs)
            finally:
                self._idle.put(conn)

        return await _settle(self._reads.submit(on_a_reader))

    async def read_point(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(reader, ...)` in one read transaction, on the caller's thread: for a read of a
        few rows by key, which SQLite answers from its page cache without waiting. Falls back
        to `read` when the file is locked (SQLITE_BUSY, rare under WAL) or when called from
        another thread than the first point read's (a connection is used by one thread)."""
        if not self._closed and self._owns_point():
            try:
                with snapshot(self._point):
                    return job(self._point, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in _LOCKED:
                    raise
        return await self.read(job, *args, **kwargs)

    def _owns_point(self) -> bool:
        """Whether this thread may use the point connection (the first to ask may)."""
        here = threading.get_ident()
        if self._point_thread is None:
            with self._point_claim:
                if self._point_thread is None:
                    self._point_thread = here
        return self._point_thread == here

    async def close(self) -> None:
        """Let the jobs already asked for finish, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await _settle(self._writes.submit(self._close_connections))
        self._writes.shutdown()  # its one thread is idle now: this only joins it

    def _close_connections(self) -> None:
        self._reads.shutdown(wait=True)
        _close_all((*self._readers, self._point, self._writer))


_LOCKED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary codes of extended ones


def _close_all(connections: Iterable[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()


async def _settle(future: Future[T]) -> T:
    """The job's result. A caller cancelled meanwhile still waits for it (not abandoned: a
    transaction always ends before the caller moves on), then sees the cancellation."""
    with anyio.CancelScope(shield=True):
        result = await asyncio.wrap_future(future)
    return result
