"""Fetching document URLs: size and time limits, and no way into internal networks."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.backends.local.fetch import FetchFailed, FetchRefused, fetch_document

URL = "https://docs.example.com/files/invoice%2042.pdf?sig=abc"


def _resolver(address: str):
    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


async def _fetch(url: str = URL, *, address: str = "93.184.216.34", **options: object):
    settings = {"max_bytes": 1000, "timeout": 2.0, "allow_private": False} | options
    async with httpx.AsyncClient() as client:
        return await fetch_document(url, client=client, resolver=_resolver(address), **settings)  # type: ignore[arg-type]


async def test_document_is_downloaded_with_name_and_type(respx_mock: respx.MockRouter) -> None:
    """The body, the Content-Type and the URL's last segment come back."""
    respx_mock.get(URL).respond(
        200, content=b"%PDF-1.4", headers={"content-type": "application/pdf"}
    )
    fetched = await _fetch()
    assert fetched.data == b"%PDF-1.4"
    assert fetched.mime_type == "application/pdf"
    assert fetched.filename == "invoice 42.pdf"


async def test_content_disposition_names_the_file(respx_mock: respx.MockRouter) -> None:
    """A Content-Disposition filename wins over the URL's, and gives the type."""
    respx_mock.get(URL).respond(
        200, content=b"a,b", headers={"content-disposition": 'attachment; filename="rows.csv"'}
    )
    fetched = await _fetch()
    assert fetched.filename == "rows.csv"
    assert fetched.mime_type == "text/csv"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.5",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
    ],
)
async def test_internal_addresses_are_refused(address: str) -> None:
    """Loopback, private, link-local and mapped addresses are refused before any request."""
    with pytest.raises(FetchRefused):
        await _fetch(address=address)


async def test_internal_addresses_allowed_when_configured(respx_mock: respx.MockRouter) -> None:
    """`allow_private_urls` lets a test or an intranet deployment fetch local hosts."""
    respx_mock.get("http://127.0.0.1:9000/a.txt").respond(200, content=b"hello")
    fetched = await _fetch("http://127.0.0.1:9000/a.txt", address="127.0.0.1", allow_private=True)
    assert fetched.data == b"hello"


async def test_other_schemes_are_refused() -> None:
    """Only http and https can be fetched."""
    with pytest.raises(FetchRefused):
        await _fetch("file:///etc/passwd")


async def test_redirect_targets_are_checked_too(respx_mock: respx.MockRouter) -> None:
    """A public URL redirecting to an internal one is refused at the redirect."""
    respx_mock.get(URL).respond(302, headers={"location": "http://metadata.internal/latest"})
    calls = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.216.34"] if host == "docs.example.com" else ["169.254.169.254"]

    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchRefused):
            await fetch_document(
                URL, client=client, max_bytes=1000, timeout=2, allow_private=False, resolver=resolve
            )
    assert calls == ["docs.example.com", "metadata.internal"]


async def test_size_limit_stops_the_download(respx_mock: respx.MockRouter) -> None:
    """A body past `max_bytes` fails the fetch."""
    respx_mock.get(URL).respond(200, content=b"x" * 2000)
    with pytest.raises(FetchFailed, match="larger than 1000"):
        await _fetch()


async def test_error_status_and_timeout_fail(respx_mock: respx.MockRouter) -> None:
    """An HTTP error status or a timeout is a FetchFailed naming it."""
    route = respx_mock.get(URL)
    route.respond(403)
    with pytest.raises(FetchFailed, match="403"):
        await _fetch()
    route.side_effect = httpx.ConnectTimeout("slow")
    with pytest.raises(FetchFailed, match="ConnectTimeout"):
        await _fetch()
