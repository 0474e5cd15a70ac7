"""Who is calling: the client's key, checked against the gateway keys (design.md §6).

With no `[auth]` keys configured any non-empty key is accepted and runs are scoped per key;
the key itself is only ever kept as a hash (`owner`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

import msgspec

from gateway.config import Secret, Settings
from gateway.dialects import Dialect
from gateway.errors import Unauthorized
from gateway.store.base import owner_of
from mappings import extend, retab


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller: the hash that scopes its runs, and the key itself."""

    owner: str
    key: Secret


def authenticate(headers: Mapping[str, str], dialect: Dialect, settings: Settings) -> Principal:
    """Read the caller's key as its vendor's SDK sends it; raise Unauthorized if unusable."""
    key = retab.presented_key(headers) if dialect == "retab" else extend.presented_key(headers)
    if not key:
        raise Unauthorized("Not authenticated")
    if settings.api_keys and not any(_same(key, k) for k in settings.api_keys):
        raise Unauthorized("Invalid API key.")
    return Principal(owner=owner_of(key), key=Secret(key))


def _same(presented: str, configured: Secret) -> bool:
    return hmac.compare_digest(presented.encode(), configured.reveal().encode())
