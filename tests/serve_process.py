"""`crosswalk serve` as a real process, for tests about processes: its stderr read as it
comes, its `crosswalk.started` line awaited, and SIGTERM sent to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

START_SECONDS = 60.0  # a busy CI machine starts a gateway in a few seconds


class ServeProcess:
    """`python -m gateway serve ARGS` in `cwd`; stderr lines are kept in `lines`."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSWALK_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._started = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            if "crosswalk.started" in line:
                self._started.set()
        self._started.set()  # ended: nobody waits in vain

    def started(self) -> str:
        """Wait for the start-up line; the line itself (fails the test if it never comes)."""
        self._started.wait(START_SECONDS)
        found = [line for line in self.lines if "crosswalk.started" in line]
        assert found, f"no start-up line; stderr: {self.lines}"
        return found[0]

    def started_event(self) -> dict[str, Any]:
        """The start-up line, decoded (json log format)."""
        event: dict[str, Any] = msgspec.json.decode(self.started())
        return event

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line so far, decoded."""
        return [msgspec.json.decode(line) for line in self.lines if line.startswith("{")]

    def terminate(self, timeout: float) -> int:
        """SIGTERM, then the exit code once it has exited (within `timeout` seconds)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def finish(self, timeout: float = START_SECONDS) -> int:
        """The exit code of a process expected to end by itself; stderr read to its end."""
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(START_SECONDS)
        if self.process.stderr is not None:
            self.process.stderr.close()
