"""uvicorn's HTTP/1.1 protocol, with crosswalk's request id on the 400s uvicorn answers itself.

A request uvicorn cannot parse (a NUL byte in the path, a malformed Content-Length) never
reaches the app, so the app's middleware cannot give it an `x-request-id`; this protocol's
own 400 carries one, and the rejection is logged under the same id.
"""

from __future__ import annotations

import asyncio

import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.middleware import REQUEST_ID_HEADER, new_request_id

log = structlog.get_logger("crosswalk.request")


class RequestIdOn400:
    """Replaces uvicorn's `send_400_response`, which writes a bare text/plain 400."""

    transport: asyncio.Transport

    def send_400_response(self, msg: str) -> None:
        request_id = new_request_id()
        body = msg.encode("ascii", errors="replace")
        head = (
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\n%s: %s\r\nconnection: close\r\n\r\n"
        ) % (len(body), REQUEST_ID_HEADER, request_id.encode())
        # the connection is closed right after, so the parser's own state needs no update
        self.transport.write(head + body)
        self.transport.close()
        log.warning("request.unparsable", request_id=request_id, status=400, reason=msg)


class CrosswalkH11Protocol(RequestIdOn400, H11Protocol):
    """The pure-Python h11 protocol with request ids on its own 400s."""
