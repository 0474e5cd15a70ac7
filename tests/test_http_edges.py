"""The HTTP edges around the surfaces: OPTIONS, requests uvicorn cannot parse, and clients
that leave before sending their whole body."""

from __future__ import annotations

import socket
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from structlog.testing import capture_logs

from tests.harness import MakeGateway, ServedGateway, wait_until

ALLOWED = {
    "/v1/classifications": "GET, OPTIONS, POST",
    "/v1/classifications/cls_abc": "DELETE, GET, OPTIONS",
    "/v1/classifications/cls_abc/cancel": "OPTIONS, POST",
    "/classify": "OPTIONS, POST",
    "/classify_runs": "GET, OPTIONS, POST",
    "/classify_runs/clr_abc": "DELETE, GET, OPTIONS",
    "/classify_runs/clr_abc/cancel": "OPTIONS, POST",
}


@pytest.mark.parametrize(("path", "allow"), ALLOWED.items())
def test_options_names_every_method_the_path_serves(
    make_gateway: MakeGateway, path: str, allow: str
) -> None:
    http = make_gateway().http(key=None)  # a CORS preflight carries no key
    response = http.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow
    assert response.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("path", ["/v1/classifications", "/classify_runs/clr_abc"])
def test_a_wrong_method_names_the_same_methods_as_options(
    make_gateway: MakeGateway, path: str
) -> None:
    http = make_gateway().http()
    allowed = set(http.options(path).headers["allow"].split(", "))
    refused = http.put(path, json={})
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == allowed


def _raw(gateway: ServedGateway, request: bytes, *, half_close: bool = False) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    url = urlsplit(gateway.url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


UNPARSABLE = {
    "nul in path": b"GET /v1/classifications\x00x HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad content-length": b"POST /classify HTTP/1.1\r\nHost: a\r\nContent-Length: ten\r\n\r\n",
    "two content-lengths": (
        b"POST /classify HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    ),
}


@pytest.mark.parametrize("request_bytes", UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_a_request_the_server_cannot_parse_gets_a_400_with_a_request_id(
    make_gateway: MakeGateway, request_bytes: bytes
) -> None:
    gateway = make_gateway(served=True)
    assert isinstance(gateway, ServedGateway)
    with capture_logs() as logs:
        answer = _raw(gateway, request_bytes)
    head, _, _ = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    request_id = headers["x-request-id"]
    assert request_id.startswith("req_")
    logged = [e for e in logs if e["event"] == "request.unparsable"]
    assert [e["request_id"] for e in logged] == [request_id]


def test_a_client_that_sends_a_short_body_is_logged_as_gone_not_as_a_server_error(
    make_gateway: MakeGateway,
) -> None:
    gateway = make_gateway(served=True)
    assert isinstance(gateway, ServedGateway)
    request = (
        b"POST /v1/classifications HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer key-a\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b'{"document": '
    )
    with capture_logs() as logs:
        _raw(gateway, request, half_close=True)

        def completed() -> list[MutableMapping[str, Any]]:
            return [e for e in logs if e["event"] == "request.completed"]

        wait_until(lambda: bool(completed()))
    assert [e["status"] for e in completed()] == [499]
    assert [e["log_level"] for e in logs if e["log_level"] in ("error", "critical")] == []
    assert any(e["event"] == "request.abandoned" for e in logs)
