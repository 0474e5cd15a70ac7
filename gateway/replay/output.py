"""The replay's progress and report as best-effort output: a reader that goes away (`| head`,
a closed terminal) must not stop a replay that is spending vendor credits. On a broken pipe
the rest of the output goes to the null device, and the replay carries on and records
everything in the ledger.
"""

from __future__ import annotations

import io
import os
from typing import TextIO


class BestEffort(io.TextIOBase):
    """Writes to `stream` until it breaks, then nowhere."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._broken = False

    def write(self, text: str) -> int:
        if not self._broken:
            try:
                self._stream.write(text)
            except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self._broken:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self._break()

    def isatty(self) -> bool:
        return not self._broken and self._stream.isatty()

    def writable(self) -> bool:
        return True

    def _break(self) -> None:
        """Stop writing; point the stream's descriptor at the null device, so the
        interpreter's last flush of what the stream still buffers fails no more."""
        self._broken = True
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError):  # no descriptor (a StringIO): nothing is flushed later
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
