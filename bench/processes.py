"""Server processes for the benchmarks: started on loopback ports, measured, always stopped.

Each server runs in a process group of its own, so stopping it (SIGTERM, then SIGKILL after
a bound) ends its workers too, and `rss_bytes` adds up the resident memory of the whole
group, as a `--workers` server's cost is its parent's and every worker's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

START_SECONDS = 60.0
STOP_SECONDS = 15.0
PAGE = os.sysconf("SC_PAGE_SIZE")


class Server:
    """A started server: its name, base URL, process and the file its output goes to."""

    def __init__(self, name: str, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.url = url
        self.process = process
        self.log = log

    def rss_bytes(self) -> int:
        """Resident memory of the server and every process it started."""
        return sum(_rss(pid) for pid in _group(self.process.pid))

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, size: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_bytes()[-size:].decode(errors="replace")
        return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@contextmanager
def started(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
) -> Iterator[Server]:
    """Run `command` (serving on loopback `port`) until the block ends; it is ready once any
    HTTP answer comes from `ready_path`."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,  # its own process group: stopped with its workers
        )
    server = Server(name, url, process, log)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        stop(server.process)


def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                raise RuntimeError(f"{server.name} exited at start:\n{server.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                client.get(path)
                return
            time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer within {START_SECONDS:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there after a bound."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_SECONDS)
    # workers outlive a parent that was killed: the group goes whatever happened
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _group(leader: int) -> list[int]:
    """The pids of the process group `leader` leads (its session: started in a new one)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ProcessLookupError):
                if os.getpgid(int(entry.name)) == leader:
                    pids.append(int(entry.name))
    return pids


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return 0
