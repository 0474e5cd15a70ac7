"""A database with nothing in it, for the tests of migrating one: `postgres_url`'s databases
are cloned from the session's template, which may already hold the ledger's schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer


@pytest.fixture
def empty_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh database cloned from PostgreSQL's pristine `template0`."""
    name = postgres_server.create_database(template="template0")
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
