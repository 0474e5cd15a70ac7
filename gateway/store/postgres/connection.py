"""`PgConnection`: a psycopg 3 connection as the `gateway.store.sql.Connection` the ledger's
jobs are written against.

The jobs are synchronous functions shared with SQLite, so PostgreSQL runs them on psycopg's
*synchronous* connections, each on a worker thread of `runner.PgRunner` as SQLite's run on
its own threads. The connection is in autocommit mode, so a lone statement commits by
itself, as it does on SQLite with `isolation_level=None`; `immediate()` opens a SERIALIZABLE
transaction, which gives the jobs the atomicity SQLite's `BEGIN IMMEDIATE` does (a
transaction that lost a race fails to commit instead of blocking up front: the runner runs
its job again), and `snapshot()` a read-only REPEATABLE READ one, which sees one state of the
database throughout, like a SQLite read transaction. Strings are kept with their NULs
escaped (nul.py): PostgreSQL's TEXT cannot hold one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from gateway.store.postgres import nul
from gateway.store.sql import IntegrityError

SERIALIZABLE = "BEGIN ISOLATION LEVEL SERIALIZABLE"
SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """`sql` with SQLite's `?` placeholders as psycopg's `%s`, and a literal `%` doubled so
    psycopg does not read it as one. The ledger's SQL never puts a `?` inside a quoted
    literal (it is checked here rather than parsed around: the assertion says so at once)."""
    literals = sql.split("'")[1::2]  # between quotes: '' inside a literal splits it harmlessly
    assert not any("?" in text for text in literals), f"a '?' inside a literal: {sql}"
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A `ManagedConnection` over one psycopg connection in autocommit mode."""

    skip_locked = "FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn
        self._after_commit: list[Callable[[], None]] = []
        # whether a statement that commits (a COMMIT, or a lone statement in autocommit)
        # was sent: until then a connection breaking loses nothing, and the job may run again
        self.committing = False

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run `effect` once the open transaction commits, never if it rolls back (the
        runner then runs the job again, which asks again); at once outside one."""
        if self.raw.info.transaction_status in _OPEN:
            self._after_commit.append(effect)
        else:
            effect()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        # always with parameters, even none: psycopg reads `%%` as `%` only when given some
        self._commits_alone()
        cursor = self.raw.cursor(row_factory=nul.rows)
        try:
            return cursor.execute(translate(sql), tuple(map(nul.stored, parameters)))
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        self._commits_alone()
        cursor = self.raw.cursor(row_factory=nul.rows)
        try:
            rows = [tuple(map(nul.stored, row)) for row in parameters]
            cursor.executemany(translate(sql), rows)
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return cursor

    def _commits_alone(self) -> None:
        if self.raw.info.transaction_status not in _OPEN:
            self.committing = True

    @contextmanager
    def immediate(self) -> Iterator[None]:
        """A SERIALIZABLE write transaction: if another transaction changed what this one
        read, one of them fails (a `SerializationFailure`, here or at COMMIT) and the runner
        runs its job again, so no update is lost."""
        with self._transaction(SERIALIZABLE):
            yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read-only transaction whose statements all see one state of the database."""
        with self._transaction(SNAPSHOT):
            yield

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self.raw.execute(begin)
        try:
            yield
            self.committing = True
            self.raw.execute("COMMIT")
        except BaseException:
            self._after_commit.clear()
            if self.raw.info.transaction_status in _OPEN:  # not after a failed COMMIT
                # a connection that broke cannot roll back: the error that broke it is raised
                with suppress(psycopg.OperationalError):
                    self.raw.execute("ROLLBACK")
            raise
        effects, self._after_commit = self._after_commit, []
        for effect in effects:
            effect()
