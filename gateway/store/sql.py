"""What the ledger's SQL needs of a database connection, so one set of statements serves
SQLite (`gateway/store/sqlite/`) and PostgreSQL (`gateway/store/postgres/`).

Every job in `gateway/store/sqlite/*.py` is a plain function of a `Connection`: it runs its
statements with `?` placeholders, opens its write transaction with `immediate(conn)` and its
read transaction with `snapshot(conn)`, and treats a refused constraint as `CONSTRAINT_ERRORS`.
A `sqlite3.Connection` is a `Connection` as it is; PostgreSQL's adapter
(`gateway.store.postgres.connection.PgConnection`) translates placeholders, runs write
transactions SERIALIZABLE (its runner retries a job whose transaction lost a race), and
raises `IntegrityError` for a refused constraint. `LedgerRunner` is what a ledger runs its
jobs on: `gateway.store.sqlite.threads.LedgerThreads` or the PostgreSQL pool's runner.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class IntegrityError(Exception):
    """A constraint (unique, foreign key, check) refused a write, on a store that is not
    SQLite (SQLite raises its own `sqlite3.IntegrityError`)."""


CONSTRAINT_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, IntegrityError)


class Cursor(Protocol):
    """The part of a DB-API cursor the ledger's SQL uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the ledger's SQL uses: statements with `?`
    placeholders, rows as tuples."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class ManagedConnection(Connection, Protocol):
    """A connection that opens its own transactions (every store but SQLite)."""

    def immediate(self) -> AbstractContextManager[None]:
        """A write transaction whose reads cannot go stale before its writes."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction whose statements all see one state of the database."""
        ...

    @property
    def skip_locked(self) -> str:
        """The clause that makes a claiming SELECT lock the rows it returns and pass over
        rows another transaction holds ("FOR UPDATE SKIP LOCKED")."""
        ...


def immediate(conn: Connection) -> AbstractContextManager[Any]:
    """A write transaction on `conn` whose reads cannot go stale before its writes: SQLite's
    `BEGIN IMMEDIATE`, a SERIALIZABLE transaction elsewhere."""
    if isinstance(conn, sqlite3.Connection):
        from gateway.store.sqlite.schema import immediate as sqlite_immediate

        return sqlite_immediate(conn)
    return _managed(conn).immediate()


def snapshot(conn: Connection) -> AbstractContextManager[Any]:
    """A read transaction on `conn`: every statement in it sees one state of the database."""
    if isinstance(conn, sqlite3.Connection):
        from gateway.store.sqlite.schema import snapshot as sqlite_snapshot

        return sqlite_snapshot(conn)
    return _managed(conn).snapshot()


def skip_locked(conn: Connection) -> str:
    """The clause a claiming SELECT ends with: nothing on SQLite (its write transactions
    already hold the whole file), "FOR UPDATE SKIP LOCKED" elsewhere."""
    if isinstance(conn, sqlite3.Connection):
        return ""
    return " " + _managed(conn).skip_locked


def _managed(conn: Connection) -> ManagedConnection:
    if not all(hasattr(conn, name) for name in ("immediate", "snapshot", "skip_locked")):
        raise TypeError(f"{type(conn).__name__} cannot open the ledger's transactions")
    return conn  # type: ignore[return-value]


Job = Callable[Concatenate[Connection, P], T]


class LedgerRunner(Protocol):
    """Where a ledger's jobs run, each a function of a `Connection`."""

    async def write(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(conn, ...)` on a writing connection; it opens its own `immediate` transaction
        (a single statement needs none)."""
        ...

    async def read(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(conn, ...)` inside one `snapshot` transaction."""
        ...

    async def read_point(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`job(conn, ...)`, a read of a few rows by key (no scan): like `read`, but a store
        that can answer it without blocking (SQLite, from its page cache) may run it on the
        caller's thread instead of hopping to another (issue 14's hot path)."""
        ...

    async def close(self) -> None:
        """Let the jobs already asked for finish, then close every connection."""
        ...
