"""`crosswalk serve --workers 2`: `/metrics` adds up every worker's samples, whichever worker
answers the scrape; a killed worker's counts stay and its live gauges go; the samples'
directory is private to the server and removed when it stops.

Real processes: this is a test about processes. Requests go to loopback only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway import metrics
from gateway.metrics import MULTIPROCESS_ENV
from tests.harness import free_port, wait_until
from tests.processes import PROC, needs_proc
from tests.test_metrics import sample

UNKNOWN = {"surface": "none", "backend": "none", "status": "404"}
MAX_REQUESTS = 400  # the kernel spreads new connections over both workers well before this


def workers(pid: int) -> set[int]:
    """The live worker processes of the server `pid` (not its resource tracker; a zombie
    has no command line)."""
    found = set()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.add(int(entry.name))
    return found


def samples_dir(worker: int) -> Path:
    """The metrics directory a worker was started with (its environment)."""
    environ = (PROC / str(worker) / "environ").read_bytes().split(b"\0")
    prefix = MULTIPROCESS_ENV.encode() + b"="
    [value] = [item[len(prefix) :] for item in environ if item.startswith(prefix)]
    return Path(value.decode())


def counting(directory: Path) -> set[int]:
    """The pids of the workers that have counted a request."""
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("counter_*.db")}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        '[backends.local]\nkind = "local"\n[routing]\ndefault = "local"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "crosswalk.db"}"\n'
    )
    port = free_port()
    command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
    command += ["--port", str(port), "--workers", "2"]
    env = {k: v for k, v in os.environ.items() if k != MULTIPROCESS_ENV}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), timeout=60)
        yield process, url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _fresh_connection_get(url: str) -> int:
    # one connection per request, so the kernel may hand each to either worker
    return httpx.get(url, headers={"connection": "close"}).status_code


@needs_proc
def test_metrics_add_up_both_workers(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = server
    wait_until(lambda: len(workers(process.pid)) == 2, timeout=30)
    first, second = sorted(workers(process.pid))
    directory = samples_dir(first)
    assert directory == samples_dir(second)
    made = 0
    while len(counting(directory)) < 2 and made < MAX_REQUESTS:
        assert _fresh_connection_get(f"{url}/nowhere") == 404
        made += 1
    assert len(counting(directory)) == 2, "one worker served every request"
    text = httpx.get(f"{url}/metrics").text
    assert sample(text, "crosswalk_requests_total", **UNKNOWN) == made

    # a worker killed outright: what it counted stays counted, its live gauges go
    killed = first
    os.kill(killed, signal.SIGKILL)
    # gone as the scrape judges it: dead or a zombie (a process still exiting has already
    # dropped its command line, and is not dead yet)
    wait_until(lambda: killed not in workers(process.pid) and not metrics._alive(killed))
    assert list(directory.glob(f"gauge_live*_{killed}.db"))
    text = httpx.get(f"{url}/metrics").text
    assert sample(text, "crosswalk_requests_total", **UNKNOWN) == made
    assert not list(directory.glob(f"gauge_live*_{killed}.db"))

    process.terminate()
    assert process.wait(timeout=30) == 0
    assert not directory.exists()  # private to the server: removed with it
