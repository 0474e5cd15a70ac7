"""`[routing] shadow` in the config: the backends named must exist, once each, hold a key of
their own (a pure proxy would spend the client's), and a key crosswalk holds needs gateway keys
(design.md §6); `crosswalk check-config` shows them."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cli import describe
from gateway.config import ConfigError, Settings, resolve
from tests.harness import URLS

KEYS_ENV = {"CROSSWALK_API_KEYS": "gw-key", "RETAB_API_KEY": "sk-retab"}


def _resolve(
    routing: dict[str, Any], backends: dict[str, Any], environ: dict[str, str] | None = None
) -> Settings:
    auth = {"api_keys_env": "CROSSWALK_API_KEYS"} if environ is KEYS_ENV else {}
    raw = {"backends": backends, "routing": routing, "auth": auth}
    return resolve(raw, environ or {})


LOCAL = {"local": {"kind": "local"}}
RETAB_KEYED = {"kind": "retab", "base_url": URLS["retab"], "api_key_env": "RETAB_API_KEY"}


def test_config_resolves_the_shadow_backends_and_check_config_shows_them() -> None:
    backends = {**LOCAL, "retab": RETAB_KEYED}
    settings = _resolve({"default": "local", "shadow": ["retab"]}, backends, KEYS_ENV)
    assert settings.shadow == ("retab",)
    assert "shadow (a copy of every create, compared): retab" in describe(settings)


def test_config_names_an_unknown_shadow_backend() -> None:
    with pytest.raises(ConfigError, match=r"routing\.shadow\[1\]: unknown backend 'nowhere'"):
        _resolve({"default": "local", "shadow": ["local", "nowhere"]}, LOCAL)


def test_config_refuses_a_shadow_listed_twice() -> None:
    with pytest.raises(ConfigError, match=r"routing\.shadow\[1\]: backend 'local' is listed twice"):
        _resolve({"default": "local", "shadow": ["local", "local"]}, LOCAL)


def test_a_pure_proxy_cannot_be_a_shadow() -> None:
    """A keyless vendor backend forwards the client's own key: a shadow there would spend it
    on a run the client never asked for."""
    backends = {**LOCAL, "retab": {"kind": "retab", "base_url": URLS["retab"]}}
    with pytest.raises(ConfigError, match=r"routing\.shadow\[0\]: backend 'retab' is a pure proxy"):
        _resolve({"default": "local", "shadow": ["retab"]}, backends)


def test_a_shadow_spending_a_key_crosswalk_holds_requires_gateway_keys() -> None:
    backends = {**LOCAL, "retab": RETAB_KEYED}
    environ = {"RETAB_API_KEY": "sk-retab"}
    with pytest.raises(ConfigError, match=r"auth\.api_keys_env: required.*routing\.shadow"):
        _resolve({"default": "local", "shadow": ["retab"]}, backends, environ)


def test_a_shadow_whose_runs_are_never_refreshed_is_refused() -> None:
    """Nobody but the refresher reads a shadow's background run again (the client never
    polls it): with `refresh_interval = 0` its comparison would never complete."""
    backends = {**LOCAL, "retab": {**RETAB_KEYED, "refresh_interval": 0}}
    with pytest.raises(
        ConfigError, match=r"routing\.shadow\[0\]: backend 'retab' has refresh_interval = 0"
    ):
        _resolve({"default": "local", "shadow": ["retab"]}, backends, KEYS_ENV)
    kept = {**LOCAL, "retab": {**RETAB_KEYED, "refresh_interval": 0}}
    assert _resolve({"default": "retab", "shadow": ["local"]}, kept, KEYS_ENV).shadow == ("local",)
