"""`crosswalk` flags and start-up checks that end before anything is served: each mistake
is one line on stderr and a non-zero exit, found before the ledger is written."""

from __future__ import annotations

import socket
from importlib import metadata
from pathlib import Path

import pytest

from gateway import serving
from gateway.cli import main

TWO_SECRETS = """
[auth]
api_keys_env = "CW_TEST_GATEWAY_KEYS"

[backends.extend]
kind = "extend"
base_url = "https://api.extend.test"
api_key_env = "CW_TEST_EXTEND_KEY"

[backends.local]
kind = "local"

[routing]
default = "local"
extend = "extend"

[[webhooks]]
url = "https://hooks.example.com/in"
secret_env = "CW_TEST_HOOK_SECRET"
"""


def _config(tmp_path: Path, text: str, name: str = "crosswalk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _store(tmp_path: Path, url: str) -> Path:
    return _config(tmp_path, f'[store]\nurl = "{url}"\n')


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.strip() == f"crosswalk {metadata.version('crosswalk')}"


def test_help_shows_every_serve_flag_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "address to listen on (default: 127.0.0.1)" in text
    assert "(default: 8000)" in text
    assert "1 to 64 (default: 1)" in text
    assert "--log-format {json,console}" in text
    assert "console on a terminal, else json" in text


def test_top_level_help_names_no_document_outside_the_repository(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "design.md" not in out
    assert "serve" in out


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--workers", "0"], "--workers"),
        (["--workers", "-1"], "--workers"),
        (["--port", "70000"], "--port"),
        (["--port", "http"], "--port"),
        (["--log-format", "xml"], "--log-format"),
        (["--bogus"], "--bogus"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(
    flags: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["serve", *flags])
    assert ended.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert named in line
    assert "--help" in line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_store_in_a_missing_directory_stops_serve_in_one_line(
    tmp_path: Path, workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _store(tmp_path, f"sqlite:///{tmp_path}/missing/dir/crosswalk.db")
    code = main(["serve", "--config", str(config), "--port", "0", "--workers", workers])
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert f"store.url: the ledger's directory {tmp_path}/missing/dir does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_check_config_finds_the_missing_store_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _store(tmp_path, f"sqlite:///{tmp_path}/missing/crosswalk.db")
    assert main(["check-config", str(config)]) == 2
    assert "does not exist" in _one_line(capsys.readouterr().err)


def test_a_directory_in_the_ledgers_place_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ledger.db").mkdir()
    config = _store(tmp_path, f"sqlite:///{tmp_path}/ledger.db")
    assert main(["check-config", str(config)]) == 2
    assert "is a directory" in _one_line(capsys.readouterr().err)


def test_a_file_that_is_not_a_ledger_stops_serve_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    config = _store(tmp_path, f"sqlite:///{tmp_path}/junk.db")
    assert main(["serve", "--config", str(config), "--port", "0", "--workers", "2"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "cannot be opened" in line
    assert "junk.db" in line


def test_a_busy_port_stops_serve_before_the_ledger_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _store(tmp_path, f"sqlite:///{tmp_path}/crosswalk.db")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["serve", "--config", str(config), "--port", port]) == 1
    line = _one_line(capsys.readouterr().err)
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert not (tmp_path / "crosswalk.db").exists()


def test_check_config_names_every_unset_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CW_TEST_GATEWAY_KEYS", "CW_TEST_EXTEND_KEY", "CW_TEST_HOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CW_TEST_EXTEND_KEY", "   ")  # blank is as good as unset
    assert main(["check-config", str(_config(tmp_path, TWO_SECRETS))]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "3 variables unset or empty" in line
    for name in ("CW_TEST_GATEWAY_KEYS", "CW_TEST_EXTEND_KEY", "CW_TEST_HOOK_SECRET"):
        assert name in line


def test_serve_names_every_unset_variable_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_TEST_GATEWAY_KEYS", "gw-1")
    for name in ("CW_TEST_EXTEND_KEY", "CW_TEST_HOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--config", str(_config(tmp_path, TWO_SECRETS)), "--port", "0"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "2 variables unset or empty: CW_TEST_EXTEND_KEY, CW_TEST_HOOK_SECRET" in line


def test_check_config_no_env_checks_the_structure_and_lists_what_is_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_TEST_GATEWAY_KEYS", "gw-secret-value")
    for name in ("CW_TEST_EXTEND_KEY", "CW_TEST_HOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    config = _config(tmp_path, TWO_SECRETS)
    assert main(["check-config", "--no-env", str(config)]) == 0
    out = capsys.readouterr().out
    assert "extend surface -> extend (pass-through)" in out
    assert "unset here: CW_TEST_EXTEND_KEY, CW_TEST_HOOK_SECRET" in out
    assert "gw-secret-value" not in out


def test_check_config_no_env_still_refuses_a_structural_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, TWO_SECRETS.replace('default = "local"', 'default = "nowhere"'))
    assert main(["check-config", "--no-env", str(config)]) == 2
    assert "routing.default: unknown backend 'nowhere'" in _one_line(capsys.readouterr().err)


def test_localhost_is_served_on_ipv4_loopback_as_uvicorn_reads_it() -> None:
    with serving.bind("localhost", 0) as sock:
        assert serving.listening_url(sock).startswith("http://127.0.0.1:")
        assert serving.links_url(sock) == serving.listening_url(sock)
