"""uvicorn's HTTP/1.1 protocols, with crosswalk's request id on the 400s uvicorn answers itself,
and TCP_NODELAY on every connection.

A request uvicorn cannot parse (a NUL byte in the path, a malformed Content-Length) never
reaches the app, so the app's middleware cannot give it an `x-request-id`; this protocol's
own 400 carries one, and the rejection is logged under the same id.

uvicorn writes a response's head and its body separately. asyncio sets TCP_NODELAY only on
connections accepted from a socket whose `proto` is IPPROTO_TCP, which a socket handed over
by a parent or a supervisor need not be: then the body waits for the client's delayed ACK
of the head, about 40 ms on every request. `NoDelay` sets it on each connection itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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


class NoDelay(asyncio.Protocol):
    """Sets TCP_NODELAY on the connection before the protocol takes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # a connection already gone cannot take the option; it is closed anyway
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


class CrosswalkH11Protocol(RequestIdOn400, NoDelay, H11Protocol):
    """The pure-Python h11 protocol with request ids on its own 400s."""


class CrosswalkHttpToolsProtocol(RequestIdOn400, NoDelay, HttpToolsProtocol):
    """The httptools (llhttp, in C) protocol with request ids on its own 400s."""
