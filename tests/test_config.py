"""Settings: defaults, and every mistake named by its exact key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import describe, main
from gateway.config import ConfigError, LocalBackendConfig, load_settings, resolve

CONFIGS = Path(__file__).parent.parent / "fixtures" / "config"


def test_no_config_is_the_embedded_default() -> None:
    """Without a file: one local backend, the ledger at ./crosswalk.db, open auth."""
    settings = load_settings(None, {})
    assert settings.backends == {"local": LocalBackendConfig()}
    assert settings.default_backend == "local"
    assert settings.store_path == "crosswalk.db"
    assert not settings.api_keys


def test_file_is_read_with_its_secrets() -> None:
    """Keys come from the environment variable the file names, split on commas."""
    settings = load_settings(CONFIGS / "two_keys.toml", {"CROSSWALK_API_KEYS": "k1, k2"})
    assert [k.reveal() for k in settings.api_keys] == ["k1", "k2"]
    assert settings.default_backend == "offline"
    offline = settings.backends["offline"]
    assert isinstance(offline, LocalBackendConfig)
    assert offline.concurrency == 4
    assert settings.store_path == "var/crosswalk.db"


@pytest.mark.parametrize(
    ("raw", "env", "named"),
    [
        pytest.param({"bogus": 1}, {}, "bogus: unknown key", id="top-level"),
        pytest.param(
            {"backends": {"a": {"kind": "local", "concurrencyy": 2}}},
            {},
            "backends.a.concurrencyy: unknown key",
            id="backend-key",
        ),
        pytest.param(
            {"backends": {"a": {"kind": "locale"}}}, {}, "backends.a.kind", id="backend-kind"
        ),
        pytest.param({"backends": {"a": {}}}, {}, "backends.a.kind: missing", id="no-kind"),
        pytest.param({"routing": {"default": "nope"}}, {}, "routing.default", id="routing"),
        pytest.param(
            {"auth": {"api_keys_env": "MISSING"}}, {}, "auth.api_keys_env", id="missing-secret"
        ),
        pytest.param({"server": {"max_body_bytes": "big"}}, {}, "server.max_body_bytes", id="type"),
        pytest.param({"store": {"url": "mysql://x"}}, {}, "store.url", id="store"),
    ],
)
def test_mistakes_name_the_exact_key(
    raw: dict[str, object], env: dict[str, str], named: str
) -> None:
    """Each configuration mistake stops start-up with the key at fault in the message."""
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        resolve(raw, env)


def test_secrets_never_print() -> None:
    """A key's repr, the settings' repr and `check-config` output never show its value."""
    settings = load_settings(CONFIGS / "two_keys.toml", {"CROSSWALK_API_KEYS": "sk-live-123"})
    assert "sk-live-123" not in repr(settings)
    assert "sk-live-123" not in describe(settings)


def test_check_config_prints_routing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`crosswalk check-config FILE` prints backends and routing and exits 0."""
    monkeypatch.setenv("CROSSWALK_API_KEYS", "sk-live-123")
    monkeypatch.chdir(tmp_path)  # the config's relative ledger, var/crosswalk.db, is here
    (tmp_path / "var").mkdir()
    assert main(["check-config", str(CONFIGS / "two_keys.toml")]) == 0
    out = capsys.readouterr().out
    assert "offline: kind=local" in out
    assert "default: offline" in out
    assert "sk-live-123" not in out


def test_check_config_rejects_a_typo(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt key is a configuration error (exit 2) naming it."""
    assert main(["check-config", str(CONFIGS / "typo.toml")]) == 2
    assert "backends.local.alow_private_urls: unknown key" in capsys.readouterr().err
