"""`[store] url = "postgresql://…"` from config to command line (issue 15): what the config
accepts, `crosswalk migrate` on both stores, and `check-config` and `serve` refusing a
database they cannot reach in one line, the URL's password never shown anywhere."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import describe, main
from gateway.config import ConfigError, resolve
from gateway.startup import started_fields
from gateway.store.postgres.migrations import SCHEMA_VERSION as POSTGRES_VERSION
from gateway.store.postgres.urls import redacted, scrubbed
from gateway.store.sqlite import SCHEMA_VERSION as SQLITE_VERSION
from tests.postgres import PostgresServer
from tests.postgres_empty import empty_postgres_url

__all__ = ["empty_postgres_url"]  # a fixture
PASSWORD = "pw-Hunter2-never-shown"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def _config(tmp_path: Path, url: str, *, files: bool = True) -> Path:
    text = f'[store]\nurl = "{url}"\n'
    if files:
        text += f'[files]\ndir = "{tmp_path / "files"}"\n'
    path = tmp_path / "crosswalk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_redacted_hides_every_password_of_a_url() -> None:
    url = f"postgresql://app:{PASSWORD}@db.internal:5432/cw?sslmode=require&password={PASSWORD}"
    shown = redacted(url)
    assert PASSWORD not in shown
    assert shown == "postgresql://app:***@db.internal:5432/cw?sslmode=require&password=***"
    assert redacted("postgres://db/cw") == "postgres://db/cw"
    assert redacted("var/crosswalk.db") == "var/crosswalk.db"  # a SQLite path is no URL
    encoded = "postgresql://app:p%40ss@db/cw"
    assert scrubbed("auth failed for p@ss and p%40ss", encoded) == "auth failed for *** and ***"


def test_a_postgresql_store_is_configured_and_shown_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:5432/cw"
    raw = {"store": {"url": url, "pool_size": 4}, "files": {"dir": str(tmp_path)}}
    settings = resolve(raw, {})
    assert (settings.store_url, settings.store_pool_size, settings.store) == (url, 4, url)
    assert settings.files_key_path == str(tmp_path / ".link-key")  # shared by the replicas
    text = describe(settings)
    assert "store: postgresql postgresql://app:***@127.0.0.1:5432/cw" in text
    fields = started_fields(settings, url="http://127.0.0.1:1", log_format="json", workers=1)
    assert PASSWORD not in text + str(fields)
    assert resolve({}, {}).store_url is None  # SQLite stays the default
    assert resolve({"store": {"url": "postgres://db/cw"}, "files": {"dir": "f"}}, {}).store_url


@pytest.mark.parametrize(
    ("store", "files", "named"),
    [
        pytest.param({"url": "postgresql://db/cw"}, {}, "files.dir", id="files-dir-required"),
        pytest.param(
            {"url": "postgresql://db/cw", "pool_size": 0},
            {"dir": "f"},
            "store.pool_size",
            id="pool-size-low",
        ),
        pytest.param(
            {"url": "postgresql://db/cw", "pool_size": 101},
            {"dir": "f"},
            "store.pool_size",
            id="pool-size-high",
        ),
        pytest.param(
            {"url": f"postgresql://u:{PASSWORD}@db/cw?port=x=y"},
            {"dir": "f"},
            "store.url",
            id="bad-url",
        ),
        pytest.param({"url": f"mysql://u:{PASSWORD}@db/cw"}, {}, "store.url", id="other-database"),
    ],
)
def test_a_mistaken_store_names_its_key_without_the_password(
    store: dict[str, object], files: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        resolve({"store": store, "files": files}, {})
    assert str(refused.value).startswith(f"{named}:")
    assert PASSWORD not in str(refused.value)


def test_migrate_brings_a_postgresql_ledger_up_to_date(
    tmp_path: Path, empty_postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, empty_postgres_url)
    assert main(["migrate", "--config", str(config)]) == 0
    first = _one_line(capsys.readouterr().out)
    assert first == f"ledger {empty_postgres_url}: schema version 0 -> {POSTGRES_VERSION}"
    assert main(["migrate", "--config", str(config)]) == 0
    again = _one_line(capsys.readouterr().out)
    assert again.endswith(f"{POSTGRES_VERSION} -> {POSTGRES_VERSION} (up to date)")


def test_migrate_brings_a_sqlite_ledger_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.db"
    config = _config(tmp_path, f"sqlite:///{path}", files=False)
    assert main(["migrate", "--config", str(config)]) == 0
    assert _one_line(capsys.readouterr().out) == (
        f"ledger {path}: schema version 0 -> {SQLITE_VERSION}"
    )
    assert main(["migrate", "--config", str(config)]) == 0
    assert "(up to date)" in _one_line(capsys.readouterr().out)
    path.write_bytes(b"not a database, not a ledger" * 100)
    assert main(["migrate", "--config", str(config)]) == 1
    assert "cannot be migrated" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", ["check-config", "serve", "migrate", "webhooks", "compare"])
def test_an_unreachable_database_is_one_line_without_the_password(
    command: str, tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{closed_port}/cw?connect_timeout=5"
    config = str(_config(tmp_path, url))
    argv = {
        "check-config": ["check-config", config],
        "serve": ["serve", "--config", config, "--port", "0"],
        "migrate": ["migrate", "--config", config],
        "webhooks": ["webhooks", "list", "--config", config],
        "compare": ["compare", "--config", config],
    }[command]
    assert main(argv) == 1
    out = capsys.readouterr()
    line = _one_line(out.err)
    assert PASSWORD not in out.err + out.out
    assert f"postgresql://app:***@127.0.0.1:{closed_port}/cw" in line
    assert "refused" in line


def test_the_admin_commands_make_no_ledger_in_an_empty_database(
    tmp_path: Path, empty_postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, empty_postgres_url))
    assert main(["webhooks", "list", "--config", config]) == 1
    made_by = "(the gateway or `crosswalk migrate` makes it)"
    line = _one_line(capsys.readouterr().err)
    assert line == f"crosswalk: no ledger in {empty_postgres_url} {made_by}"
    assert main(["compare", "--config", config]) == 1
    assert "no ledger in" in _one_line(capsys.readouterr().err)
    assert main(["check-config", config]) == 0  # reachable: the config is fine
    assert f"store: postgresql {empty_postgres_url}" in capsys.readouterr().out


def test_the_admin_commands_read_a_migrated_postgresql_ledger(
    tmp_path: Path, empty_postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, empty_postgres_url))
    assert main(["migrate", "--config", config]) == 0
    capsys.readouterr()
    assert main(["webhooks", "list", "--config", config]) == 0
    assert capsys.readouterr().out.split() == [
        "EVENT",
        "TYPE",
        "ENDPOINT",
        "STATE",
        "ATTEMPTS",
        "NEXT",
        "ATTEMPT",
        "LAST",
    ]
    assert main(["webhooks", "retry", "evt_nope", "--config", config]) == 1
    assert "no webhook event evt_nope" in _one_line(capsys.readouterr().err)
    assert main(["compare", "--config", config, "--format", "json"]) == 0
    assert capsys.readouterr().out.startswith("{")


def test_a_database_the_server_refuses_is_one_line_without_the_password(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = f"{postgres_server.host}:{postgres_server.port}"
    url = f"postgresql://postgres:{PASSWORD}@{server}/no_such_database"
    assert main(["check-config", str(_config(tmp_path, url))]) == 1
    out = capsys.readouterr()
    line = _one_line(out.err)
    assert PASSWORD not in out.err + out.out
    assert line.startswith(f"crosswalk: the ledger at postgresql://postgres:***@{server}/")
    assert 'database "no_such_database" does not exist' in line
