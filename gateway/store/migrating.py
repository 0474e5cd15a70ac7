"""Bringing a ledger's schema up to date, the same way on SQLite and PostgreSQL: each store
reads its `schema_version` inside its own migrating transaction (SQLite's `BEGIN IMMEDIATE`,
PostgreSQL's advisory lock), then `bring_up_to_date` refuses a newer schema or applies the
migrations it lacks and records the version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gateway.store.base import LedgerError


class _Executes(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def bring_up_to_date(
    conn: _Executes, version: int, migrations: Sequence[Sequence[str]], *, placeholder: str
) -> None:
    """Apply `migrations[version:]` on `conn`, inside the caller's transaction, and record
    the latest version (`placeholder` is the driver's parameter mark); LedgerError if the
    schema is newer than this crosswalk knows."""
    known = len(migrations)
    if version > known:
        raise LedgerError(
            f"the ledger's schema is version {version}; this crosswalk knows up to "
            f"{known}: upgrade crosswalk"
        )
    for statements in migrations[version:]:
        for statement in statements:
            conn.execute(statement)
    if version < known:
        conn.execute("DELETE FROM schema_version")
        conn.execute(f"INSERT INTO schema_version (version) VALUES ({placeholder})", (known,))
