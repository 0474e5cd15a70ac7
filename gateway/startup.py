"""What `crosswalk serve` checks before it serves, and the line it logs once it does.

The ledger's place is checked before anything is written (`check_store`, also run by
`check-config`), then opened once (`probe_store`) so that a file that is not a ledger is one
clear line instead of a traceback in every worker process.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from gateway.config import ConfigError, Settings
from gateway.store.base import LedgerError
from gateway.store.opening import STORE_ERRORS, open_ledger, reach_store
from mappings.dialects import DIALECTS


class StartupError(Exception):
    """The gateway cannot start; the message says why, in one line."""


def version() -> str:
    """crosswalk's version, as installed."""
    try:
        return metadata.version("crosswalk")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def check_store(settings: Settings) -> None:
    """Refuse a `[store] url` whose ledger could not be created or written: a SQLite file's
    directory missing or read-only, or a directory in the file's place; a PostgreSQL server
    that cannot be reached or refuses the credentials (StartupError, the password hidden)."""
    if settings.store_url is not None:
        try:
            reach_store(settings)
        except LedgerError as exc:
            raise StartupError(str(exc)) from None
        return
    path = Path(settings.store_path)
    directory = path.parent
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        where = "" if directory.is_absolute() else f" (relative to {Path.cwd()})"
        raise ConfigError(f"store.url: the ledger's directory {directory} {what}{where}")
    if path.is_dir():
        raise ConfigError(f"store.url: {path} is a directory, not a ledger file")
    # SQLite writes its journal (-wal, -shm) beside the file, so the directory must be writable
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"store.url: the ledger's directory {directory} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"store.url: the ledger {path} is not readable and writable")


async def probe_store(settings: Settings) -> None:
    """Open (creating or upgrading) the ledger once and close it: a file that is not a
    ledger, a database that cannot be reached or migrated, or a newer ledger's schema, stops
    start-up here."""
    try:
        ledger = await open_ledger(settings)
        await ledger.close()
    except STORE_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if settings.store_url is not None:  # PostgresLedger's errors name the database
            raise StartupError(reason) from None
        raise StartupError(
            f"the ledger at {settings.store_path} cannot be opened: {reason}"
        ) from None


def routing_summary(settings: Settings) -> str:
    """Where each surface's new runs go, on one line: `retab -> local, extend -> local`,
    then the split, fallback and shadow backends when configured."""
    parts = []
    for surface in DIALECTS:
        if surface not in settings.surface_backends and settings.split:
            weights = ", ".join(f"{n}={w}" for n, w in sorted(settings.split.items()))
            parts.append(f"{surface} -> split({weights})")
        else:
            parts.append(f"{surface} -> {settings.backend_for(surface)}")
    if settings.fallback:
        parts.append(f"fallback {'/'.join(settings.fallback)}")
    if settings.shadow:
        parts.append(f"shadow {'/'.join(settings.shadow)}")
    return ", ".join(parts)


def started_fields(
    settings: Settings, *, url: str, log_format: str, workers: int
) -> dict[str, str | int]:
    """The fields of the `crosswalk.started` line, in the order a person reads them."""
    backends = ", ".join(f"{n} ({b.kind})" for n, b in sorted(settings.backends.items()))
    return {
        "version": version(),
        "listening": url,
        "backends": backends,
        "routing": routing_summary(settings),
        "store": settings.store_shown,
        "log_format": log_format,
        "workers": workers,
    }
