"""Opening the file store for an app's lifetime: its directory, its signing secret, where its
bytes are kept (`[files] storage`), and a sweep of uploads a dead process left half-written."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import structlog

from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.files.signing import LinkSigner, load_or_create_secret
from gateway.files.store import FileStore
from gateway.store.base import FileLedger
from gateway.store.sql import LedgerRunner
from gateway.store.sql_ledger import SqlLedger

log = structlog.get_logger("crosswalk.files")


async def open_file_store(
    settings: Settings, ledger: FileLedger, *, clock: Clock = system_clock
) -> FileStore:
    """The store of `settings`' files over `ledger`, its directory made if missing (unless
    nothing is kept there: bytes in the ledger, and no `[files] dir` named)."""
    directory = Path(settings.files_dir)
    if settings.files.storage == "disk" or settings.files.dir is not None:
        await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
    if settings.files_secret is not None:
        secret = settings.files_secret.reveal().encode()
    else:
        key_path = Path(settings.files_key_path)
        secret = await anyio.to_thread.run_sync(load_or_create_secret, key_path)
    links = LinkSigner(
        secret, public_url=settings.server.public_url, ttl=settings.files.link_ttl, clock=clock
    )
    store = FileStore(
        ledger,
        directory,
        max_bytes=settings.files.max_bytes,
        links=links,
        clock=clock,
        database=_database(settings, ledger),
    )
    swept = await store.sweep()
    if swept:
        log.info("files.swept", stale_uploads=swept)
    return store


def _database(settings: Settings, ledger: FileLedger) -> LedgerRunner | None:
    """The ledger's runner when files' bytes are kept in it."""
    if settings.files.storage == "disk":
        return None
    if not isinstance(ledger, SqlLedger):
        raise TypeError(f"{type(ledger).__name__} cannot keep files' bytes")
    return ledger.runner
