"""Fetching a document from an http(s) URL without letting crosswalk reach internal services.

Every host is resolved and refused if any address is loopback, private, link-local,
multicast, reserved or unspecified (unless the config allows private URLs); redirects are
followed by hand, re-checking each target; the body is streamed and cut at a size limit.
DNS rebinding: the check resolves the name, then httpx resolves it again to connect, so a
name that answers differently the second time can still slip through; closing that gap needs
connecting to the checked address itself, which a later hardening issue can add.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import msgspec

Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_REDIRECTS = 3
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


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
            return await _follow(url, client, max_bytes, allow_private, resolve)
    except TimeoutError:
        raise FetchFailed(f"no complete answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__} while downloading") from None


async def _follow(
    url: str, client: httpx.AsyncClient, max_bytes: int, allow_private: bool, resolve: Resolver
) -> Fetched:
    for _ in range(MAX_REDIRECTS + 1):
        await _check(url, allow_private, resolve)
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                raise FetchFailed(f"the document host answered HTTP {response.status_code}")
            data = await _read(response, max_bytes)
            return Fetched(data=data, mime_type=_mime(response, url), filename=_name(response, url))
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


async def _check(url: str, allow_private: bool, resolve: Resolver) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("only http and https URLs with a host can be fetched")
    if allow_private:
        return
    try:
        addresses = await resolve(parts.hostname, parts.port or 443)
    except OSError:
        raise FetchFailed(f"the host {parts.hostname} does not resolve") from None
    for address in addresses:
        if not _public(address):
            raise FetchRefused(f"{parts.hostname} resolves to a non-public address")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
