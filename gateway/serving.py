"""Serving the gateway with uvicorn, in one process or several.

The listening socket is bound first, before anything is written, so a busy port stops
start-up cleanly; uvicorn is handed that socket (in every worker process with `--workers`).
One `crosswalk.started` line is logged once the gateway serves, by the parent alone. SIGTERM
(or Ctrl-C) stops it gracefully: no new connections, in-flight requests given
`[server] shutdown_timeout` to finish, background runs left in the ledger for the next start;
then the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from gateway.app import create_app
from gateway.config import ServerConfig, Settings
from gateway.http_protocol import CrosswalkH11Protocol, CrosswalkHttpToolsProtocol
from gateway.logging import LogFormat, flush, write_in_background
from gateway.startup import StartupError

log = structlog.get_logger("crosswalk.serve")

# seconds a worker process may take to start serving: its ledger recovery, its extraction pools
WORKER_START_SECONDS = 300.0
# once in-flight requests are done or cut off, the app's own shutdown (its background loops,
# its pools) gets this long before the process is ended regardless
SHUTDOWN_GRACE_SECONDS = 10.0
BACKLOG = 2048  # uvicorn's default


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """What each worker process needs to build the same gateway as its parent."""

    config: str | None  # the config file's absolute path; None: the embedded default
    log_format: LogFormat
    public_url: str


PROTOCOLS: dict[str, type[asyncio.Protocol]] = {
    "httptools": CrosswalkHttpToolsProtocol,
    "h11": CrosswalkH11Protocol,
}


def uvicorn_options(host: str, port: int, server: ServerConfig | None = None) -> dict[str, Any]:
    """How uvicorn serves the gateway: on `[server]`'s loop and parser (uvloop and httptools
    unless chosen otherwise), TCP_NODELAY on every connection, requests logged by crosswalk
    itself (one summary line each) and even uvicorn's own 400s answered with a request id."""
    server = server or ServerConfig()
    return {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        "loop": server.loop,
        "http": PROTOCOLS[server.http],
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: any free port), or a StartupError saying
    why not; connections wait in its backlog until the gateway has started."""
    # as uvicorn reads --host: IPv6 only when the address is one (`localhost` is 127.0.0.1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # listening at once: two gateways binding one port cannot both get this far
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def listening_url(sock: socket.socket) -> str:
    """The address `sock` listens on, as a URL."""
    host, port = sock.getsockname()[:2]
    return f"http://{_url_host(host)}:{port}"


def links_url(sock: socket.socket) -> str:
    """Where clients on this machine reach the gateway served on `sock`: its address, or
    loopback when it listens on every interface."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def public_url_is_set(config: Path | None) -> bool:
    """Whether the config file states `[server] public_url` (already validated TOML)."""
    if config is None:
        return False
    server = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {})
    return isinstance(server, dict) and "public_url" in server


def with_public_url(settings: Settings, public_url: str) -> Settings:
    server = msgspec.structs.replace(settings.server, public_url=public_url)
    return msgspec.structs.replace(settings, server=server)


def serve_one(settings: Settings, sock: socket.socket, on_started: Callable[[], None]) -> int:
    """Serve in this process until SIGTERM or Ctrl-C; 0 after a graceful stop, 1 when the
    app could not start. Log lines are written off the event loop, all of them before this
    returns."""
    write_in_background()
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        create_app(settings),
        **uvicorn_options(host, port, server=settings.server),
        timeout_graceful_shutdown=math.ceil(settings.server.shutdown_timeout),
        lifespan="on",
    )
    server = GracefulServer(config, on_started=on_started)
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's own exit when the app's start-up failed (logged by it)
        return 1
    finally:
        flush()
    return 0 if server.started else 1


def serve_many(
    factory: str,
    settings: Settings,
    sock: socket.socket,
    workers: int,
    on_started: Callable[[], None],
) -> int:
    """Serve in `workers` processes sharing `sock`, each building its app with `factory`
    (`module:function`); 0 after a graceful stop, 1 when one could not start."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        factory,
        factory=True,
        workers=workers,
        **uvicorn_options(host, port, server=settings.server),
        timeout_graceful_shutdown=math.ceil(settings.server.shutdown_timeout),
    )
    stop_within = settings.server.shutdown_timeout + SHUTDOWN_GRACE_SECONDS
    supervisor = Workers(config, [sock], on_started=on_started, stop_within=stop_within)
    supervisor.run()
    return 1 if supervisor.failed else 0


class GracefulServer(uvicorn.Server):
    """uvicorn's server, announcing itself once it serves, its shutdown bounded, and exiting
    normally after a signal asked it to stop."""

    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        timeout = self.config.timeout_graceful_shutdown or 0.0
        log.info(
            "crosswalk.stopping",
            open_connections=len(self.server_state.connections),
            timeout_seconds=timeout,
        )
        # uvicorn bounds the wait for in-flight requests; this bounds the whole of it
        watchdog = threading.Timer(timeout + SHUTDOWN_GRACE_SECONDS, _stop_now)
        watchdog.daemon = True
        watchdog.start()
        try:
            await super().shutdown(sockets=sockets)
        finally:
            watchdog.cancel()
        log.info("crosswalk.stopped")

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """As uvicorn's, without raising the signal again once stopped: a graceful stop on
        SIGTERM is an exit 0, as process supervisors expect (uvicorn's ends by the signal)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def _stop_now() -> None:
    log.error("crosswalk.shutdown_forced", reason="the graceful shutdown took too long")
    flush()  # os._exit skips the exit handlers that would write the lines still queued
    os._exit(1)


class Workers(Multiprocess):
    """uvicorn's supervisor of worker processes, announcing the gateway once every worker
    serves, stopping (and failing) when one cannot start, and waiting a bounded time for
    them to stop."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        *,
        on_started: Callable[[], None],
        stop_within: float,
    ) -> None:
        super().__init__(config, sockets)
        self._on_started = on_started
        self._stop_within = stop_within
        self.failed = False

    def init_processes(self) -> None:
        super().init_processes()
        deadline = time.monotonic() + WORKER_START_SECONDS
        starting = list(self.processes)
        # a signal (SIGTERM) stops the wait: the supervisor's loop then handles it
        while starting and not self.signal_queue:
            for process in list(starting):
                if process.exitcode == STARTUP_FAILURE or time.monotonic() > deadline:
                    self.failed = True  # its own log says why
                    self.should_exit.set()
                    return
                # one killed meanwhile is started again by the supervisor's loop
                if process.exitcode is not None or process.is_ready(timeout=1):
                    starting.remove(process)
            if starting:
                time.sleep(0.1)
        if not starting:
            self._on_started()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        # uvicorn stops when a restarted worker cannot start: that is a failure too
        if any(process.exitcode == STARTUP_FAILURE for process in self.processes):
            self.failed = True

    def join_all(self) -> None:
        for process in self.processes:
            process.process.join(self._stop_within)
            if process.process.is_alive():
                log.error("crosswalk.worker_killed", pid=process.pid, reason="did not stop in time")
                process.kill()
                process.process.join()
