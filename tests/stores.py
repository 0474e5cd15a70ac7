"""The store suites over both stores (issue 15): every test taking `store`, `open_ledger` or
`ledger` from here runs once on SQLite (a file in the test's temp dir) and once on a real
PostgreSQL (a fresh database of its own on the session's server, tests/postgres.py).

`open_ledger(...)` opens a ledger on the test's store, and calling it again opens another
handle on the SAME store (two workers racing for claims, a ledger reopened); every handle
still open at the end is closed (closing twice is harmless). `store.execute(sql, params)` runs
one statement on a connection of its own, with `?` placeholders on both stores, for the tests
that read or damage rows behind the ledger's back.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import psycopg
import pytest

from gateway.clock import Clock, system_clock
from gateway.store import SqliteLedger
from gateway.store.sql_ledger import SqlLedger
from tests.postgres import PostgresServer

Kind = Literal["sqlite", "postgres"]
KINDS: tuple[Kind, ...] = ("sqlite", "postgres")
# the ledger type the suites annotate with: every store's ledger is a SqlLedger
AnyLedger = SqlLedger


def _nothing() -> None:
    return None


@dataclass
class Store:
    """The store a test runs on: where it is, how to open ledgers on it, and a raw door."""

    kind: Kind
    location: str  # the SQLite file's path, or the PostgreSQL database's URL
    opened: list[AnyLedger] = field(default_factory=list)

    async def open(
        self,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = _nothing,
        on_event: Callable[[], None] = _nothing,
        on_batch: Callable[[], None] = _nothing,
    ) -> AnyLedger:
        """A new ledger handle on this store (the first one creates its schema)."""
        hooks = {"on_enqueue": on_enqueue, "on_event": on_event, "on_batch": on_batch}
        if self.kind == "sqlite":
            ledger: AnyLedger = await SqliteLedger.open(self.location, clock=clock, **hooks)
        else:
            ledger = await _open_postgres(self.location, clock=clock, **hooks)
        self.opened.append(ledger)
        return ledger

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """`statement` (with `?` placeholders) on a connection of its own, committed; the rows
        it returned, if any."""
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.location)) as lite, lite:
                return lite.execute(statement, params).fetchall()
        with psycopg.connect(self.location) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description is not None else []


async def _open_postgres(url: str, **options: Any) -> AnyLedger:
    from gateway.store.postgres.ledger import PostgresLedger

    ledger: AnyLedger = await PostgresLedger.open(url, **options)
    return ledger


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """The test's own empty store, SQLite or PostgreSQL."""
    kind: Kind = request.param
    if kind == "sqlite":
        location = str(tmp_path / "ledger.db")
    else:
        location = request.getfixturevalue("postgres_url")
    return Store(kind, location)


@dataclass
class FreshStores:
    """Empty stores made on demand, for a Hypothesis test wanting one per example (function
    fixtures are made once per test, not per example)."""

    request: pytest.FixtureRequest
    folder: Path
    _made: Iterator[int] = field(default_factory=lambda: itertools.count())

    @asynccontextmanager
    async def new(self, kind: Kind) -> AsyncIterator[Store]:
        """An empty store of `kind`, removed (its ledgers closed) on leaving."""
        if kind == "sqlite":
            store = Store(kind, str(self.folder / f"ledger-{next(self._made)}.db"))
        else:
            server: PostgresServer = self.request.getfixturevalue("postgres_server")
            name = server.create_database()
            store = Store(kind, server.url(name))
        try:
            yield store
        finally:
            for ledger in reversed(store.opened):
                await ledger.close()
            if kind == "sqlite":
                for path in self.folder.glob(Path(store.location).name + "*"):
                    path.unlink()
            else:
                server.drop_database(name)


@pytest.fixture(scope="session")
def fresh_stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> FreshStores:
    return FreshStores(request, tmp_path_factory.mktemp("fresh-stores"))


class OpenLedger(Protocol):
    """`open_ledger`: a new ledger handle on the test's store."""

    async def __call__(
        self,
        *,
        clock: Clock = ...,
        on_enqueue: Callable[[], None] = ...,
        on_event: Callable[[], None] = ...,
        on_batch: Callable[[], None] = ...,
    ) -> AnyLedger: ...


@pytest.fixture
async def open_ledger(store: Store) -> AsyncIterator[OpenLedger]:
    """Opens a ledger handle on the test's store (again: another handle on the same store);
    all still open are closed after the test."""
    try:
        yield store.open
    finally:
        for ledger in reversed(store.opened):
            await ledger.close()


@pytest.fixture
async def ledger(open_ledger: OpenLedger) -> AnyLedger:
    """A ledger on the test's own empty store."""
    return await open_ledger()
