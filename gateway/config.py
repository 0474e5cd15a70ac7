"""One frozen Settings, read once from TOML and the environment (design.md §7).

`load_settings` is the only place that reads configuration; everything else receives a
`Settings`. Unknown keys, unknown backend names and missing secrets are errors that name the
exact key, so a typo stops start-up instead of being ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

DEFAULT_STORE_URL = "sqlite:///crosswalk.db"
SQLITE_SCHEME = "sqlite:///"

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key at fault."""


class Secret:
    """A secret value whose repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for config tables: immutable, and a mistyped key stops start-up."""


class AuthConfig(Config, frozen=True, kw_only=True):
    """`[auth]`: where the gateway keys clients must present come from."""

    api_keys_env: str | None = None


class LocalBackendConfig(Config, frozen=True, kw_only=True, tag_field="kind", tag="local"):
    """`[backends.<name>] kind = "local"`: the embedded offline classifier."""

    allow_private_urls: bool = False  # let document URLs reach loopback/private hosts
    fetch_max_bytes: int = 32 * 1024 * 1024
    fetch_timeout: float = 20.0
    concurrency: int = 2  # background runs processed at once per server process
    lease_seconds: float = 30.0  # a claimed run whose worker stops heartbeating is retaken
    max_attempts: int = 3  # a run interrupted this many times is failed, not retried
    min_run_seconds: float = 0.0  # emulate a vendor's latency for background runs


BackendConfig = LocalBackendConfig


class RoutingConfig(Config, frozen=True, kw_only=True):
    """`[routing]`: which backend gets new runs."""

    default: str


class StoreConfig(Config, frozen=True, kw_only=True):
    """`[store]`: where the run ledger lives."""

    url: str = DEFAULT_STORE_URL


class ServerConfig(Config, frozen=True, kw_only=True):
    """`[server]`: limits of the HTTP server itself."""

    max_body_bytes: int = 32 * 1024 * 1024  # Retab's hosting layer caps requests at 32 MiB
    public_url: str = "http://127.0.0.1:8000"  # used in Extend's dashboardUrl


class FileConfig(Config, frozen=True, kw_only=True):
    """The TOML document's top level, as written."""

    auth: AuthConfig = AuthConfig()
    backends: dict[str, Any] = msgspec.field(default_factory=dict)
    routing: RoutingConfig | None = None
    store: StoreConfig = StoreConfig()
    server: ServerConfig = ServerConfig()


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway needs, resolved: secrets read, names checked."""

    backends: dict[str, BackendConfig]
    default_backend: str
    api_keys: tuple[Secret, ...] = ()
    store_path: str = "crosswalk.db"
    server: ServerConfig = ServerConfig()

    @property
    def open_access(self) -> bool:
        """True when no gateway keys are configured and any non-empty key is accepted."""
        return not self.api_keys


def default_settings() -> Settings:
    """The embedded default: the local backend, SQLite at ./crosswalk.db."""
    return Settings(backends={"local": LocalBackendConfig()}, default_backend="local")


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read `path` (or the defaults when None) and the secrets it names from `environ`."""
    if path is None:
        return default_settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return resolve(raw, environ)


def resolve(raw: dict[str, Any], environ: Mapping[str, str]) -> Settings:
    """Check a parsed TOML document and read the secrets it names."""
    file = _convert(raw, FileConfig, "")
    backends = {name: _backend(name, table) for name, table in file.backends.items()}
    if not backends:
        backends = {"local": LocalBackendConfig()}
    default = file.routing.default if file.routing else _only(backends)
    if default not in backends:
        raise ConfigError(
            f"routing.default: unknown backend {default!r}; known: {_names(backends)}"
        )
    return Settings(
        backends=backends,
        default_backend=default,
        api_keys=_api_keys(file.auth, environ),
        store_path=_store_path(file.store.url),
        server=file.server,
    )


def _backend(name: str, table: Any) -> BackendConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"backends.{name}: expected a table")
    if "kind" not in table:
        raise ConfigError(f"backends.{name}.kind: missing (one of: local)")
    return _convert(table, LocalBackendConfig, f"backends.{name}")


def _api_keys(auth: AuthConfig, environ: Mapping[str, str]) -> tuple[Secret, ...]:
    if auth.api_keys_env is None:
        return ()
    value = environ.get(auth.api_keys_env, "")
    keys = tuple(Secret(k.strip()) for k in value.split(",") if k.strip())
    if not keys:
        raise ConfigError(
            f"auth.api_keys_env: the environment variable {auth.api_keys_env} is unset or empty"
        )
    return keys


def _store_path(url: str) -> str:
    if not url.startswith(SQLITE_SCHEME) or len(url) == len(SQLITE_SCHEME):
        raise ConfigError(f"store.url: expected sqlite:///PATH, got {url!r}")
    return url.removeprefix(SQLITE_SCHEME)


def _only(backends: dict[str, BackendConfig]) -> str:
    if len(backends) == 1:
        return next(iter(backends))
    raise ConfigError(
        f"routing.default: required when several backends are configured ({_names(backends)})"
    )


def _names(backends: Mapping[str, object]) -> str:
    return ", ".join(sorted(backends))


def _convert(raw: Any, type_: type[T], where: str) -> T:
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as exc:
        raise ConfigError(_located(str(exc), where)) from None


def _located(message: str, where: str) -> str:
    """Turn msgspec's `... - at `$.routing.default`` into `routing.default: ...`."""
    text, _, path = message.partition(" - at `$")
    key = path.rstrip("`").lstrip(".")
    unknown = text.startswith("Object contains unknown field")
    if unknown:
        field = text.split("`")[1]
        key = f"{key}.{field}" if key else field
        text = "unknown key"
    full = ".".join(p for p in (where, key) if p)
    return f"{full}: {text}" if full else text
