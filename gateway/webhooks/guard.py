"""Sending to a webhook endpoint only where a document may be fetched from, unless allowed.

An endpoint's host is checked with the document URLs' policy (`gateway.backends.local`'s
`addresses`, through `fetch.checked_addresses`): every address it resolves to must be public
unless the endpoint sets `allow_private`. The request then goes to a checked address itself
(`fetch.send_pinned`), so a name that answers differently the second time cannot move it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from gateway.backends.local.fetch import (
    FetchFailed,
    FetchRefused,
    Resolver,
    checked_addresses,
    send_pinned,
)


class Unreachable(Exception):
    """The endpoint was not sent to: its address is refused, or its host does not resolve."""

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


async def post_pinned(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    allow_private: bool,
    resolve: Resolver,
) -> httpx.Response:
    """POST `content` to `url` at a checked address; the answer is streamed and its body left
    unread (the caller closes it). Raises Unreachable, or httpx's errors for a connection
    that fails or times out. Redirects are not followed: a 3xx is simply not a 2xx."""
    try:
        target = httpx.URL(url)
        addresses = await checked_addresses(target, allow_private, resolve)
    except (FetchRefused, httpx.InvalidURL) as exc:
        raise Unreachable(f"endpoint refused: {exc}", refused=True) from None
    except FetchFailed as exc:
        raise Unreachable(str(exc), refused=False) from None
    return await send_pinned(
        client, target, addresses, method="POST", content=content, headers=headers
    )
