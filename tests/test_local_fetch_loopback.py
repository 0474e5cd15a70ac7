"""Pinned document fetches against real loopback servers, over HTTP and over TLS.

The request goes to the checked address while the URL's host stays in the Host header and in
TLS: a certificate issued to the name alone (no IP) verifies, and does not for another name at
the same address. (The server does not record SNI: Retab's SDK, imported by other tests,
swaps `ssl.SSLContext` for truststore's, which drops a server's `sni_callback`.)
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gateway.backends.local.fetch import FetchFailed, FetchRefused, fetch_document

BODY = b"Invoice total due"


class _Server(ThreadingHTTPServer):
    """Answers `/doc.txt` with BODY and redirects `/hop` to it; remembers what it was sent."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("location", "/doc.txt")
            self.send_header("content-length", "0")
        else:
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        if self.path != "/hop":
            self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output for failures


@contextmanager
def _serving(tls: ssl.SSLContext | None = None) -> Iterator[_Server]:
    server = _Server(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def _fetch(url: str, *, allow_private: bool, **client: object) -> bytes:
    async with httpx.AsyncClient(**client) as http:  # type: ignore[arg-type]
        fetched = await fetch_document(
            url, client=http, max_bytes=1000, timeout=5, allow_private=allow_private
        )
    return fetched.data


async def _fetch_pinned(url: str, address: str, **client: object) -> bytes:
    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    async with httpx.AsyncClient(**client) as http:  # type: ignore[arg-type]
        fetched = await fetch_document(
            url, client=http, max_bytes=1000, timeout=5, allow_private=True, resolver=resolve
        )
    return fetched.data


async def test_allowed_loopback_server_gets_the_url_host() -> None:
    """With `allow_private_urls`, a loopback server found through the system resolver is
    reached at every hop with `Host` naming the URL's host and port, one request per
    connection."""
    with _serving() as server:
        assert await _fetch(f"http://localhost:{server.port}/hop", allow_private=True) == BODY
    host = f"localhost:{server.port}"
    assert [(path, h["host"], h["connection"]) for path, h in server.seen] == [
        ("/hop", host, "close"),
        ("/doc.txt", host, "close"),
    ]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "2130706433", "[::ffff:127.0.0.1]"])
async def test_loopback_server_is_never_reached_by_default(host: str) -> None:
    """Without `allow_private_urls` the same server is refused before any connection."""
    with _serving() as server, pytest.raises(FetchRefused):
        await _fetch(f"http://{host}:{server.port}/doc.txt", allow_private=False)
    assert server.seen == []


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for `localhost` only (no IP), from a test CA, and
    a client context trusting that CA and nothing else."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Certificate | None,
        signer: ec.EllipticCurvePrivateKey,
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name if issuer is None else issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        else:
            san = x509.SubjectAlternativeName([x509.DNSName(subject)])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("crosswalk test CA", ca_key, None, ca_key)
    leaf = certificate("localhost", leaf_key, ca, ca_key)
    pem = serialization.Encoding.PEM
    chain, key = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    chain.write_bytes(leaf.public_bytes(pem))
    key.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, key)
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


async def test_tls_names_and_verifies_the_url_host(tmp_path: Path) -> None:
    """Pinned to 127.0.0.1, TLS still names and verifies `localhost` (Python's ssl uses one
    `server_hostname` for both): the certificate, issued to that name alone, is accepted."""
    server_tls, client_tls = _tls(tmp_path)
    with _serving(server_tls) as server:
        url = f"https://localhost:{server.port}/doc.txt"
        assert await _fetch_pinned(url, "127.0.0.1", verify=client_tls) == BODY
    assert [h["host"] for _, h in server.seen] == [f"localhost:{server.port}"]


async def test_tls_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    """A name the certificate does not cover fails the handshake though the address is the
    same: verification follows the URL's host, not the address connected to."""
    server_tls, client_tls = _tls(tmp_path)
    with _serving(server_tls) as server:
        url = f"https://docs.localhost:{server.port}/doc.txt"
        with pytest.raises(FetchFailed):
            await _fetch_pinned(url, "127.0.0.1", verify=client_tls)
    assert server.seen == []
