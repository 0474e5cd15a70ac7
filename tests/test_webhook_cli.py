"""`crosswalk webhooks list|retry` as an operator meets them: only `[store] url` is read from
the config (no secret needed), no ledger is made where there is none, `--limit` is bounded,
and a ledger that cannot be read is one line and exit 1, never a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway import cli
from gateway.store import SqliteLedger
from tests.test_webhook_retries import run_cli

# a gateway's config, as on its host: the secrets it names are not in the operator's shell
SERVED = """
[auth]
api_keys_env = "CROSSWALK_API_KEYS"

[[webhooks]]
url = "https://hooks.example.com/extend"
secret_env = "CROSSWALK_WEBHOOK_SECRET"
"""


def _config(tmp_path: Path, ledger: Path) -> str:
    path = tmp_path / "crosswalk.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{ledger}"\n{SERVED}')
    return str(path)


async def _make_ledger(path: Path) -> None:
    async with await SqliteLedger.open(str(path)):
        pass


def test_the_commands_need_only_the_store_url_of_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway's own config works though its secrets are unset in this environment."""
    ledger = tmp_path / "crosswalk.db"
    asyncio.run(_make_ledger(ledger))
    config = _config(tmp_path, ledger)
    code, out, err = run_cli(capsys, "webhooks", "list", "--config", config)
    assert (code, err) == (0, "")
    assert out.split()[:4] == ["EVENT", "TYPE", "ENDPOINT", "STATE"]
    assert run_cli(capsys, "webhooks", "retry", "evt_nope", "--config", config)[0] == 1


@pytest.mark.parametrize("where", ["missing.db", "no-such-dir/x.db"])
def test_no_ledger_is_one_line_and_none_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    ledger = tmp_path / where
    config = _config(tmp_path, ledger)
    for argv in (("list",), ("retry", "evt_x")):
        code, out, err = run_cli(capsys, "webhooks", *argv, "--config", config)
        assert (code, out) == (1, "")
        assert (
            err == f"crosswalk: no ledger at {ledger} (the gateway makes it when it first starts)\n"
        )
    assert not ledger.exists()


@pytest.mark.parametrize(
    "content", [b"", b"this is not an SQLite database, only a file of that name" * 20]
)
def test_a_file_that_is_no_ledger_is_one_line_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    ledger = tmp_path / "crosswalk.db"
    ledger.write_bytes(content)
    for argv in (("list",), ("retry", "evt_x")):
        code, out, err = run_cli(capsys, "webhooks", *argv, "--config", _config(tmp_path, ledger))
        assert (code, out) == (1, "")
        assert (
            err == f"crosswalk: {ledger} is not a crosswalk ledger; nothing was read or written\n"
        )
    # an empty file is not turned into a ledger by a command that only reads or retries
    assert ledger.read_bytes() == content


@pytest.mark.parametrize("limit", ["0", "10001", "-1", "many"])
def test_the_listing_limit_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    ledger = tmp_path / "crosswalk.db"
    config = _config(tmp_path, ledger)
    with pytest.raises(SystemExit) as exited:
        cli.main(["webhooks", "list", "--config", config, "--limit", limit])
    assert exited.value.code == 2
    assert "expected a whole number from 1 to 10000" in capsys.readouterr().err
    assert not ledger.exists()


def test_the_help_says_the_listing_is_newest_first(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["webhooks", "--help"])
    assert "show deliveries, newest event first" in capsys.readouterr().out
