"""The few places the ledger's shared SQL (`gateway/store/sqlite/*.py`) is written for one
store: SQLite's planner hints, and how a name is searched for a
substring.

Everything else those jobs run is SQL SQLite 3.40+ and PostgreSQL 15 both accept. A job asks
`dialect_of(conn)` for the piece it needs:

- `indexed_by`: SQLite's `INDEXED BY`, which pins the index a listing or a claim walks;
  nothing elsewhere (PostgreSQL has no such hint; its planner picks from its statistics).
- `contains`: whether a casefolded column holds a casefolded needle. Elsewhere it is
  `LIKE` with the needle's wildcards escaped (`like_pattern`), which PostgreSQL's pg_trgm
  index serves; SQLite keeps `instr`, because its `LIKE` reads a value only up to its first
  NUL (a name holding one would match wrongly), and its FTS5 index serves the search there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from gateway.store.sql import Connection

LIKE_ESCAPE = "\\"


def like_pattern(needle: str) -> str:
    """A `LIKE ... ESCAPE '\\'` pattern matching any value that holds `needle` as it is:
    its `\\`, `%` and `_` stand for themselves."""
    escaped = needle.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    escaped = escaped.replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Dialect:
    """What differs in the ledger's SQL between SQLite (`sqlite`) and the other stores."""

    sqlite: bool

    def indexed_by(self, index: str) -> str:
        """The hint after a table's name that makes SQLite walk `index`."""
        return f" INDEXED BY {index}" if self.sqlite else ""

    def contains(self, column: str) -> str:
        """A condition, with one `?` for `needle(...)`, that `column` holds the needle."""
        if self.sqlite:
            return f"instr({column}, ?) > 0"
        return f"{column} LIKE ? ESCAPE '{LIKE_ESCAPE}'"

    def needle(self, needle: str) -> str:
        """The parameter `contains(...)` takes for `needle`."""
        return needle if self.sqlite else like_pattern(needle)


SQLITE = Dialect(sqlite=True)
OTHER = Dialect(sqlite=False)
DIALECTS = (SQLITE, OTHER)


def dialect_of(conn: Connection) -> Dialect:
    """The dialect of the store `conn` is a connection to."""
    return SQLITE if isinstance(conn, sqlite3.Connection) else OTHER
