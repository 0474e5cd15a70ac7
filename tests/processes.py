"""The extractor processes a test's gateways started, read from /proc (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.backends.local.extract_process import MODULE

PROC = Path("/proc")
needs_proc = pytest.mark.skipif(
    not (PROC / "self" / "stat").exists(), reason="finds child processes in /proc"
)


def extractor_pids() -> set[int]:
    """Running extractor processes whose parent is this test process (a zombie has no
    command line, so it is not listed: `gone` tells whether one was reaped)."""
    found = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        # the command name in parentheses may hold spaces; the parent's pid follows the state
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and MODULE.encode() in command:
            found.add(int(entry.name))
    return found


def gone(pid: int) -> bool:
    """Whether `pid` no longer exists: ended and reaped, not a zombie waiting for its parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
