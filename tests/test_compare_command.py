"""`crosswalk compare` (issue 12, "Report"), run through `gateway.cli.main` over a real ledger
holding the constructed case of tests/test_compare_endpoints.py: the table, JSON and HTML
forms, `--since`, `--backends`, `--key` scoping, a missing ledger and bad options."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.compare.render_json import parse_json
from gateway.replay.commandline import KEY_ENV  # compare reads the same variable
from gateway.store.base import owner_of
from tests.test_compare_endpoints import KEY_A, case, seed
from tests.test_compare_render import parse

# secrets named but never set: the report needs none of them
CONFIG = """
[auth]
api_keys_env = "CROSSWALK_TEST_UNSET_KEYS"

[backends.local]
kind = "local"

[backends.extend]
kind = "extend"
base_url = "https://api.extend.test"
api_key_env = "CROSSWALK_TEST_UNSET_EXTEND_KEY"
usd_per_credit = 0.01

[routing]
default = "extend"

[store]
url = "sqlite:///{path}"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose ledger holds the case for KEY_A's owner and again for another owner."""
    ledger = tmp_path / "ledger.db"
    asyncio.run(seed(str(ledger), (*case(), *case(owner_of("other"), prefix="other-"))))
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(path=ledger), encoding="utf-8")
    return path


def compare(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["compare", *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_is_every_owners_without_a_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator with the ledger file sees every client's comparisons; no secret is read."""
    code, out, err = compare(capsys, "--config", config)
    assert (code, err) == (0, "")
    assert "Comparison: extend (a) vs local (b)" in out
    assert "Documents: 8, compared (both answered): 6" in out
    assert "Agreement: 66.7 % (4/6" in out
    assert "Disagreements: 2" in out


def test_a_key_scopes_the_report_to_its_owner(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--key` shows only that key's comparisons; a key with none gets an empty report."""
    code, out, _ = compare(capsys, "--config", config, "--key", KEY_A)
    assert code == 0
    assert "Documents: 4, compared (both answered): 3" in out
    assert "Agreement: 66.7 % (2/3" in out
    assert "Cohen's kappa: 0.400" in out
    assert "$20.00" in out
    code, out, _ = compare(capsys, "--config", config, "--key", "nobody")
    assert code == 0
    assert "No comparisons yet" in out
    assert "Documents: 0" in out


def test_json_carries_the_figures(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` is the Report, readable back; `--backends` picks and orders the sides."""
    code, out, _ = compare(
        capsys, "--config", config, "--key", KEY_A, "--format", "json", "--backends", "local,extend"
    )
    assert code == 0
    report = parse_json(out)
    assert (report.a.name, report.b.name, report.compared) == ("local", "extend", 3)
    assert report.kappa == pytest.approx(0.4)
    assert report.b.cost_per_1000_usd == pytest.approx(20.0)
    assert report.a.cost_per_1000_usd == 0.0
    assert report.confusion.counts == ((1, 0), (1, 1))
    assert owner_of(KEY_A) not in out


def test_html_is_the_self_contained_page(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format html` prints the page with the heat map and the disagreement list."""
    code, out, _ = compare(capsys, "--config", config, "--key", KEY_A, "--format", "html")
    assert code == 0
    page = parse(out)
    cells = [int(td.attrs["data-count"]) for td in page.by_id("confusion-matrix").find_all("td")]
    assert cells == [1, 1, 0, 1]
    (entry,) = page.by_id("disagreements").with_class("disagreement")
    assert entry.attrs["data-document"] == "d3.pdf"


def test_since_keeps_the_later_comparisons(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A date or an ISO datetime (UTC when bare): the case's documents are a minute apart."""
    code, out, _ = compare(
        capsys, "--config", config, "--key", KEY_A, "--since", "2026-03-01T09:02"
    )
    assert code == 0
    assert "Documents: 2" in out
    code, out, _ = compare(capsys, "--config", config, "--since", "2026-03-02")
    assert "Documents: 0" in out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--since", "last week", "crosswalk: --since: expected a date (2026-01-01)"),
        ("--since", "2026-02-30", "crosswalk: --since: expected a date"),
        ("--backends", "extend", "crosswalk: --backends: expected two backend names"),
        ("--backends", "extend,extend", "crosswalk: --backends: expected two different"),
    ],
)
def test_a_bad_option_is_one_line_and_a_failure(
    config: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    """One clear line on stderr, nothing on stdout, a non-zero exit."""
    code, out, err = compare(capsys, "--config", config, option, value)
    assert code != 0
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_a_missing_ledger_is_reported_and_never_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config pointing at no ledger: one line, exit 1, and still no ledger file."""
    missing = tmp_path / "nowhere.db"
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(path=missing), encoding="utf-8")
    code, out, err = compare(capsys, "--config", path)
    assert (code, out) == (1, "")
    assert err == f"crosswalk: no ledger at {missing} (the gateway makes it when it first starts)\n"
    assert not missing.exists()


def test_help_says_who_sees_what(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` says that without `--key` the report holds every client's comparisons."""
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--help"])
    assert exit_.value.code == 0
    assert "every client's" in " ".join(capsys.readouterr().out.split())


def test_an_unpriced_vendor_has_no_cost_and_local_is_free(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `usd_per_credit` a vendor's cost is unknown (a dash), not zero; local's is $0."""
    config.write_text(config.read_text().replace("usd_per_credit = 0.01\n", ""))
    code, out, _ = compare(capsys, "--config", config, "--key", KEY_A, "--format", "json")
    assert code == 0
    report = parse_json(out)
    assert (report.a.name, report.a.cost_per_1000_usd) == ("extend", None)
    assert (report.b.name, report.b.cost_per_1000_usd) == ("local", 0.0)


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 200])
def test_a_file_that_is_not_a_ledger_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    """An empty file, or any other, is not turned into a ledger: one line, exit 1."""
    target = tmp_path / "ledger.db"
    target.write_bytes(content)
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(path=target), encoding="utf-8")
    code, out, err = compare(capsys, "--config", path)
    assert (code, out) == (1, "")
    assert err == f"crosswalk: {target} is not a crosswalk ledger; nothing was read or written\n"
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crosswalk.toml", "ledger.db"]


def test_another_sqlite_database_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database without the ledger's schema gains none of its tables."""
    target = tmp_path / "other.db"
    with closing(sqlite3.connect(target)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
    before = target.read_bytes()
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(path=target), encoding="utf-8")
    code, _, err = compare(capsys, "--config", path)
    assert code == 1
    assert err.endswith("is not a crosswalk ledger; nothing was read or written\n")
    assert target.read_bytes() == before


def test_the_key_is_read_from_the_environment_as_replay_reads_it(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """$CROSSWALK_KEY scopes the report without putting the key in argv; `--key` wins."""
    monkeypatch.setenv(KEY_ENV, KEY_A)
    code, out, _ = compare(capsys, "--config", config)
    assert code == 0
    assert "Documents: 4, compared (both answered): 3" in out
    code, out, _ = compare(capsys, "--config", config, "--key", "nobody")
    assert "Documents: 0" in out
    monkeypatch.setenv(KEY_ENV, "")
    code, out, _ = compare(capsys, "--config", config)
    assert "Documents: 8" in out


def test_help_names_the_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """`--key` is documented as the worse way: it stays in the shell's history."""
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"${KEY_ENV}" in text
    assert "history" in text


def test_a_reader_that_left_ends_it_quietly(config: Path) -> None:
    """stdout's reader gone before a byte is read (`| head`): no traceback, exit 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUN_MAIN, "compare", "--config", str(config)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != KEY_ENV},
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


RUN_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
