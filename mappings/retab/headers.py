"""Where Retab's API lives and how its clients present their key (contracts.md §1, §2).
Pure: imports only the stdlib and `mappings`."""

from __future__ import annotations

from collections.abc import Mapping

from mappings.shared import bearer_token

# the paths Retab's API serves under, and its collection of classifications
PATH_PREFIXES = ("/v1/",)
RUNS_PATH = "/v1/classifications"


def presented_key(headers: Mapping[str, str]) -> str:
    """The API key as a Retab client sends it: its SDK's `Authorization: Bearer <key>`, or the
    `Api-Key` header of its docs and cURL samples; "" if neither."""
    return bearer_token(headers) or headers.get("api-key", "").strip()
