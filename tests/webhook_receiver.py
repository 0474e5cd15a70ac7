"""A webhook receiver for tests: a real HTTP server on a loopback port, in a thread.

It records every delivery (headers, raw body, the status it answered) and answers as the test
says: `answer(event_id, nth)` gives the status of the nth delivery (1-based) of an event, so
"fail twice then succeed" is one line; `hang` holds every request until the receiver stops.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

Answer = Callable[[str, int], int]


class Received(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery as the receiver got it."""

    event_id: str
    event_type: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what the receiver answered


def always(status: int) -> Answer:
    """Every delivery answered with `status`."""
    return lambda event_id, nth: status


ACCEPT = always(200)


def failing_first(times: int, *, status: int = 503) -> Answer:
    """Each event's first `times` deliveries answered `status`, the next ones 200."""
    return lambda event_id, nth: status if nth <= times else 200


class Receiver(ThreadingHTTPServer):
    """Takes webhook deliveries at `url` and remembers them."""

    daemon_threads = True

    def __init__(self, *, port: int = 0, answer: Answer = ACCEPT, hang: bool = False):
        super().__init__(("127.0.0.1", port), _Handler)
        self.answer = answer
        self.hang = hang
        self.released = threading.Event()  # set when stopping: hung requests end
        self.hanging = 0  # requests being held now (with `hang`)
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._seen: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def accepted(self) -> Counter[str]:
        """How many deliveries of each event id were answered with a 2xx."""
        return Counter(r.event_id for r in self.received if 200 <= r.status < 300)

    def hold(self) -> None:
        """Hold a request unanswered until the receiver stops."""
        with self._lock:
            self.hanging += 1
        self.released.wait()

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        envelope = json.loads(body)
        event_id = str(envelope.get("eventId", ""))
        with self._lock:
            self._seen[event_id] += 1
            status = self.answer(event_id, self._seen[event_id])
            self._received.append(
                Received(
                    event_id=event_id,
                    event_type=str(envelope.get("eventType", "")),
                    headers=headers,
                    body=body,
                    status=status,
                )
            )
        return status


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.server.hang:
            self.server.hold()
            return
        status = self.server.take(body, {k.lower(): v for k, v in self.headers.items()})
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("location", self.server.url + "/moved")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output for failures


@contextmanager
def receiving(*, port: int = 0, answer: Answer = ACCEPT, hang: bool = False) -> Iterator[Receiver]:
    """A started receiver on a loopback port (`port`, or a free one); stopped on exit."""
    server = Receiver(port=port, answer=answer, hang=hang)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join()
