"""A tiny loopback HTTP server that serves documents by path, for runs given a document URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(documents: Mapping[str, tuple[bytes, str]]) -> Iterator[str]:
    """Serve `documents` (path -> bytes and MIME type) on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in documents:
                self.send_error(404)
                return
            data, mime = documents[self.path]
            self.send_response(200)
            self.send_header("content-type", mime)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test's output is for the test

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # polled often, so that stopping it at the end of a test is quick
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
