"""One frozen Settings, read once from TOML and the environment (design.md §7).

`load_settings` is the only place that reads configuration; everything else receives a
`Settings`. Unknown keys, unknown backend names and missing secrets are errors that name the
exact key, so a typo stops start-up instead of being ignored.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict

from gateway.store.postgres.urls import is_postgres, redacted
from mappings import extend
from mappings.dialects import DIALECTS, Dialect
from mappings.errors import InvalidInput
from mappings.shared import BACKEND_NAME

DEFAULT_STORE_URL = "sqlite:///crosswalk.db"
SQLITE_SCHEME = "sqlite:///"
# connections per server process: `--workers N` replicas R hold up to N*R times as many, and
# PostgreSQL serves 100 by default
DEFAULT_POOL_SIZE, MAX_POOL_SIZE = 10, 100
# the run-id codec puts backend names into public ids (mappings/ids.py)

T = TypeVar("T")
N = TypeVar("N", int, float)
Positive = Annotated[N, msgspec.Meta(gt=0)]
NonNegative = Annotated[N, msgspec.Meta(ge=0)]
# TOML reads `inf`; an infinite price would turn every cost (and its chart) into nonsense
Price = Annotated[float, msgspec.Meta(ge=0, le=sys.float_info.max)]


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
    min_run_seconds: float = 0.0  # every run takes at least this: emulates a vendor's latency
    # PDFs, HTML and large documents are read in separate processes, killed at the deadline,
    # so that a hostile document holds neither a core nor the API for long (pool.py)
    extract_workers: Positive[int] = 2  # processes per server process
    # seconds: pypdf reads an ordinary page in milliseconds and a dense one in ~50 ms, so even
    # `max_pages` dense pages fit; a document still being read after that is hostile or broken
    extract_timeout: Positive[float] = 60.0
    # a PDF with more pages to read than this is refused, naming the limit; callers wanting
    # only its start ask for a page range (Retab `first_n_pages`, Extend `pageRanges`)
    max_pages: Positive[int] = 1000

    @property
    def kind(self) -> Literal["local"]:
        return "local"


class VendorBackendConfig(Config, frozen=True, kw_only=True, tag_field="kind"):
    """A vendor's API upstream; its key comes from the environment variable `api_key_env`.

    With no `api_key_env` the backend is a pure proxy: each client's own key is forwarded,
    so only clients of the same vendor can be routed to it (design.md §6).
    """

    base_url: str
    api_key_env: str | None = None
    connect_timeout: float = 10.0
    # above Extend's own 5-minute limit on sync /classify (contracts.md §10 hazard 30)
    read_timeout: float = 330.0
    # the whole of one call: connect, headers and the entire body. Read timeouts alone never
    # end a vendor that drips a byte every few seconds. Kept above connect + read timeouts,
    # so a sync /classify answered near Extend's 5-minute limit is not cut short (hazard 30)
    call_timeout: Positive[float] = 360.0
    # an answer larger than this (decoded) is refused with a 502, its read stopped there. A
    # run is kilobytes; a relayed list page of thousands of runs fits with room to spare
    max_response_bytes: Positive[int] = 16 * 1024 * 1024
    max_connections: Positive[int] = 100  # pooled connections to the vendor, for all calls
    retries: NonNegative[int] = 2  # of one idempotent call (a read, a delete), budget allowing
    # consecutive failures (no connection, a timeout, a 5xx) that take the backend out of
    # service, and for how many seconds (gateway/backends/circuit.py)
    circuit_failures: Positive[int] = 5
    circuit_cooldown: Positive[float] = 30.0
    poll_interval: float = 1.0  # while waiting for an upstream background run to finish
    # unfinished runs are re-read from the vendor this often (0: never), so that listings,
    # served from the ledger, catch up with runs nobody polls
    refresh_interval: float = 30.0
    # what one credit of this vendor's usage costs, for the comparison report's cost per
    # 1,000 documents; None: not priced (the report shows no cost for it)
    usd_per_credit: Price | None = None

    @property
    def kind(self) -> Dialect:
        """The vendor it reaches, as its `kind` names it."""
        raise NotImplementedError


class RetabBackendConfig(VendorBackendConfig, frozen=True, kw_only=True, tag="retab"):
    """`[backends.<name>] kind = "retab"`: Retab's API (`https://api.retab.com`)."""

    @property
    def kind(self) -> Literal["retab"]:
        return "retab"


class ExtendBackendConfig(VendorBackendConfig, frozen=True, kw_only=True, tag="extend"):
    """`[backends.<name>] kind = "extend"`: Extend's API (`https://api.extend.ai`).

    `sync_mode` says how a sync create (Retab `background: false`) runs there: `classify`
    is Extend's sync `POST /classify`, which gives up after five minutes; `poll` creates a
    run and polls it, with no such limit (hazard 30).
    """

    sync_mode: Literal["classify", "poll"] = "classify"
    # the signing secret (wss_…) of the Extend webhook endpoint an operator points at
    # crosswalk's `POST /crosswalk/webhooks/extend`; unset, that endpoint refuses everything
    webhook_secret_env: str | None = None

    @property
    def kind(self) -> Literal["extend"]:
        return "extend"


BackendConfig = LocalBackendConfig | RetabBackendConfig | ExtendBackendConfig
VENDOR_KINDS = DIALECTS


class RoutingConfig(Config, frozen=True, kw_only=True):
    """`[routing]`: which backend gets new runs, overall and per surface.

    `split` weighs backends for new runs, sticky per document (gateway/routing.py); it
    applies on both surfaces except one with its own route (`retab = …`, `extend = …`), which
    wins. `default` still serves a create whose document cannot be read. `fallback` lists the
    backends tried in order when the primary fails before a run exists (a primary is skipped
    in its own list)."""

    default: str
    retab: str | None = None  # backend for creates on the Retab surface, if not `default`
    extend: str | None = None  # backend for creates on the Extend surface, if not `default`
    split: dict[str, int] | None = None  # backend name -> non-negative integer weight
    fallback: tuple[str, ...] = ()  # backend names, tried in this order
    shadow: tuple[str, ...] = ()  # backend names that also get a copy of every create


class StoreConfig(Config, frozen=True, kw_only=True):
    """`[store]`: where the run ledger lives: `sqlite:///PATH` (one host), or
    `postgresql://…` / `postgres://…` (a database every replica shares; its password in the
    URL or in libpq's `$PGPASSWORD`/`~/.pgpass`, never shown). `pool_size` bounds each server
    process's connections to PostgreSQL (SQLite's ledger keeps a fixed few)."""

    url: str = DEFAULT_STORE_URL
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_POOL_SIZE)] = DEFAULT_POOL_SIZE


class ServerConfig(Config, frozen=True, kw_only=True):
    """`[server]`: limits of the HTTP server itself."""

    max_body_bytes: int = 32 * 1024 * 1024  # Retab's hosting layer caps requests at 32 MiB
    # Extend's dashboardUrl and file links; unset, `crosswalk serve` uses the address it serves
    public_url: str = "http://127.0.0.1:8000"
    # a sync create answers within this or gets a 504; kept above Extend's own 5-minute sync
    # limit so a slow vendor is never cut short by the gateway (contracts.md §10 hazard 30)
    sync_timeout: float = 600.0
    # on SIGTERM, in-flight requests get this long to finish before they are cut off
    shutdown_timeout: Positive[float] = 30.0
    # the event loop and the HTTP/1.1 parser serving requests: uvloop and httptools (C) were
    # the fastest measured (bench/stack.py); asyncio and h11 (pure Python) remain to be chosen
    loop: Literal["uvloop", "asyncio"] = "uvloop"
    http: Literal["httptools", "h11"] = "httptools"


class FilesConfig(Config, frozen=True, kw_only=True):
    """`[files]`: where uploaded files are kept and how they are served (gateway/files/).

    `storage` is where files' bytes are kept: "disk", one file per id under `dir`; or
    "database", in the ledger itself, so replicas need no shared path. `dir` defaults to
    `<ledger file>-files` beside the ledger; with a PostgreSQL ledger it has no default and
    must be a directory every replica shares, unless `storage` is "database" and `secret_env`
    is set. `secret_env` names the variable holding the secret download links are signed
    with; without it one is made once and kept at `<ledger file>-files-key` (mode 0600),
    shared by every process using that ledger (with PostgreSQL at `<dir>/.link-key`, shared
    by every replica through `dir`).
    """

    storage: Literal["disk", "database"] = "disk"
    dir: str | None = None
    max_bytes: Positive[int] = 512 * 1024 * 1024  # an upload past this is refused with a 413
    secret_env: str | None = None
    link_ttl: Positive[float] = 900.0  # seconds a download link works: 15 minutes, as Extend's


class BatchConfig(Config, frozen=True, kw_only=True):
    """`[batch]`: how batch runs are fanned out to backends that take one run per call."""

    concurrency: Positive[int] = 4  # inputs being created at once per server process


class LimitsConfig(Config, frozen=True, kw_only=True):
    """`[limits]`: per client key, answered with a 429 and `Retry-After` (gateway/limits.py);
    0 turns a limit off, as by default. Kept per server process: with N workers a key may get
    N times as much, until a shared store holds them (issue 15)."""

    concurrency_per_key: NonNegative[int] = 0  # requests of one key being served at once
    rate_per_key: NonNegative[float] = 0.0  # requests per second, refilled continuously
    burst: NonNegative[int] = 0  # requests at once after a pause; 0: the rate, at least 1


class WebhookConfig(Config, frozen=True, kw_only=True):
    """One `[[webhooks]]` table: an endpoint that gets Extend-shaped, Extend-signed events.

    `name` identifies the endpoint in the outbox and `crosswalk webhooks list`; it defaults to
    the URL's host (never its path or query, which may hold a token), `host-2`, `host-3`… for
    further unnamed endpoints on one host in config order. `events` defaults to
    every event crosswalk raises. Its address must be public unless `allow_private`."""

    url: str
    secret_env: str
    name: str | None = None
    events: tuple[str, ...] | None = None
    allow_private: bool = False
    timeout: Positive[float] = 30.0  # Extend waits 30 s for a 2xx (contracts.md §8)


class WebhookEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A `[[webhooks]]` endpoint, resolved: its secret read and its events checked."""

    name: str
    url: str
    secret: Secret
    events: tuple[str, ...]
    allow_private: bool = False
    timeout: float = 30.0


class FileConfig(Config, frozen=True, kw_only=True):
    """The TOML document's top level, as written."""

    auth: AuthConfig = AuthConfig()
    backends: dict[str, Any] = msgspec.field(default_factory=dict)
    routing: RoutingConfig | None = None
    store: StoreConfig = StoreConfig()
    server: ServerConfig = ServerConfig()
    classifiers: dict[str, Any] = msgspec.field(default_factory=dict)
    files: FilesConfig = FilesConfig()
    batch: BatchConfig = BatchConfig()
    webhooks: tuple[WebhookConfig, ...] = ()
    limits: LimitsConfig = LimitsConfig()


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway needs, resolved: secrets read, names checked.

    `surface_backends` overrides `default_backend` per surface ("retab", "extend");
    `split` the weights of `[routing] split` by backend, for surfaces without their own route;
    `fallback` the backends of `[routing] fallback`, in the order they are tried;
    `shadow` the backends of `[routing] shadow`, each sent a copy of every create a client
    sends (a batch's inputs are not shadowed; never a pure proxy: it would spend the client's
    own key; never a backend with `refresh_interval = 0`: its runs would never finish);
    `upstream_keys` holds the vendor keys read from each backend's `api_key_env`;
    `classifiers` the saved classifiers of `[classifiers.<id>]`, by id;
    `files_secret` the download-link secret read from `[files] secret_env`, if it names one;
    `webhooks` the `[[webhooks]]` endpoints; `vendor_webhook_secrets` the signing secrets of
    Extend's own webhooks relayed through crosswalk, by backend (`webhook_secret_env`);
    `limits` the per-key limits of `[limits]`.
    """

    backends: dict[str, BackendConfig]
    default_backend: str
    surface_backends: dict[Dialect, str] = msgspec.field(default_factory=dict)
    split: dict[str, int] = msgspec.field(default_factory=dict)
    fallback: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()
    api_keys: tuple[Secret, ...] = ()
    upstream_keys: dict[str, Secret] = msgspec.field(default_factory=dict)
    store_path: str = "crosswalk.db"  # the SQLite ledger's file, when `store_url` is None
    store_url: str | None = None  # the PostgreSQL ledger's URL (may hold a password)
    store_pool_size: int = DEFAULT_POOL_SIZE
    server: ServerConfig = ServerConfig()
    classifiers: dict[str, extend.SavedClassifier] = msgspec.field(default_factory=dict)
    files: FilesConfig = FilesConfig()
    files_secret: Secret | None = None
    batch: BatchConfig = BatchConfig()
    webhooks: tuple[WebhookEndpoint, ...] = ()
    vendor_webhook_secrets: dict[str, Secret] = msgspec.field(default_factory=dict)
    limits: LimitsConfig = LimitsConfig()

    def backend_for(self, surface: Dialect) -> str:
        """The backend that gets new runs created through `surface`."""
        return self.surface_backends.get(surface, self.default_backend)

    def backends_for(self, surface: Dialect) -> tuple[str, ...]:
        """Every backend a new run created through `surface` may go to: its own route, or
        the default and each backend the split can pick; then each fallback backend."""
        if surface in self.surface_backends or not self.split:
            primaries: tuple[str, ...] = (self.backend_for(surface),)
        else:
            picked = sorted(name for name, weight in self.split.items() if weight > 0)
            primaries = (self.default_backend, *(n for n in picked if n != self.default_backend))
        return (*primaries, *(n for n in dict.fromkeys(self.fallback) if n not in primaries))

    def prices(self) -> dict[str, float]:
        """USD per credit of each backend with a price: the local backend is free, a vendor
        backend priced by its `usd_per_credit` (one without is left out: its cost unknown)."""
        priced: dict[str, float] = {}
        for name, backend in self.backends.items():
            if isinstance(backend, LocalBackendConfig):
                priced[name] = 0.0
            elif backend.usd_per_credit is not None:
                priced[name] = backend.usd_per_credit
        return priced

    @property
    def store(self) -> str:
        """The ledger's place: its PostgreSQL URL, or its SQLite file's path."""
        return self.store_url or self.store_path

    @property
    def store_shown(self) -> str:
        """The ledger as logs and printouts name it: `sqlite PATH` or `postgresql URL`,
        the URL's password hidden."""
        if self.store_url is None:
            return f"sqlite {self.store_path}"
        return f"postgresql {redacted(self.store_url)}"

    @property
    def files_dir(self) -> str:
        """Where uploaded files' bytes are kept: `[files] dir`, or beside the ledger's file
        (with PostgreSQL `[files] dir` is required: `resolve` checks)."""
        return self.files.dir or f"{self.store_path}-files"

    @property
    def files_key_path(self) -> str:
        """Where the made download-link secret is kept when no `secret_env` is given: beside
        the SQLite ledger; with PostgreSQL inside `[files] dir`, which every replica shares,
        so they all sign and check links with one secret."""
        if self.store_url is not None:
            return str(Path(self.files_dir) / ".link-key")
        return f"{self.store_path}-files-key"


def default_settings() -> Settings:
    """The embedded default: the local backend, SQLite at ./crosswalk.db."""
    return Settings(backends={"local": LocalBackendConfig()}, default_backend="local")


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read `path` (or the defaults when None) and the secrets it names from `environ`."""
    if path is None:
        return default_settings()
    return resolve(_read(path), environ)


def load_store_path(path: Path | None) -> str:
    """Only the ledger's place (`Settings.store`: a SQLite path or a PostgreSQL URL), from
    `[store] url` of `path` (the default when None): what `crosswalk webhooks`, `compare` and
    `migrate` need, with no secret read and no other table checked."""
    if path is None:
        return default_settings().store_path
    store = _convert(_read(path).get("store", {}), StoreConfig, "store")
    return _postgres_url(store.url) if is_postgres(store.url) else _store_path(store.url)


def load_prices(path: Path | None) -> dict[str, float]:
    """Only the backends' prices (`Settings.prices`) of `path`: what `crosswalk compare` needs
    beside the ledger's path, with no secret read and no other table checked."""
    if path is None:
        return default_settings().prices()
    tables = _convert(_read(path).get("backends", {}), dict[str, Any], "backends")
    backends = {name: _backend(name, table) for name, table in tables.items()}
    return Settings(backends=backends, default_backend="").prices()


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def resolve(raw: dict[str, Any], environ: Mapping[str, str]) -> Settings:
    """Check a parsed TOML document and read the secrets it names."""
    file = _convert(raw, FileConfig, "")
    backends = {name: _backend(name, table) for name, table in file.backends.items()}
    if not backends:
        backends = {"local": LocalBackendConfig()}
    default = file.routing.default if file.routing else _only(backends)
    surfaces: dict[Dialect, str] = {}
    if file.routing is not None:
        surfaces = {s: b for s in VENDOR_KINDS if (b := getattr(file.routing, s)) is not None}
    routes: list[tuple[str, str]] = [("default", default), *surfaces.items()]
    for key, name in routes:
        if name not in backends:
            raise ConfigError(f"routing.{key}: unknown backend {name!r}; known: {_names(backends)}")
    split = _split(file.routing.split, backends) if file.routing is not None else {}
    fallback = _fallback(file.routing.fallback, backends) if file.routing is not None else ()
    shadow = _shadow(file.routing.shadow, backends) if file.routing is not None else ()
    settings = Settings(
        backends=backends,
        default_backend=default,
        surface_backends=surfaces,
        split=split,
        fallback=fallback,
        shadow=shadow,
        api_keys=_api_keys(file.auth, environ),
        upstream_keys=_upstream_keys(backends, environ),
        **_store(file),
        server=file.server,
        classifiers={cid: _classifier(cid, table) for cid, table in file.classifiers.items()},
        files=file.files,
        files_secret=_files_secret(file.files, environ),
        batch=file.batch,
        webhooks=_webhooks(file.webhooks, environ),
        vendor_webhook_secrets=_vendor_webhook_secrets(backends, environ),
        limits=file.limits,
    )
    check_secrets(settings)
    return settings


# weights are proportions; a bound keeps their total far below the 2**64 points a document's
# hash is laid on (gateway/routing.py), so even the smallest weight gets its share
MAX_WEIGHT = 1_000_000


def _split(weights: dict[str, int] | None, backends: Mapping[str, object]) -> dict[str, int]:
    if weights is None:
        return {}
    for name, weight in weights.items():
        if name not in backends:
            raise ConfigError(
                f"routing.split.{name}: unknown backend {name!r}; known: {_names(backends)}"
            )
        if not 0 <= weight <= MAX_WEIGHT:
            raise ConfigError(
                f"routing.split.{name}: a weight is an integer from 0 to {MAX_WEIGHT}, got {weight}"
            )
    if not any(weights.values()):
        raise ConfigError("routing.split: at least one backend needs a positive weight")
    return dict(weights)


def _backend(name: str, table: Any) -> BackendConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"backends.{name}: expected a table")
    kinds: dict[str, type[BackendConfig]] = {
        "local": LocalBackendConfig,
        "retab": RetabBackendConfig,
        "extend": ExtendBackendConfig,
    }
    kind = table.get("kind")
    if kind not in kinds:
        given = "missing" if kind is None else f"unknown kind {kind!r}"
        raise ConfigError(f"backends.{name}.kind: {given} (one of: {', '.join(kinds)})")
    if not BACKEND_NAME.fullmatch(name):
        raise ConfigError(
            f"backends.{name}: a backend name is lowercase letters, digits and _ (max 32)"
        )
    config: BackendConfig = _convert(table, kinds[kind], f"backends.{name}")
    return config


def _classifier(classifier_id: str, table: Any) -> extend.SavedClassifier:
    where = f"classifiers.{classifier_id}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    try:
        return extend.saved_from_table(classifier_id, table)
    except InvalidInput as exc:
        raise ConfigError(f"{'.'.join(p for p in (where, exc.field) if p)}: {exc.reason}") from None


def _fallback(names: tuple[str, ...], backends: Mapping[str, object]) -> tuple[str, ...]:
    for i, name in enumerate(names):
        if name not in backends:
            raise ConfigError(
                f"routing.fallback[{i}]: unknown backend {name!r}; known: {_names(backends)}"
            )
        if name in names[:i]:
            raise ConfigError(f"routing.fallback[{i}]: backend {name!r} is listed twice")
    return names


def _shadow(names: tuple[str, ...], backends: Mapping[str, BackendConfig]) -> tuple[str, ...]:
    for i, name in enumerate(names):
        where = f"routing.shadow[{i}]"
        if name not in backends:
            raise ConfigError(f"{where}: unknown backend {name!r}; known: {_names(backends)}")
        if name in names[:i]:
            raise ConfigError(f"{where}: backend {name!r} is listed twice")
        config = backends[name]
        if not isinstance(config, LocalBackendConfig) and config.api_key_env is None:
            # a pure proxy forwards the client's own key: a shadow would spend it on a call
            # the client never made
            raise ConfigError(
                f"{where}: backend {name!r} is a pure proxy (no api_key_env) and cannot be a "
                "shadow: it would spend the client's own key on a run the client never asked for"
            )
        if not isinstance(config, LocalBackendConfig) and config.refresh_interval <= 0:
            # nobody else reads a shadow run: the client never polls it, so its comparison
            # would never complete
            raise ConfigError(
                f"{where}: backend {name!r} has refresh_interval = 0 and cannot be a shadow: "
                "its background runs would never be read again, nor their comparisons completed"
            )
    return names


def _upstream_keys(
    backends: Mapping[str, BackendConfig], environ: Mapping[str, str]
) -> dict[str, Secret]:
    return {
        name: _secret(f"backends.{name}.api_key_env", config.api_key_env, environ)
        for name, config in backends.items()
        if not isinstance(config, LocalBackendConfig) and config.api_key_env is not None
    }


def check_secrets(settings: Settings) -> None:
    """Refuse settings that would spend a vendor key held by crosswalk without gateway keys,
    or send a client's key to another vendor (design.md §6)."""
    # surfaces whose new runs can land on more than one backend (a split, a fallback)
    split_surfaces = [s for s in VENDOR_KINDS if len(settings.backends_for(s)) > 1]
    if settings.split and all(s in settings.surface_backends for s in VENDOR_KINDS):
        raise ConfigError(
            "routing.split: never applies, since both surfaces have a route of their own "
            "(routing.retab and routing.extend)"
        )
    for surface in split_surfaces:
        for name in settings.backends_for(surface):
            config = settings.backends[name]
            if config.kind != "local" and name not in settings.upstream_keys:
                # a pure proxy's listings and batches are the vendor's, by the client's key:
                # they could not show the runs a split or a fallback sent elsewhere
                raise ConfigError(
                    f"backends.{name}.api_key_env: required, since {surface.title()} clients "
                    "are routed to several backends (a split or a fallback) and a pure proxy "
                    "cannot be one of them"
                )
    for surface in VENDOR_KINDS:
        for name in settings.backends_for(surface):
            kind = settings.backends[name].kind
            if kind != "local" and kind != surface and name not in settings.upstream_keys:
                raise ConfigError(
                    f"backends.{name}.api_key_env: required, since {surface.title()} clients "
                    f"are routed to this {kind} backend and a client's key is never sent to "
                    "another vendor"
                )
    if settings.upstream_keys and not settings.api_keys:
        # a shadow spends it on every create, so it is the one named when there is one
        shadows = [name for name in settings.shadow if name in settings.upstream_keys]
        spender = (shadows or sorted(settings.upstream_keys))[0]
        role = " (as routing.shadow, on every create)" if shadows else ""
        raise ConfigError(
            f"auth.api_keys_env: required, since backends.{spender} spends a vendor key "
            f"held by crosswalk{role}; without gateway keys anyone could spend it"
        )


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


def _files_secret(files: FilesConfig, environ: Mapping[str, str]) -> Secret | None:
    if files.secret_env is None:
        return None
    return _secret("files.secret_env", files.secret_env, environ)


def _webhooks(
    tables: tuple[WebhookConfig, ...], environ: Mapping[str, str]
) -> tuple[WebhookEndpoint, ...]:
    endpoints: dict[str, WebhookEndpoint] = {}
    unnamed: Counter[str] = Counter()  # endpoints of each host named after it so far
    for index, table in enumerate(tables):
        where = f"webhooks[{index}]"
        host = _endpoint_host(table.url)
        if host is None:
            raise ConfigError(f"{where}.url: expected an http(s) URL with a host")
        unknown = [e for e in table.events or () if e not in extend.EVENT_TYPES]
        if unknown or table.events == ():
            given = f"unknown event {unknown[0]!r}" if unknown else "empty"
            raise ConfigError(f"{where}.events: {given} (known: {', '.join(extend.EVENT_TYPES)})")
        name = table.name
        if name is None:  # the host alone: a URL's path or query may hold a token
            unnamed[host] += 1
            name = host if unnamed[host] == 1 else f"{host}-{unnamed[host]}"
        if name in endpoints:
            raise ConfigError(f"{where}.name: {name!r} names two endpoints; give each a name")
        endpoints[name] = WebhookEndpoint(
            name=name,
            url=table.url,
            secret=_secret(f"{where}.secret_env", table.secret_env, environ),
            events=table.events or extend.EVENT_TYPES,
            allow_private=table.allow_private,
            timeout=table.timeout,
        )
    return tuple(endpoints.values())


def _endpoint_host(url: str) -> str | None:
    """The host of an http(s) URL the dispatcher can send to (httpx reads it as it will when
    sending), or None."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # out of range: ValueError
        target = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or not target.host:
        return None
    return target.host


def _vendor_webhook_secrets(
    backends: Mapping[str, BackendConfig], environ: Mapping[str, str]
) -> dict[str, Secret]:
    return {
        name: _secret(f"backends.{name}.webhook_secret_env", config.webhook_secret_env, environ)
        for name, config in backends.items()
        if isinstance(config, ExtendBackendConfig) and config.webhook_secret_env is not None
    }


def _secret(where: str, variable: str, environ: Mapping[str, str]) -> Secret:
    value = environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"{where}: the environment variable {variable} is unset or empty")
    return Secret(value)


def _store(file: FileConfig) -> dict[str, Any]:
    """Settings' store fields from `[store]`; with PostgreSQL, replicas on other hosts share
    nothing but the database, so the files' directory must be named (a path they share),
    unless files and the link secret are not kept there (`storage = "database"` and
    `secret_env`)."""
    url = file.store.url
    if not is_postgres(url):
        return {"store_path": _store_path(url)}
    in_database = file.files.storage == "database" and file.files.secret_env is not None
    if file.files.dir is None and not in_database:
        raise ConfigError(
            "files.dir: required with a PostgreSQL store: uploaded files are kept there, so "
            "set it to a directory every replica shares (or set files.storage = "
            '"database" and files.secret_env)'
        )
    return {"store_url": _postgres_url(url), "store_pool_size": file.store.pool_size}


def _store_path(url: str) -> str:
    if not url.startswith(SQLITE_SCHEME) or len(url) == len(SQLITE_SCHEME):
        shown = redacted(url)  # a mistyped PostgreSQL URL may still hold a password
        raise ConfigError(f"store.url: expected sqlite:///PATH or postgresql://…, got {shown!r}")
    return url.removeprefix(SQLITE_SCHEME)


def _postgres_url(url: str) -> str:
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ConfigError(f"store.url: {redacted(url)!r} is not a valid PostgreSQL URL") from None
    return url


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
