"""Vendor backends in the config: what parses, what is refused and why, and what
`crosswalk check-config` shows (design.md §6, §7). Every refusal names the key at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.config import (
    ConfigError,
    ExtendBackendConfig,
    LocalBackendConfig,
    RetabBackendConfig,
    resolve,
)
from mappings.dialects import Dialect

RETAB_SECRET = "sk-retab-live-4b1d"
EXTEND_SECRET = "sk-extend-live-8e2a"
GATEWAY_SECRETS = "gw-one-77aa,gw-two-88bb"
ENV = {"RETAB_API_KEY": RETAB_SECRET, "EXTEND_API_KEY": EXTEND_SECRET, "GW_KEYS": GATEWAY_SECRETS}
AUTH = {"api_keys_env": "GW_KEYS"}
RETAB = {"kind": "retab", "base_url": "https://api.retab.com", "api_key_env": "RETAB_API_KEY"}
EXTEND = {"kind": "extend", "base_url": "https://api.extend.ai", "api_key_env": "EXTEND_API_KEY"}


def _refused(raw: dict[str, Any], environ: dict[str, str], key: str) -> str:
    """The ConfigError message for `raw`, which must start with `key`."""
    with pytest.raises(ConfigError) as caught:
        resolve(raw, environ)
    message = str(caught.value)
    assert message.startswith(f"{key}:"), message
    return message


def test_vendor_backends_parse_with_their_options() -> None:
    """`kind`, `base_url`, `api_key_env`, the timeouts and Extend's `sync_mode` are read."""
    raw = {
        "auth": AUTH,
        "backends": {
            "r": RETAB | {"connect_timeout": 3.5, "read_timeout": 60, "poll_interval": 0.25},
            "e": EXTEND | {"sync_mode": "poll", "read_timeout": 400.0},
        },
        "routing": {"default": "e"},
    }
    settings = resolve(raw, ENV)
    assert settings.backends["r"] == RetabBackendConfig(
        base_url="https://api.retab.com",
        api_key_env="RETAB_API_KEY",
        connect_timeout=3.5,
        read_timeout=60.0,
        poll_interval=0.25,
    )
    assert settings.backends["e"] == ExtendBackendConfig(
        base_url="https://api.extend.ai",
        api_key_env="EXTEND_API_KEY",
        sync_mode="poll",
        read_timeout=400.0,
    )
    assert {name: key.reveal() for name, key in settings.upstream_keys.items()} == {
        "r": RETAB_SECRET,
        "e": EXTEND_SECRET,
    }
    assert [k.reveal() for k in settings.api_keys] == GATEWAY_SECRETS.split(",")


def test_extend_defaults_keep_above_its_five_minute_sync_limit() -> None:
    """Unset, an Extend backend uses sync `/classify` with a read timeout above 5 minutes."""
    settings = resolve({"auth": AUTH, "backends": {"e": EXTEND}}, ENV)
    backend = settings.backends["e"]
    assert isinstance(backend, ExtendBackendConfig)
    assert backend.sync_mode == "classify"
    assert backend.read_timeout > 300


@pytest.mark.parametrize(
    ("table", "key"),
    [
        pytest.param(EXTEND | {"sync_mode": "stream"}, "backends.e.sync_mode", id="sync-mode"),
        pytest.param(RETAB | {"sync_mode": "poll"}, "backends.e.sync_mode", id="extend-only-key"),
        pytest.param(EXTEND | {"read_timeout": "long"}, "backends.e.read_timeout", id="timeout"),
        pytest.param(EXTEND | {"kind": "openai"}, "backends.e.kind", id="unknown-kind"),
        pytest.param({"base_url": "https://x.test"}, "backends.e.kind", id="no-kind"),
    ],
)
def test_a_bad_vendor_table_names_its_key(table: dict[str, Any], key: str) -> None:
    """A mistyped or unknown value in a backend table is refused naming that key."""
    _refused({"auth": AUTH, "backends": {"e": table}}, ENV, key)


def test_a_missing_base_url_names_it() -> None:
    """A vendor backend needs a `base_url`; the refusal names the backend and the field."""
    table = {k: v for k, v in EXTEND.items() if k != "base_url"}
    message = _refused({"auth": AUTH, "backends": {"e": table}}, ENV, "backends.e")
    assert "base_url" in message


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_upstream_secret_names_api_key_env(value: str | None) -> None:
    """An unset or blank vendor key variable is refused naming `backends.<name>.api_key_env`
    and the variable, never a value."""
    environ = {k: v for k, v in ENV.items() if k != "EXTEND_API_KEY"}
    if value is not None:
        environ["EXTEND_API_KEY"] = value
    raw = {"auth": AUTH, "backends": {"ext": EXTEND}}
    message = _refused(raw, environ, "backends.ext.api_key_env")
    assert "EXTEND_API_KEY" in message
    assert RETAB_SECRET not in message


def test_a_held_vendor_key_needs_gateway_keys() -> None:
    """A backend spending a key crosswalk holds, with no `[auth] api_keys_env`, is refused:
    anyone could spend it."""
    message = _refused({"backends": {"ext": EXTEND}}, ENV, "auth.api_keys_env")
    assert "backends.ext" in message
    assert EXTEND_SECRET not in message


@pytest.mark.parametrize(
    ("surface", "table"),
    [
        pytest.param("retab", EXTEND, id="retab-clients-to-extend"),
        pytest.param("extend", RETAB, id="extend-clients-to-retab"),
    ],
)
def test_a_cross_vendor_route_needs_a_key_of_its_own(surface: str, table: dict[str, Any]) -> None:
    """A backend with no `api_key_env` forwards the client's key, which must never reach
    another vendor: routing the other vendor's clients to it is refused."""
    keyless = {k: v for k, v in table.items() if k != "api_key_env"}
    raw = {
        "backends": {"up": keyless, "local": {"kind": "local"}},
        "routing": {"default": "local", surface: "up"},
    }
    message = _refused(raw, ENV, "backends.up.api_key_env")
    assert f"{surface.title()} clients" in message


@pytest.mark.parametrize(
    ("surface", "table"),
    [pytest.param("retab", RETAB, id="retab"), pytest.param("extend", EXTEND, id="extend")],
)
def test_a_same_vendor_pure_proxy_needs_no_keys(surface: Dialect, table: dict[str, Any]) -> None:
    """A keyless backend serving only its own vendor's clients is a pure proxy: allowed,
    with no upstream key and open gateway access."""
    keyless = {k: v for k, v in table.items() if k != "api_key_env"}
    raw = {
        "backends": {"proxy": keyless, "local": {"kind": "local"}},
        "routing": {"default": "local", surface: "proxy"},
    }
    settings = resolve(raw, {})
    assert settings.backend_for(surface) == "proxy"
    assert settings.backend_for("extend" if surface == "retab" else "retab") == "local"
    assert settings.upstream_keys == {}
    assert not settings.api_keys


def test_per_surface_routes_are_read() -> None:
    """`routing.retab` and `routing.extend` send each surface's new runs to its own backend."""
    raw = {
        "auth": AUTH,
        "backends": {"r": RETAB, "e": EXTEND, "local": {"kind": "local"}},
        "routing": {"default": "local", "retab": "e", "extend": "r"},
    }
    settings = resolve(raw, ENV)
    assert settings.default_backend == "local"
    assert settings.surface_backends == {"retab": "e", "extend": "r"}
    assert isinstance(settings.backends["local"], LocalBackendConfig)


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_per_surface_route_to_an_unknown_backend_is_refused(surface: str) -> None:
    """`routing.<surface>` naming no configured backend is refused, listing the known ones."""
    raw = {
        "backends": {"local": {"kind": "local"}},
        "routing": {"default": "local", surface: "retabb"},
    }
    message = _refused(raw, {}, f"routing.{surface}")
    assert "'retabb'" in message
    assert "known: local" in message


def test_an_unknown_routing_surface_is_refused() -> None:
    """Only the two surfaces can be routed: `routing.openai` is an unknown key."""
    raw = {
        "backends": {"local": {"kind": "local"}},
        "routing": {"default": "local", "openai": "local"},
    }
    _refused(raw, {}, "routing.openai")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crosswalk.toml"
    path.write_text(text, encoding="utf-8")
    return path


VENDORS_TOML = """\
[auth]
api_keys_env = "GW_KEYS"

[backends.retab]
kind = "retab"
base_url = "https://api.retab.com"
api_key_env = "RETAB_API_KEY"

[backends.extend]
kind = "extend"
base_url = "https://api.extend.ai"
api_key_env = "EXTEND_API_KEY"
sync_mode = "poll"

[routing]
default = "extend"
extend = "extend"
retab = "extend"
"""


def test_check_config_shows_routing_per_surface_and_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check-config` prints each surface's backend and whether it is passed through or
    translated, and the variables keys come from, never a key itself."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", str(_write(tmp_path, VENDORS_TOML))]) == 0
    out = capsys.readouterr().out
    assert "retab surface -> extend (translated)" in out
    assert "extend surface -> extend (pass-through)" in out
    assert "extend: kind=extend base_url=https://api.extend.ai (key from $EXTEND_API_KEY)" in out
    assert "retab: kind=retab base_url=https://api.retab.com (key from $RETAB_API_KEY)" in out
    assert "2 gateway key(s) required" in out
    for secret in (RETAB_SECRET, EXTEND_SECRET, *GATEWAY_SECRETS.split(",")):
        assert secret not in out


def test_check_config_shows_a_pure_proxy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A keyless backend is shown as forwarding the client's key."""
    toml = '[backends.up]\nkind = "retab"\nbase_url = "https://api.retab.com"\n'
    toml += '[backends.local]\nkind = "local"\n[routing]\ndefault = "local"\nretab = "up"\n'
    assert main(["check-config", str(_write(tmp_path, toml))]) == 0
    out = capsys.readouterr().out
    assert "up: kind=retab base_url=https://api.retab.com (client's key)" in out
    assert "retab surface -> up (pass-through)" in out
    assert "extend surface -> local (translated)" in out


def test_check_config_refusal_names_the_key_and_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused config exits 2 naming the key at fault on stderr, with no secret in it."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    without_auth = VENDORS_TOML.split("\n\n", 1)[1]
    assert "[auth]" not in without_auth
    assert main(["check-config", str(_write(tmp_path, without_auth))]) == 2
    captured = capsys.readouterr()
    assert "auth.api_keys_env" in captured.err
    assert captured.out == ""
    for secret in (RETAB_SECRET, EXTEND_SECRET, *GATEWAY_SECRETS.split(",")):
        assert secret not in captured.err
