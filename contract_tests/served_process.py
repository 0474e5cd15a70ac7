"""`crosswalk serve` as a real subprocess, for tests that kill and restart the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.harness import free_port, wait_until


class ServerProcess:
    """One `crosswalk serve` process on a loopback port, its log written to a file."""

    def __init__(
        self, config: Path, *, log: Path, workers: int = 1, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._command = [
            sys.executable, "-m", "gateway", "serve", "--config", str(config),
            "--port", str(self.port), "--workers", str(workers),
        ]  # fmt: skip
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(self._command, stdout=log, stderr=log)
        process = self._process
        wait_until(lambda: process.poll() is not None or self._ready(), timeout=30)
        if process.poll() is not None:
            raise RuntimeError(f"crosswalk serve did not start:\n{self._log.read_text()}")
        return self

    @property
    def pid(self) -> int:
        """The server's process id (it serves in this process when `workers` is 1)."""
        assert self._process is not None
        return self._process.pid

    def _ready(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/v1/classifications", headers={"api-key": "probe"})
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def kill(self) -> None:
        """Stop at once, as a crash would: no shutdown, no cleanup."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
