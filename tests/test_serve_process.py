"""`crosswalk serve` as a real process: its one start-up line, in either log format and with
several workers, Extend's dashboardUrl on the port it serves, and a graceful SIGTERM that lets
an in-flight request finish and exits 0 within `[server] shutdown_timeout`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import httpx

from tests.harness import wait_until
from tests.serve_process import ServeProcess

KEY = {"authorization": "Bearer key-a"}
EXTEND = KEY | {"x-extend-api-version": "2026-02-09"}
CONFIG = {"classifications": [{"id": "inv", "type": "invoice", "description": "a bill"}]}
SHUTDOWN_TIMEOUT = 20  # seconds: the bound the test holds the process to
LEASE = 60  # seconds: far longer than a restart takes


def _config(tmp_path: Path, local: str = "") -> str:
    """A config over the local backend (with `local` options) and a ledger in `tmp_path`."""
    path = tmp_path / "crosswalk.toml"
    path.write_text(
        f'[backends.local]\nkind = "local"\nallow_private_urls = true\n{local}\n'
        f'[store]\nurl = "sqlite:///{tmp_path}/crosswalk.db"\n\n'
        f"[server]\nshutdown_timeout = {SHUTDOWN_TIMEOUT}\n",
        encoding="utf-8",
    )
    return str(path)


def test_the_start_up_line_says_where_it_listens_and_what_it_runs(tmp_path: Path) -> None:
    with ServeProcess(tmp_path, "--config", _config(tmp_path), "--port", "0") as served:
        event = served.started_event()
        assert event["event"] == "crosswalk.started"
        assert event["version"] == metadata.version("crosswalk")
        assert event["listening"].startswith("http://127.0.0.1:")
        assert event["backends"] == "local (local)"
        assert event["routing"] == "retab -> local, extend -> local"
        assert event["store"] == f"sqlite {tmp_path}/crosswalk.db"
        assert event["log_format"] == "json"  # stderr is a pipe, not a terminal
        assert served.events()[0]["event"] == "crosswalk.started"  # the first line
        with httpx.Client(base_url=event["listening"]) as client:
            # it is listening: a request gets the gateway's own 404, in Retab's shape
            assert client.get("/v1/nothing", headers=KEY).status_code == 404
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0


def test_dashboard_url_follows_the_port_served(tmp_path: Path) -> None:
    with ServeProcess(tmp_path, "--config", _config(tmp_path), "--port", "0") as served:
        url = served.started_event()["listening"]
        body = {"file": {"text": "Invoice due", "name": "a.txt"}, "config": CONFIG}
        with httpx.Client(base_url=url, headers=EXTEND) as client:
            answer = client.post("/classify_runs", json=body)
        assert answer.status_code == 200, answer.text
        run = answer.json()
        assert run["dashboardUrl"] == f"{url}/classify_runs/{run['id']}"
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0


def test_console_format_is_a_readable_line(tmp_path: Path) -> None:
    args = ("--config", _config(tmp_path), "--port", "0", "--log-format", "console")
    with ServeProcess(tmp_path, *args) as served:
        line = served.started()
        assert not line.startswith("{")
        assert "crosswalk.started" in line
        assert "listening=http://127.0.0.1:" in line
        assert "log_format=console" in line
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0


def test_several_workers_announce_the_gateway_once(tmp_path: Path) -> None:
    args = ("--config", _config(tmp_path), "--port", "0", "--workers", "2")
    with ServeProcess(tmp_path, *args) as served:
        url = served.started_event()["listening"]
        with httpx.Client(base_url=url) as client:
            assert client.get("/v1/classifications", headers=KEY).status_code == 200
        assert served.terminate(SHUTDOWN_TIMEOUT + 15) == 0
        assert sum("crosswalk.started" in line for line in served.lines) == 1


@contextmanager
def _held_document() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A loopback document the gateway fetches: `asked` is set once it is asked for, and it
    is served only once `release` is set."""
    asked, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.set()
            release.wait(SHUTDOWN_TIMEOUT)
            data = b"Invoice number 42, amount due: 100 EUR"
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/doc.txt", asked, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/v1/classifications", headers=KEY, timeout=5)
    except httpx.TransportError:
        return True
    return False


def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(tmp_path: Path) -> None:
    with (
        _held_document() as (doc, asked, release),
        ServeProcess(tmp_path, "--config", _config(tmp_path), "--port", "0") as served,
    ):
        url = served.started_event()["listening"]
        answers: list[httpx.Response] = []
        body = {"file": {"url": doc, "name": "a.txt"}, "config": CONFIG}

        def create() -> None:  # Extend's sync classify, waiting for the held document
            answer = httpx.post(f"{url}/classify", json=body, headers=EXTEND, timeout=60)
            answers.append(answer)

        client = threading.Thread(target=create)
        client.start()
        assert asked.wait(SHUTDOWN_TIMEOUT)  # the sync create is in flight
        served.process.send_signal(15)
        wait_until(lambda: _refused(url))  # no new connection is accepted
        assert served.process.poll() is None  # still finishing the request in flight
        stopped = time.monotonic()
        release.set()
        client.join(SHUTDOWN_TIMEOUT)
        assert [a.status_code for a in answers] == [200], [a.text for a in answers]
        assert answers[0].json()["status"] == "PROCESSED"
        assert served.finish(SHUTDOWN_TIMEOUT) == 0
        assert time.monotonic() - stopped < SHUTDOWN_TIMEOUT
        events = [e["event"] for e in served.events()]
        # the request finished after the stop began, and before the process ended
        stopping = events.index("crosswalk.stopping")
        assert "request.completed" in events[stopping:]
        assert events[-1] == "crosswalk.stopped"


def _status(client: httpx.Client, run_id: str) -> str:
    status: str = client.get(f"/classify_runs/{run_id}").json()["status"]
    return status


def test_a_background_run_cut_off_by_sigterm_is_finished_by_the_next_start(
    tmp_path: Path,
) -> None:
    """SIGTERM while a local background run is being processed: the process still exits 0
    promptly, having given up the run's lease, so the next start takes the run again at once
    (not when the lease would have run out) and finishes it."""
    body = {"file": {"text": "Invoice due", "name": "a.txt"}, "config": CONFIG}
    slow = _config(tmp_path, local=f"min_run_seconds = 600\nlease_seconds = {LEASE}\n")
    with ServeProcess(tmp_path, "--config", slow, "--port", "0") as served:
        url = served.started_event()["listening"]
        with httpx.Client(base_url=url, headers=EXTEND) as client:
            run_id = client.post("/classify_runs", json=body).json()["id"]
            wait_until(lambda: _status(client, run_id) == "PROCESSING")
        stopped = time.monotonic()
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0
        assert time.monotonic() - stopped < SHUTDOWN_TIMEOUT
    quick = _config(tmp_path, local=f"lease_seconds = {LEASE}\n")
    with ServeProcess(tmp_path, "--config", quick, "--port", "0") as served:
        url = served.started_event()["listening"]
        with httpx.Client(base_url=url, headers=EXTEND) as client:
            wait_until(lambda: _status(client, run_id) == "PROCESSED", timeout=LEASE / 2)
        assert served.terminate(SHUTDOWN_TIMEOUT) == 0
