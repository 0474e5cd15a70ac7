"""A ledger file the admin commands (`crosswalk compare`, `crosswalk webhooks`) use, checked
before it is opened: opening a ledger creates or upgrades its schema, so a missing file, an
empty one or any other file would be turned into a ledger by a command that promises only to
use one.

The check opens the file read-only (SQLite's `mode=ro`): it can write nothing, even to a file
that is not a ledger at all.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from gateway.store.sqlite.schema import SCHEMA_VERSION

TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"


class NoLedger(Exception):
    """There is no ledger of this crosswalk where the config says: nothing is read, and none
    is made."""


def require_ledger(path: str) -> None:
    """Return if `path` is a ledger this crosswalk can read without changing it; else raise
    NoLedger saying, in one line, what is there instead. A newer ledger passes: opening it
    refuses it clearly (upgrade crosswalk)."""
    file = Path(path)
    if not file.is_file():
        raise NoLedger(f"no ledger at {path} (the gateway makes it when it first starts)")
    version = _version(file)
    if version is None:
        raise NoLedger(f"{path} is not a crosswalk ledger; nothing was read or written")
    if version < SCHEMA_VERSION:
        raise NoLedger(
            f"the ledger at {path} has schema version {version}, older than this crosswalk's "
            f"{SCHEMA_VERSION}: start the gateway once to upgrade it"
        )


def _version(file: Path) -> int | None:
    """The ledger's schema version, None when the file is not a ledger (empty, another
    database, not a database)."""
    uri = f"{file.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        try:
            table = conn.execute(TABLE).fetchone()
        except sqlite3.OperationalError:  # locked, unreadable: the caller says it cannot read
            raise
        except sqlite3.DatabaseError:  # "file is not a database"
            return None
        if table is None:  # empty, or another application's database
            return None
        version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return version if isinstance(version, int) and version > 0 else None
