"""Opening the file store for an app's lifetime: its directory, its signing secret, and a
sweep of uploads a dead process left half-written."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import structlog

from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.files.signing import LinkSigner, load_or_create_secret
from gateway.files.store import FileStore, sweep_stale_uploads
from gateway.store.base import FileLedger

log = structlog.get_logger("crosswalk.files")


async def open_file_store(
    settings: Settings, ledger: FileLedger, *, clock: Clock = system_clock
) -> FileStore:
    """The store of `settings`' files over `ledger`, its directory made if missing."""
    directory = Path(settings.files_dir)
    await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
    if settings.files_secret is not None:
        secret = settings.files_secret.reveal().encode()
    else:
        key_path = Path(settings.files_key_path)
        secret = await anyio.to_thread.run_sync(load_or_create_secret, key_path)
    swept = await anyio.to_thread.run_sync(sweep_stale_uploads, directory)
    if swept:
        log.info("files.swept", stale_uploads=swept)
    links = LinkSigner(
        secret, public_url=settings.server.public_url, ttl=settings.files.link_ttl, clock=clock
    )
    return FileStore(
        ledger, directory, max_bytes=settings.files.max_bytes, links=links, clock=clock
    )
