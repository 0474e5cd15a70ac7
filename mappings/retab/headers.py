"""Where Retab's API lives and how its clients present their key (contracts.md §1, §2).
Pure: stdlib only."""

from __future__ import annotations

from collections.abc import Mapping

# the paths Retab's API serves under
PATH_PREFIXES = ("/v1/",)


def presented_key(headers: Mapping[str, str]) -> str:
    """The API key as a Retab client sends it: its SDK's `Authorization: Bearer <key>`, or the
    `Api-Key` header of its docs and cURL samples; "" if neither."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("api-key", "").strip()
