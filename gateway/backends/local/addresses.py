"""Which hosts and IP addresses a document may be fetched from: globally reachable unicast only.

An explicit table after IANA's IPv4 and IPv6 special-purpose address registries, because
Python 3.11's `ipaddress.is_global` calls several internal blocks public (192.0.0.0/24 but for
its first eight addresses, multicast, `::a.b.c.d`, NAT64, 6to4, 3fff::/20, fec0::/10). An IPv6
address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4, Teredo) reaches that IPv4 address,
so it is judged by the IPv4 it carries. No I/O: the stdlib's parsers only.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Carried = Callable[[ipaddress.IPv6Address], tuple[ipaddress.IPv4Address, ...]]
Rule = Literal["allow", "refuse"] | Carried


def _last_32_bits(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)


def _sixtofour(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return () if ip.sixtofour is None else (ip.sixtofour,)


def _teredo(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    # the server's address and the client's (stored inverted; `teredo` undoes that)
    return () if ip.teredo is None else ip.teredo


# (block, rule, what it is); the longest block holding an address decides (IANA registries as
# of 2025; "IANA: global" marks a block IANA calls globally reachable that is refused anyway)
_IPV4: tuple[tuple[str, Rule, str], ...] = (
    ("0.0.0.0/0", "allow", "globally routed unicast"),
    ("0.0.0.0/8", "refuse", "this network; 0.0.0.0 reaches the local host (RFC 791)"),
    ("10.0.0.0/8", "refuse", "private use (RFC 1918)"),
    ("100.64.0.0/10", "refuse", "shared address space, carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "refuse", "loopback"),
    ("169.254.0.0/16", "refuse", "link local, cloud metadata services (RFC 3927)"),
    ("172.16.0.0/12", "refuse", "private use (RFC 1918)"),
    # includes the dummy 192.0.0.8 and NAT64 discovery 192.0.0.170/171; also PCP 192.0.0.9 and
    # TURN 192.0.0.10 (IANA: global), anycast answered by the operator's own network
    ("192.0.0.0/24", "refuse", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "refuse", "documentation, TEST-NET-1 (RFC 5737)"),
    ("192.31.196.0/24", "allow", "AS112-v4 (RFC 7535)"),
    ("192.52.193.0/24", "allow", "AMT (RFC 7450)"),
    # IANA: global; the relay answering it is whichever one the local network routes to
    ("192.88.99.0/24", "refuse", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "refuse", "private use (RFC 1918)"),
    ("192.175.48.0/24", "allow", "AS112 direct delegation (RFC 7534)"),
    ("198.18.0.0/15", "refuse", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "refuse", "documentation, TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "refuse", "documentation, TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "refuse", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "refuse", "reserved, and 255.255.255.255 limited broadcast (RFC 1112)"),
)
_IPV6: tuple[tuple[str, Rule, str], ...] = (
    ("::/0", "refuse", "outside global unicast: reserved by the IETF unless listed"),
    ("::/128", "refuse", "unspecified"),
    ("::1/128", "refuse", "loopback"),
    # some stacks still route `::a.b.c.d` to the IPv4 address it carries
    ("::/96", "refuse", "deprecated IPv4-compatible (RFC 4291)"),
    ("::ffff:0:0/96", _last_32_bits, "IPv4-mapped (RFC 4291)"),
    # DNS64 answers these for IPv4-only hosts, so a public IPv4 behind them is fetched
    ("64:ff9b::/96", _last_32_bits, "NAT64 well-known prefix (RFC 6052)"),
    ("64:ff9b:1::/48", "refuse", "NAT64 local-use prefix (RFC 8215)"),
    ("100::/64", "refuse", "discard-only (RFC 6666)"),
    ("100:0:0:1::/64", "refuse", "dummy prefix (RFC 9780)"),
    ("2000::/3", "allow", "global unicast"),
    # also PCP, TURN and DNS-SD anycast 2001:1::1-3 (IANA: global), as 192.0.0.9 and .10 above
    ("2001::/23", "refuse", "IETF protocol assignments (RFC 2928)"),
    ("2001::/32", _teredo, "Teredo (RFC 4380)"),
    ("2001:2::/48", "refuse", "benchmarking (RFC 5180)"),
    ("2001:3::/32", "allow", "AMT (RFC 7450)"),
    ("2001:4:112::/48", "allow", "AS112-v6 (RFC 7535)"),
    ("2001:10::/28", "refuse", "deprecated ORCHID (RFC 4843)"),
    ("2001:20::/28", "allow", "ORCHIDv2 (RFC 7343)"),
    ("2001:30::/28", "allow", "drone remote ID (RFC 9374)"),
    ("2001:db8::/32", "refuse", "documentation (RFC 3849)"),
    ("2002::/16", _sixtofour, "6to4 (RFC 3056)"),
    ("2620:4f:8000::/48", "allow", "AS112 direct delegation (RFC 7534)"),
    ("3fff::/20", "refuse", "documentation (RFC 9637)"),
    ("5f00::/16", "refuse", "segment routing SIDs (RFC 9602)"),
    ("fc00::/7", "refuse", "unique local (RFC 4193)"),
    ("fe80::/10", "refuse", "link local (RFC 4291)"),
    ("fec0::/10", "refuse", "deprecated site local (RFC 3879)"),
    ("ff00::/8", "refuse", "multicast (RFC 4291)"),
)


def _by_length(
    table: tuple[tuple[str, Rule, str], ...],
) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Rule], ...]:
    # longest prefix first, so the first block holding an address is the one that decides
    blocks = [(ipaddress.ip_network(block), rule) for block, rule, _ in table]
    return tuple(sorted(blocks, key=lambda entry: -entry[0].prefixlen))


_RULES_V4 = _by_length(_IPV4)
_RULES_V6 = _by_length(_IPV6)


def is_public(address: IPAddress) -> bool:
    """True when `address`, and any IPv4 address it carries, is globally reachable unicast."""
    rules = _RULES_V4 if isinstance(address, ipaddress.IPv4Address) else _RULES_V6
    rule = next(rule for block, rule in rules if address in block)
    if rule == "allow":
        return True
    if rule == "refuse":
        return False
    assert isinstance(address, ipaddress.IPv6Address)  # only IPv6 blocks carry IPv4 ones
    carried = rule(address)
    return bool(carried) and all(is_public(v4) for v4 in carried)


def is_local_name(host: str) -> bool:
    """`localhost` and its subdomains, which always name the local host (RFC 6761)."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in any form a resolver reads as one: dotted,
    IPv6, or the decimal, octal, hex and short IPv4 forms (`2130706433`, `0x7f.1`, `127.1`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton is what getaddrinfo falls back on for a name that is all numbers
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None
