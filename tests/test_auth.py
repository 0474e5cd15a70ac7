"""Who is calling: keys as each SDK sends them, checked in constant time, kept only hashed."""

from __future__ import annotations

import pytest

from gateway.auth import authenticate
from gateway.config import LocalBackendConfig, Secret, Settings
from gateway.errors import Unauthorized
from gateway.store.base import owner_of


def _settings(*keys: str) -> Settings:
    return Settings(
        backends={"local": LocalBackendConfig()},
        default_backend="local",
        api_keys=tuple(Secret(k) for k in keys),
    )


def test_bearer_and_retab_api_key_header_are_the_same_caller() -> None:
    """Retab clients may send `Authorization: Bearer` or `Api-Key`; both name one owner."""
    bearer = authenticate({"authorization": "Bearer k1"}, "retab", _settings())
    api_key = authenticate({"api-key": "k1"}, "retab", _settings())
    assert bearer.owner == api_key.owner == owner_of("k1")


def test_extend_takes_only_bearer() -> None:
    """Extend's SDK sends Bearer only; `Api-Key` is not an Extend header."""
    with pytest.raises(Unauthorized):
        authenticate({"api-key": "k1"}, "extend", _settings())


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer "}, {"authorization": "Basic x"}]
)
def test_missing_key_is_unauthorized(headers: dict[str, str]) -> None:
    """No usable key is a 401 in either dialect."""
    with pytest.raises(Unauthorized):
        authenticate(headers, "retab", _settings())


def test_configured_keys_are_enforced() -> None:
    """With gateway keys configured, only those keys get in."""
    settings = _settings("right")
    assert authenticate({"authorization": "Bearer right"}, "extend", settings)
    with pytest.raises(Unauthorized):
        authenticate({"authorization": "Bearer wrong"}, "extend", settings)


def test_the_key_is_kept_only_as_a_hash() -> None:
    """The owner id is a hash; the principal's key never prints."""
    principal = authenticate({"authorization": "Bearer sk-live-9"}, "retab", _settings())
    assert "sk-live-9" not in principal.owner
    assert "sk-live-9" not in repr(principal)
