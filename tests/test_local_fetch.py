"""Fetching document URLs: size and time limits, and no way into internal networks."""

from __future__ import annotations

import httpx
import pytest
import respx

from gateway.backends.local.fetch import FetchFailed, FetchRefused, fetch_document
from tests.test_local_addresses import NOT_PUBLIC

URL = "https://docs.example.com/files/invoice%2042.pdf?sig=abc"
PUBLIC = "93.184.216.34"
# where the request for URL goes: the checked address, the name kept in Host and TLS
PINNED = f"https://{PUBLIC}/files/invoice%2042.pdf?sig=abc"


def _resolver(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def _fetch(url: str = URL, *, address: str = PUBLIC, **options: object):
    settings = {"max_bytes": 1000, "timeout": 2.0, "allow_private": False} | options
    async with httpx.AsyncClient() as client:
        return await fetch_document(url, client=client, resolver=_resolver(address), **settings)  # type: ignore[arg-type]


async def _fetch_through(handler, url: str = URL, *, resolver=None):
    """Fetch with `handler` as the network: it sees every request, nothing leaves. The client
    would follow redirects itself: fetch_document must not let it."""
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        return await fetch_document(
            url,
            client=client,
            max_bytes=1000,
            timeout=2,
            allow_private=False,
            resolver=resolver or _resolver(PUBLIC),
        )


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a refused URL was requested: {request.url}")


async def test_document_is_downloaded_with_name_and_type(respx_mock: respx.MockRouter) -> None:
    """The body, the Content-Type and the URL's last segment come back."""
    respx_mock.get(PINNED).respond(
        200, content=b"%PDF-1.4", headers={"content-type": "application/pdf"}
    )
    fetched = await _fetch()
    assert fetched.data == b"%PDF-1.4"
    assert fetched.mime_type == "application/pdf"
    assert fetched.filename == "invoice 42.pdf"


async def test_content_disposition_names_the_file(respx_mock: respx.MockRouter) -> None:
    """A Content-Disposition filename wins over the URL's, and gives the type."""
    respx_mock.get(PINNED).respond(
        200, content=b"a,b", headers={"content-disposition": 'attachment; filename="rows.csv"'}
    )
    fetched = await _fetch()
    assert fetched.filename == "rows.csv"
    assert fetched.mime_type == "text/csv"


@pytest.mark.parametrize(
    "address",
    [pytest.param(address, id=f"{address} {what}") for address, what in NOT_PUBLIC.items()],
)
async def test_internal_addresses_are_refused(address: str) -> None:
    """A name resolving to any non-public address, or to an IPv6 address carrying a
    non-public IPv4, is refused before any request (tests/test_local_addresses.py)."""
    with pytest.raises(FetchRefused):
        await _fetch_through(_refuse, resolver=_resolver(address))


async def test_one_internal_address_among_public_ones_is_refused() -> None:
    """Every address a name answers is checked, not only the first."""
    with pytest.raises(FetchRefused):
        await _fetch_through(_refuse, resolver=_resolver(PUBLIC, "2606:4700::1", "10.0.0.7"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://127.1/",
        "http://127。0。0。1/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1%25eth0]/",
        "http://192.0.0.8/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://user@localhost:8080/",
        "http://ⓛocalhost/",
        "file:///etc/passwd",
        "gopher://docs.example.com/",
        "http:///nohost",
    ],
)
async def test_url_hosts_naming_the_local_network_are_refused(url: str) -> None:
    """Numeric IPv4 forms read as getaddrinfo reads them, IPv6 literals, `localhost` names
    and IDNA forms: refused whatever the resolver would answer, before any request."""
    with pytest.raises(FetchRefused):
        await _fetch_through(_refuse, url, resolver=_resolver(PUBLIC))


async def test_internal_addresses_allowed_when_configured(respx_mock: respx.MockRouter) -> None:
    """`allow_private_urls` lets a test or an intranet deployment fetch local hosts."""
    respx_mock.get("http://127.0.0.1:9000/a.txt").respond(200, content=b"hello")
    fetched = await _fetch("http://127.0.0.1:9000/a.txt", address="127.0.0.1", allow_private=True)
    assert fetched.data == b"hello"


async def test_connection_is_pinned_to_the_checked_address() -> None:
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 after;
    the name is resolved once and the request goes to the checked address, the host kept
    in the Host header and in TLS (SNI and the certificate check)."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    asked: list[tuple[str, int]] = []
    seen: list[httpx.Request] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return next(answers)

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"%PDF-1.4")

    fetched = await _fetch_through(network, resolver=rebinding)
    assert fetched.data == b"%PDF-1.4"
    assert fetched.filename == "invoice 42.pdf"
    assert asked == [("docs.example.com", 443)]
    [request] = seen
    assert str(request.url) == PINNED
    assert request.headers["host"] == "docs.example.com"
    assert request.extensions["sni_hostname"] == "docs.example.com"


async def test_idna_names_are_resolved_and_named_as_encoded() -> None:
    """A Unicode name is resolved, sent as Host and named in TLS in its IDNA form; a port
    that is not the default stays in Host."""
    asked: list[str] = []
    seen: list[httpx.Request] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["2606:4700:4700::1111"]

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"x")

    await _fetch_through(network, "https://bücher.example:8443/a.txt", resolver=resolve)
    assert asked == ["xn--bcher-kva.example"]
    [request] = seen
    assert str(request.url) == "https://[2606:4700:4700::1111]:8443/a.txt"
    assert request.headers["host"] == "xn--bcher-kva.example:8443"
    assert request.extensions["sni_hostname"] == "xn--bcher-kva.example"


async def test_next_checked_address_is_tried_when_one_does_not_connect() -> None:
    """A name answering IPv6 and IPv4 still downloads on a host without IPv6 routes."""
    seen: list[str] = []

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "2606:4700:4700::1111":
            raise httpx.ConnectError("no route to host", request=request)
        return httpx.Response(200, content=b"x")

    resolver = _resolver("2606:4700:4700::1111", PUBLIC)
    fetched = await _fetch_through(network, resolver=resolver)
    assert fetched.data == b"x"
    assert seen == ["2606:4700:4700::1111", PUBLIC]


async def test_redirects_are_checked_and_pinned_at_every_hop() -> None:
    """Each redirect target is resolved, checked and pinned on its own; relative ones too."""
    addresses = {"docs.example.com": PUBLIC, "cdn.example.net": "2606:4700::6810:1"}
    seen: list[tuple[str, str]] = []

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses[host]]

    def network(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"]))
        if request.url.host == PUBLIC:
            return httpx.Response(302, headers={"location": "http://cdn.example.net:8080/x"})
        if request.url.path == "/x":
            return httpx.Response(301, headers={"location": "/final.pdf"})
        return httpx.Response(200, content=b"%PDF-1.4")

    fetched = await _fetch_through(network, resolver=resolve)
    assert fetched.filename == "final.pdf"
    assert seen == [
        (PINNED, "docs.example.com"),
        ("http://[2606:4700::6810:1]:8080/x", "cdn.example.net:8080"),
        ("http://[2606:4700::6810:1]:8080/final.pdf", "cdn.example.net:8080"),
    ]


async def test_redirect_targets_are_checked_too() -> None:
    """A public URL redirecting to an internal one is refused at the redirect."""
    calls = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return [PUBLIC] if host == "docs.example.com" else ["169.254.169.254"]

    def network(request: httpx.Request) -> httpx.Response:
        assert request.url.host == PUBLIC
        return httpx.Response(302, headers={"location": "http://metadata.internal/latest"})

    with pytest.raises(FetchRefused):
        await _fetch_through(network, resolver=resolve)
    assert calls == ["docs.example.com", "metadata.internal"]


@pytest.mark.parametrize(
    "location", ["http://[::127.0.0.1]/", "http://2130706433/", "http://localhost:8080/"]
)
async def test_redirects_to_local_literals_are_refused(location: str) -> None:
    """A redirect to a loopback literal or name is refused without asking the resolver."""
    seen: list[str] = []

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": location})

    with pytest.raises(FetchRefused):
        await _fetch_through(network)
    assert seen == [PINNED]


async def test_size_limit_stops_the_download(respx_mock: respx.MockRouter) -> None:
    """A body past `max_bytes` fails the fetch."""
    respx_mock.get(PINNED).respond(200, content=b"x" * 2000)
    with pytest.raises(FetchFailed, match="larger than 1000"):
        await _fetch()


async def test_error_status_and_timeout_fail(respx_mock: respx.MockRouter) -> None:
    """An HTTP error status or a timeout is a FetchFailed naming it."""
    route = respx_mock.get(PINNED)
    route.respond(403)
    with pytest.raises(FetchFailed, match="403"):
        await _fetch()
    route.side_effect = httpx.ConnectTimeout("slow")
    with pytest.raises(FetchFailed, match="ConnectTimeout"):
        await _fetch()
