"""One replay at a time on a ledger: two at once would both find a document's side unsent and
both send it, billing twice and leaving a run no side links to. The replay holds an
exclusive `flock` on `<ledger>-replay-lock` for its whole life; the kernel drops it when the
process ends, however it ends, so a killed replay never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.config import Settings
from gateway.replay.inputs import ReplayError
from gateway.replay.kept_out import lock_path


@contextmanager
def replay_lock(settings: Settings) -> Iterator[None]:
    """Held while the body runs; raises ReplayError if another replay holds it, OSError if
    the lock file cannot be made (the ledger's folder is missing or read-only)."""
    path = lock_path(settings)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReplayError(
                f"another replay is using the ledger {settings.store_path}: run this one once"
                " it has ended"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
