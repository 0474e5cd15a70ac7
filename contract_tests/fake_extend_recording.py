"""What a fake upstream keeps of its traffic, for contract_tests/fake_extend.py.

Every request it got is recorded with the answer it gave, so a test can assert what the
gateway sent upstream; a planned `Failure` replaces the next matching call's answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx

Json = dict[str, Any]
Handler = Callable[..., httpx.Response]


@dataclass(frozen=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Received:
    """A request the fake got, and the answer it gave (`status` 0: it raised instead)."""

    method: str
    path: str
    query: httpx.QueryParams
    headers: httpx.Headers
    body: bytes
    status: int
    answer: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def json_answer(self) -> Any:
        return json.loads(self.answer)

    def parts(self) -> dict[str, Part]:
        """The multipart body by part name (for an upload)."""
        return parse_multipart(self.headers.get("content-type", ""), self.body)


@dataclass(frozen=True)
class Failure:
    """What the next matching call answers instead: a response, or `error` raised."""

    status: int = 500
    body: Json | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    method: str | None = None
    path: str | None = None

    def matches(self, request: httpx.Request) -> bool:
        return self.method in (None, request.method) and self.path in (None, request.url.path)

    def respond(self) -> httpx.Response:
        if self.error is not None:
            raise self.error
        if isinstance(self.body, str):
            return httpx.Response(self.status, text=self.body, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


class RecordingFake:
    """Base of a fake upstream: wraps its handlers to record traffic and play failures.

    The gateway calls it from its own server thread while the test reads it: a lock guards
    the shared lists.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._failures: list[Failure] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        status: int = 500,
        body: Json | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        error: Exception | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next call (or the next to `method` `path`) answer this instead."""
        failure = Failure(status, body, headers or {}, error, method, path)
        with self._lock:
            self._failures.append(failure)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Received]:
        """The requests received so far; `path` ending in `*` matches a prefix."""
        with self._lock:
            received = list(self.received)
        return [r for r in received if method in (None, r.method) and _path_is(r.path, path)]

    def last(self, method: str, path: str) -> Received:
        found = self.calls(method, path)
        assert found, f"the fake got no {method} {path}; it got {self.summary()}"
        return found[-1]

    def summary(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.calls()]

    def check(self, request: httpx.Request) -> httpx.Response | None:
        """An answer refusing `request` before any handler sees it; None lets it through."""
        return None

    def serve(self, handler: Handler) -> Handler:
        """`handler` behind a planned failure and `check`, with the exchange recorded."""

        def serve(request: httpx.Request, **params: str) -> httpx.Response:
            status, answer = 0, b""
            try:
                response = self._planned(request) or self.check(request)
                response = response or handler(request, **params)
                status, answer = response.status_code, response.content
                return response
            finally:
                self._record(request, status, answer)

        return serve

    def _planned(self, request: httpx.Request) -> httpx.Response | None:
        with self._lock:
            failure = next((f for f in self._failures if f.matches(request)), None)
            if failure is None:
                return None
            self._failures.remove(failure)
        return failure.respond()

    def _record(self, request: httpx.Request, status: int, answer: bytes) -> None:
        url = request.url
        received = Received(
            request.method, url.path, url.params, request.headers, request.content, status, answer
        )
        with self._lock:
            self.received.append(received)


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """A `multipart/form-data` body by part name (the stdlib email parser, HTTP policy)."""
    if not content_type.startswith("multipart/"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True)
        parts[name] = Part(
            name,
            part.get_filename(),
            part.get_content_type(),
            data if isinstance(data, bytes) else b"",
        )
    return parts


def _path_is(path: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    return path.startswith(wanted[:-1]) if wanted.endswith("*") else path == wanted
