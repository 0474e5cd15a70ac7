"""The address policy of document fetching: which IPs count as public, which hosts name one.

Each case says what the address is; `py311` marks those Python 3.11's `ipaddress.is_global`
gets wrong, the reason this policy is a table of its own.
"""

from __future__ import annotations

import ipaddress

import pytest

from gateway.backends.local.addresses import is_local_name, is_public, literal_address

PUBLIC = {
    "1.1.1.1": "anycast DNS",
    "8.8.8.8": "unicast",
    "93.184.216.34": "unicast",
    "100.63.255.255": "just below shared address space",
    "100.128.0.1": "just above shared address space",
    "172.15.255.255": "just below 172.16/12",
    "172.32.0.1": "just above 172.16/12",
    "192.0.1.1": "just above 192.0.0.0/24",
    "192.31.196.1": "AS112-v4",
    "192.52.193.1": "AMT",
    "192.175.48.1": "AS112 direct delegation",
    "198.17.255.255": "just below benchmarking",
    "198.20.0.1": "just above benchmarking",
    "223.255.255.255": "last unicast below multicast",
    "2606:4700:4700::1111": "global unicast",
    "2a00:1450:4001::1": "global unicast",
    "::ffff:8.8.8.8": "IPv4-mapped public",
    "64:ff9b::808:808": "NAT64 of a public IPv4, as DNS64 answers",
    "2002:808:808::1": "6to4 of a public IPv4",
    "2001:0:4136:e378:8000:edcb:f7f7:fbfb": "Teredo, public server and client (py311)",
    "2001:3::1": "AMT (py311)",
    "2001:4:112::1": "AS112-v6 (py311)",
    "2001:20::1": "ORCHIDv2 (py311)",
    "2001:30::1": "drone remote ID (py311)",
    "2620:4f:8000::1": "AS112 direct delegation",
}

NOT_PUBLIC = {
    "0.0.0.0": "this host",
    "0.1.2.3": "this network",
    "10.0.0.1": "private",
    "100.64.0.1": "shared address space",
    "100.127.255.254": "shared address space",
    "127.0.0.1": "loopback",
    "127.255.255.255": "loopback",
    "169.254.169.254": "cloud metadata",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.0.0.1": "DS-Lite",
    "192.0.0.8": "IPv4 dummy address (py311)",
    "192.0.0.9": "PCP anycast (py311; IANA: global)",
    "192.0.0.10": "TURN anycast (py311; IANA: global)",
    "192.0.0.170": "NAT64 discovery",
    "192.0.0.255": "IETF protocol assignments (py311)",
    "192.0.2.1": "TEST-NET-1",
    "192.88.99.1": "deprecated 6to4 relay anycast (py311)",
    "192.168.1.1": "private",
    "198.18.0.1": "benchmarking",
    "198.19.255.255": "benchmarking",
    "198.51.100.7": "TEST-NET-2",
    "203.0.113.9": "TEST-NET-3",
    "224.0.0.1": "multicast (py311)",
    "239.255.255.250": "multicast, SSDP (py311)",
    "240.0.0.1": "reserved",
    "255.255.255.255": "limited broadcast",
    "::": "unspecified",
    "::1": "loopback",
    "::127.0.0.1": "IPv4-compatible loopback (py311)",
    "::8.8.8.8": "IPv4-compatible, deprecated even when public (py311)",
    "::ffff:127.0.0.1": "IPv4-mapped loopback",
    "::ffff:10.0.0.1": "IPv4-mapped private",
    "::ffff:169.254.169.254": "IPv4-mapped metadata",
    "::ffff:192.0.0.8": "IPv4-mapped dummy (py311)",
    "::ffff:100.64.0.1": "IPv4-mapped shared address space (py311)",
    "::ffff:0:7f00:1": "SIIT IPv4-translated (py311)",
    "64:ff9b::7f00:1": "NAT64 of loopback (py311)",
    "64:ff9b::a9fe:a9fe": "NAT64 of cloud metadata (py311)",
    "64:ff9b::c0a8:1": "NAT64 of private (py311)",
    "64:ff9b:1::808:808": "NAT64 local-use prefix (py311)",
    "100::1": "discard-only",
    "100:0:0:1::1": "dummy prefix (py311)",
    "2001:1::1": "PCP anycast",
    "2001:1::3": "DNS-SD SRP anycast",
    "2001:2::1": "benchmarking",
    "2001:5::1": "IETF protocol assignments, unassigned",
    "2001:10::1": "deprecated ORCHID",
    "2001:db8::1": "documentation",
    "2001:0:4136:e378:8000:edcb:80ff:fffe": "Teredo, loopback client",
    "2001:0:4136:e378:8000:edcb:3f57:fefd": "Teredo, private client",
    "2001:0:a00:1:8000:edcb:f7f7:fbfb": "Teredo, private server",
    "2002:7f00:1::": "6to4 of loopback (py311)",
    "2002:a00:1::1": "6to4 of private (py311)",
    "2002:c000:8::1": "6to4 of the IPv4 dummy (py311)",
    "3fff::1": "documentation (py311)",
    "4000::1": "outside global unicast (py311)",
    "5f00::1": "segment routing SIDs (py311)",
    "fc00::1": "unique local",
    "fd12:3456::1": "unique local",
    "fe80::1": "link local",
    "fe80::1%eth0": "link local with a zone",
    "fec0::1": "deprecated site local (py311)",
    "ff02::1": "multicast (py311)",
}


def _cases(table: dict[str, str]) -> list[object]:
    return [pytest.param(address, id=f"{address} {what}") for address, what in table.items()]


@pytest.mark.parametrize("address", _cases(PUBLIC))
def test_public_addresses_are_allowed(address: str) -> None:
    """Globally reachable unicast, also when an IPv6 address carries a public IPv4."""
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", _cases(NOT_PUBLIC))
def test_special_addresses_are_refused(address: str) -> None:
    """Every IANA special-purpose block that is not globally reachable, the anycast ones
    answered from the operator's own network, and any IPv4 an IPv6 address carries."""
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::127.0.0.1", "::127.0.0.1"),
        ("docs.example.com", None),
        ("1.2.3.4.example", None),
    ],
)
def test_numeric_hosts_read_as_a_resolver_reads_them(host: str, address: str | None) -> None:
    """Decimal, octal, hex and short IPv4 forms are the address getaddrinfo makes of them."""
    expected = None if address is None else ipaddress.ip_address(address)
    assert literal_address(host) == expected


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("api.localhost", True),
        ("api.localhost.", True),
        ("localhost.example.com", False),
        ("notlocalhost", False),
    ],
)
def test_localhost_names(host: str, local: bool) -> None:
    """`localhost` and `*.localhost` name the local host whatever a resolver says (RFC 6761)."""
    assert is_local_name(host) is local
