"""A loopback HTTP server for a browser under test: it records every path the browser asks for
and answers each from a function, which may serve a page it holds or fetch one from a gateway
(adding the gateway key a browser's address bar cannot send)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec


class Page(msgspec.Struct, frozen=True):
    """One answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes


NOT_FOUND = Page(404, "text/plain", b"not found")


class PageServer:
    """A started server: its base URL, and the paths requested of it, in order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def record(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)

    def requested(self) -> list[str]:
        with self._lock:
            return list(self.paths)


@contextmanager
def serving_pages(answer: Callable[[str], Page]) -> Iterator[PageServer]:
    """Serve GETs on 127.0.0.1 with `answer(path)`; yields the server, which records paths."""
    started: list[PageServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started[0].record(self.path)
            page = answer(self.path)
            self.send_response(page.status)
            self.send_header("content-type", page.content_type)
            self.send_header("content-length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test's output is for the test

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    started.append(PageServer(f"http://127.0.0.1:{server.server_port}"))
    # polled often, so that stopping it at the end of a test is quick
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield started[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
