"""Fetching a document from an http(s) URL without letting crosswalk reach internal services.

Each hop's host is resolved once and every address it answers must be public (`addresses`),
unless the config allows private URLs; the request then goes to a checked address itself,
with the URL's host kept in the Host header and in TLS (SNI and the certificate check), so a
name that answers differently the second time (DNS rebinding) cannot move it. Redirects are
followed by hand, each target checked and pinned again; the body is streamed and cut at a
size limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
import re
import socket
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import unquote, urlsplit

import httpx
import msgspec

from gateway.backends.local.addresses import IPAddress, is_local_name, is_public, literal_address

Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_REDIRECTS = 3
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchRefused(Exception):
    """The URL may not be fetched (scheme, or an address inside the network)."""


class FetchFailed(Exception):
    """The URL could not be fetched (unreachable, error status, too large, too slow)."""


class Fetched(msgspec.Struct, frozen=True, kw_only=True):
    """A downloaded document."""

    data: bytes
    mime_type: str
    filename: str


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, as the OS resolver answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def fetch_document(
    url: str,
    *,
    client: httpx.AsyncClient,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    resolver: Resolver | None = None,
) -> Fetched:
    """Download `url` within the limits; FetchRefused or FetchFailed say why not."""
    resolve = resolver or system_resolver
    try:
        async with asyncio.timeout(timeout):
            return await _follow(httpx.URL(url), client, max_bytes, allow_private, resolve)
    except TimeoutError:
        raise FetchFailed(f"no complete answer within {timeout:g} s") from None
    except httpx.InvalidURL:
        raise FetchRefused("not a valid URL") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__} while downloading") from None


async def _follow(
    url: httpx.URL,
    client: httpx.AsyncClient,
    max_bytes: int,
    allow_private: bool,
    resolve: Resolver,
) -> Fetched:
    for _ in range(MAX_REDIRECTS + 1):
        addresses = await checked_addresses(url, allow_private, resolve)
        response = await send_pinned(client, url, addresses)
        try:
            if response.is_redirect and "location" in response.headers:
                url = url.join(response.headers["location"])
                continue
            if response.status_code >= 400:
                raise FetchFailed(f"the document host answered HTTP {response.status_code}")
            data = await _read(response, max_bytes)
            return Fetched(
                data=data, mime_type=_mime(response, str(url)), filename=_name(response, str(url))
            )
        finally:
            await response.aclose()
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


async def checked_addresses(
    url: httpx.URL, allow_private: bool, resolve: Resolver
) -> tuple[IPAddress, ...]:
    """The addresses `url`'s host stands for, each one allowed to be connected to."""
    if url.scheme not in _DEFAULT_PORTS or not url.raw_host:
        raise FetchRefused("only http and https URLs with a host can be fetched")
    host = url.raw_host.decode("ascii")
    if not allow_private and is_local_name(host):
        raise FetchRefused(f"{url.host} names the local host")
    addresses = await _addresses(host, url.port or _DEFAULT_PORTS[url.scheme], resolve)
    if not allow_private and not all(is_public(address) for address in addresses):
        raise FetchRefused(f"{url.host} resolves to a non-public address")
    return addresses


async def _addresses(host: str, port: int, resolve: Resolver) -> tuple[IPAddress, ...]:
    literal = literal_address(host)
    if literal is not None:
        return (literal,)
    try:
        answers = await resolve(host, port)
    except (OSError, UnicodeError):
        raise FetchFailed(f"the host {host} does not resolve") from None
    try:
        # a scope (`%eth0`) belongs to link-local addresses, which are refused anyway
        addresses = tuple(dict.fromkeys(ipaddress.ip_address(a.split("%")[0]) for a in answers))
    except ValueError:
        raise FetchRefused(f"the host {host} resolves to something not an address") from None
    if not addresses:
        raise FetchFailed(f"the host {host} does not resolve")
    return addresses


async def send_pinned(
    client: httpx.AsyncClient,
    url: httpx.URL,
    addresses: tuple[IPAddress, ...],
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """The streamed answer of the first checked address that takes the connection."""
    failure: httpx.ConnectError | None = None
    for address in addresses:
        try:
            request = _pinned(client, method, url, address, content=content, headers=headers)
            # redirects are the caller's to follow: each target is checked and pinned
            return await client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:  # e.g. an IPv6 answer on a host without IPv6
            failure = exc
    assert failure is not None  # `addresses` is never empty
    raise failure


def _pinned(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    address: IPAddress,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Request:
    """A request to `url` sent to `address`, in every other respect one to `url`'s host."""
    # `close`: a pooled connection would carry one host's TLS check over to another's request
    sent = {**(headers or {}), "host": url.netloc.decode("ascii"), "connection": "close"}
    # httpcore names and verifies this host in TLS instead of the address it connects to
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return client.build_request(
        method,
        url.copy_with(host=str(address)),
        content=content,
        headers=sent,
        extensions=extensions,
    )


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(f"document larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(f"document larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _name(response: httpx.Response, url: str) -> str:
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    if match:
        return unquote(match.group(1)).strip() or "document"
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or "document"


def _mime(response: httpx.Response, url: str) -> str:
    declared: str = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(_name(response, url))[0] or "application/octet-stream"
