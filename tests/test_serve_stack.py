"""The serving stack answers without waiting on the client's delayed ACK: every connection gets
TCP_NODELAY, on every `[server]` loop and parser, whatever socket it was accepted from.

uvicorn writes a response's head and body separately; without TCP_NODELAY the body waits
for the ACK of the head, which the client delays by about 40 ms, so each keep-alive request
takes 40 ms. asyncio sets the option only on sockets accepted from a listener whose `proto`
is IPPROTO_TCP; a listener handed over by a parent or a supervisor may say 0.
"""

from __future__ import annotations

import http.client
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import ServerConfig
from gateway.serving import uvicorn_options
from tests.harness import local_settings, wait_until
from tests.serve_process import ServeProcess

REQUESTS = 30
DELAYED_ACK_MS = 40.0  # Linux's minimum delayed ACK
FAR_BELOW_MS = 15.0  # a busy 2-core machine answers a 404 in a few ms
SHUTDOWN_TIMEOUT = 20


def _latencies_ms(port: int) -> list[float]:
    """`REQUESTS` sequential requests on one keep-alive connection, each one's milliseconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        found = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            connection.request("GET", "/v1/nothing", headers={"authorization": "Bearer k"})
            answer = connection.getresponse()
            answer.read()
            found.append((time.perf_counter() - started) * 1000)
            assert answer.status == 404  # the gateway's own, in Retab's shape
            assert answer.getheader("connection") != "close"  # still the same connection
        return found
    finally:
        connection.close()


def _assert_no_delayed_ack(latencies: list[float]) -> None:
    fastest, median = min(latencies), statistics.median(latencies)
    assert fastest < FAR_BELOW_MS, latencies
    assert median < FAR_BELOW_MS < DELAYED_ACK_MS, latencies


def _config(tmp_path: Path) -> str:
    path = tmp_path / "crosswalk.toml"
    path.write_text(
        f'[backends.local]\nkind = "local"\n\n[store]\nurl = "sqlite:///{tmp_path}/c.db"\n\n'
        f"[server]\nshutdown_timeout = {SHUTDOWN_TIMEOUT}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_keep_alive_requests_never_wait_for_a_delayed_ack(tmp_path: Path, workers: int) -> None:
    args = ("--config", _config(tmp_path), "--port", "0", "--workers", str(workers))
    with ServeProcess(tmp_path, *args) as served:
        port = int(served.started_event()["listening"].rsplit(":", 1)[1])
        _assert_no_delayed_ack(_latencies_ms(port))
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0


@contextmanager
def _served_on(sock: socket.socket, server: ServerConfig, tmp_path: Path) -> Iterator[None]:
    """The gateway served by uvicorn, as `crosswalk serve` configures it, on `sock`."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        create_app(local_settings(tmp_path)),
        **uvicorn_options(host, port, server=server),
        lifespan="on",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: running.started or not thread.is_alive())
        assert running.started
        yield
    finally:
        running.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)


Loop = Literal["uvloop", "asyncio"]
Parser = Literal["httptools", "h11"]
STACKS: list[tuple[Loop, Parser]] = [
    ("uvloop", "httptools"),
    ("asyncio", "httptools"),
    ("asyncio", "h11"),
]


@pytest.mark.parametrize(("loop", "http"), STACKS)
def test_a_listener_handed_over_without_its_protocol_still_gets_nodelay_connections(
    tmp_path: Path, loop: Loop, http: Parser
) -> None:
    # as `socket.fromfd` or a supervisor's socket can be: TCP, but `proto` 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    with sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert sock.proto == 0
        with _served_on(sock, ServerConfig(loop=loop, http=http), tmp_path):
            _assert_no_delayed_ack(_latencies_ms(sock.getsockname()[1]))
