"""`crosswalk replay`: a folder of documents sent through two backends, each document recorded
as a comparison in the ledger, the report printed and its page written; an interrupted replay
resumes without sending finished documents again; bad inputs are one line, never a traceback.

Backends: the local one, and Retab mocked by respx (tests/replay_vendor.py) answering chosen
labels, so the two disagree on known documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog

from gateway import cli
from gateway.config import LocalBackendConfig, ServerConfig, Settings
from gateway.replay import ReplayOptions, run_replay
from gateway.replay.inputs import REPLAY_KEY, find_documents, load_categories
from gateway.store import SqliteLedger
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from tests.harness import (
    FIXTURES,
    MakeGateway,
    mocked,
    vendor_backend,
    vendor_settings,
    wait_until,
)
from tests.replay_vendor import AnsweringRetab, PollingExtend

REPLAY = FIXTURES / "replay"
DOCS = REPLAY / "docs"
NAMES = [
    "contract.md",
    "invoice.txt",
    "letters/complaint.txt",
    "letters/thanks.txt",
    "receipt.txt",
    "scan.pdf",
]
# what the mocked Retab answers, by filename: the local backend is right on all six, Retab
# wrong on the receipt and the thank-you letter
RETAB_ANSWERS = {
    "contract.md": "Contract",
    "invoice.txt": "Invoice",
    "complaint.txt": "Letter",
    "thanks.txt": "Contract",
    "receipt.txt": "Invoice",
    "scan.pdf": "Invoice",
}


KEYS = ("gw", "team-a")  # the gateway's keys in `_settings`: a replay's key is one of them


def _settings(tmp_path: Path) -> Settings:
    """The local backend and a mocked Retab holding its own key (priced per credit)."""
    backends = {
        "local": LocalBackendConfig(),
        "retab": vendor_backend("retab", api_key_env="RETAB_API_KEY", usd_per_credit=0.02),
    }
    return vendor_settings(
        tmp_path, backends, default="local", api_keys=KEYS, upstream_keys={"retab": "sk"}
    )


def _options(**given: Any) -> ReplayOptions:
    fields: dict[str, Any] = {
        "docs": DOCS,
        "categories": REPLAY / "cats_retab.json",
        "backends": ("local", "retab"),
        "concurrency": 3,
        "key": KEYS[0],
    }
    return ReplayOptions(**(fields | given))


async def _replay(
    settings: Settings, vendor: AnsweringRetab, options: ReplayOptions
) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_replay(settings, options, out=out, transports=mocked({"retab": vendor.router}))
    return code, out.getvalue()


async def _comparisons(settings: Settings, key: str = KEYS[0]) -> list[ComparisonRecord]:
    async with await SqliteLedger.open(settings.store_path) as ledger:
        return list(await ledger.comparisons(owner_of(key)))


def _count(settings: Settings, table: str) -> int:
    return _counted(Path(settings.store_path), f"SELECT count(*) FROM {table}")


def _runs_of(settings: Settings, backend: str) -> int:
    return _counted(
        Path(settings.store_path), f"SELECT count(*) FROM runs WHERE backend = '{backend}'"
    )


def _counted(ledger: Path, query: str) -> int:
    """A count read from the ledger's file as it is now; 0 before its tables exist."""
    if not ledger.exists():
        return 0
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        try:
            return int(db.execute(query).fetchone()[0])
        except sqlite3.OperationalError:  # not made yet
            return 0


async def test_two_backends_disagreeing_are_recorded_and_reported(tmp_path: Path) -> None:
    """Each document is one completed comparison; the table's agreement and the page's
    disagreement list show the two documents the backends answer differently."""
    settings, page = _settings(tmp_path), tmp_path / "report.html"
    vendor = AnsweringRetab(RETAB_ANSWERS)
    options = _options(expected=REPLAY / "labels.csv", out=page)
    code, out = await _replay(settings, vendor, options)
    assert code == 0, out
    records = await _comparisons(settings)
    assert sorted(r.filename or "" for r in records) == NAMES
    assert all(r.completed and r.source == "replay" for r in records)
    assert [s.backend for s in records[0].sides] == ["local", "retab"]
    assert "Agreement: 66.7 % (4/6," in out
    assert "with an expected label: 6" in out  # `Letter` read as the key `letter`
    assert "Disagreements: 2" in out
    html = page.read_text()
    disagreements = html[html.index('id="disagreements"') :]
    assert 'data-document="receipt.txt"' in disagreements
    assert 'data-document="letters/thanks.txt"' in disagreements
    assert 'data-document="invoice.txt"' not in disagreements
    assert sorted(vendor.sent) == sorted(Path(n).name for n in NAMES)


async def test_an_interrupted_replay_resumes_without_sending_finished_documents_again(
    tmp_path: Path,
) -> None:
    """Stopped while Retab holds its fourth create, the replay answers 130; run again, it
    sends Retab only the documents it had not answered, and every document ends compared
    once, with one local run each."""
    settings = _settings(tmp_path)
    held = AnsweringRetab(RETAB_ANSWERS, hold_after=3)
    options = _options(concurrency=1)
    task = asyncio.create_task(_replay(settings, held, options))
    await asyncio.wait_for(held.held.wait(), timeout=30)
    task.cancel()
    code, out = await task
    assert code == 130
    assert "run the same command again to resume" in out
    done_before = [r.filename for r in await _comparisons(settings) if r.completed]
    assert done_before == NAMES[:3]

    again = AnsweringRetab(RETAB_ANSWERS)
    code, out = await _replay(settings, again, options)
    assert code == 0, out
    assert again.sent == [Path(n).name for n in NAMES[3:]]
    records = await _comparisons(settings)
    assert sorted(r.filename or "" for r in records) == NAMES
    assert all(r.completed for r in records)
    assert _runs_of(settings, "local") == len(NAMES)
    assert "(compared before)" in out
    assert "Agreement: 66.7 % (4/6," in out


async def test_a_side_that_failed_is_sent_again_on_resume(tmp_path: Path) -> None:
    """A vendor failing on a document before making a run is a result of the replay (the
    side failed, the report counts it, the exit status is 1); run again, only that side is
    sent again, and its answer replaces the failure."""
    settings = _settings(tmp_path)
    failing = AnsweringRetab(RETAB_ANSWERS, failing=frozenset({"scan.pdf"}))
    code, out = await _replay(settings, failing, _options())
    assert code == 1, out
    assert "scan.pdf: local=invoice, retab=failed (" in out
    (scan,) = [r for r in await _comparisons(settings) if r.filename == "scan.pdf"]
    assert scan.completed
    assert scan.sides[1].error is not None
    assert scan.sides[1].run is None

    again = AnsweringRetab(RETAB_ANSWERS)
    code, out = await _replay(settings, again, _options())
    assert code == 0, out
    assert again.sent == ["scan.pdf"]
    assert "scan.pdf: local=invoice, retab=invoice" in out
    (scan,) = [r for r in await _comparisons(settings) if r.filename == "scan.pdf"]
    assert scan.completed
    assert scan.sides[1].error is None
    assert scan.sides[1].run is not None
    assert scan.sides[1].run.decision is not None
    assert _runs_of(settings, "local") == len(NAMES)


async def test_a_backend_failing_every_document_exits_1(tmp_path: Path) -> None:
    """Every document compared with a side failed is no success: the exit status is 1."""
    settings = _settings(tmp_path)
    failing = AnsweringRetab(RETAB_ANSWERS, failing=frozenset(Path(n).name for n in NAMES))
    code, out = await _replay(settings, failing, _options())
    assert code == 1, out
    assert out.count("retab=failed (") == len(NAMES)


async def test_a_side_the_vendor_refused_is_not_sent_again(tmp_path: Path) -> None:
    """A 4xx is the vendor refusing the document itself: a rerun does not send (and pay for)
    it again, unlike a 5xx; the side stays failed and the exit status stays 1."""
    settings = _settings(tmp_path)
    refusing = AnsweringRetab(RETAB_ANSWERS, refusing=frozenset({"scan.pdf"}))
    code, out = await _replay(settings, refusing, _options())
    assert code == 1, out
    assert "scan.pdf: local=invoice, retab=failed (refused: " in out

    again = AnsweringRetab(RETAB_ANSWERS)
    code, out = await _replay(settings, again, _options())
    assert code == 1, out
    assert again.sent == []
    (scan,) = [r for r in await _comparisons(settings) if r.filename == "scan.pdf"]
    assert scan.completed
    assert (scan.sides[1].error or "").startswith("refused: ")


async def test_a_run_left_unfinished_is_read_again_not_sent_again(tmp_path: Path) -> None:
    """Stopped while Extend works on the first document's run (created, then polled), the
    replay has recorded that run; run again, it reads the run until it finishes instead of
    creating another, and sends the other documents."""
    extend = vendor_backend(
        "extend", api_key_env="EXTEND_API_KEY", sync_mode="poll", poll_interval=0.01
    )
    settings = vendor_settings(
        tmp_path,
        {"local": LocalBackendConfig(), "extend": extend},
        default="local",
        api_keys=("gw",),
        upstream_keys={"extend": "sk"},
    )
    vendor = PollingExtend()
    transports = mocked({"extend": vendor.router})
    options = _options(backends=("local", "extend"), concurrency=1)
    out = io.StringIO()
    task = asyncio.create_task(run_replay(settings, options, out=out, transports=transports))
    async with asyncio.timeout(30):
        while vendor.reads == 0 or _runs_of(settings, "local") == 0:
            await asyncio.sleep(0.01)
    task.cancel()
    assert await task == 130
    assert vendor.created == 1

    vendor.finish()
    out = io.StringIO()
    code = await run_replay(
        settings, options, out=out, transports=mocked({"extend": vendor.router})
    )
    assert code == 0, out.getvalue()
    assert vendor.created == len(NAMES)  # the first document's run was not made twice
    records = await _comparisons(settings)
    assert all(r.completed for r in records)
    assert len(records) == len(NAMES)
    assert _runs_of(settings, "local") == len(NAMES)


async def test_extend_categories_compare_two_local_backends(tmp_path: Path) -> None:
    """An Extend config's classifications work as well; two local backends configured
    differently (one slower) agree on every document, labelled with the categories' ids."""
    backends = {"local": LocalBackendConfig(), "slow": LocalBackendConfig(min_run_seconds=0.05)}
    settings = vendor_settings(tmp_path, backends, default="local")
    options = _options(categories=REPLAY / "cats_extend.json", backends=("local", "slow"))
    out = io.StringIO()
    assert await run_replay(settings, options, out=out) == 0, out.getvalue()
    assert "Agreement: 100.0 % (6/6," in out.getvalue()
    assert "letters/thanks.txt: local=letter, slow=letter" in out.getvalue()


async def test_no_more_documents_than_the_concurrency_are_in_flight(tmp_path: Path) -> None:
    """With Retab holding every create, two documents are sent and no third is started
    while they wait, even once their local sides are done."""
    settings, vendor = _settings(tmp_path), AnsweringRetab(RETAB_ANSWERS)
    vendor.gate = asyncio.Event()
    task = asyncio.create_task(_replay(settings, vendor, _options(concurrency=2)))
    async with asyncio.timeout(30):
        while vendor.in_flight < 2 or _runs_of(settings, "local") < 2:
            await asyncio.sleep(0.01)
    assert _count(settings, "comparisons") == 2
    vendor.gate.set()
    code, out = await task
    assert code == 0, out
    assert vendor.most_in_flight == 2
    assert _count(settings, "comparisons") == len(NAMES)


async def test_the_key_owns_the_comparisons(tmp_path: Path) -> None:
    """With a key, the comparisons are that key's owner's (what `/crosswalk/report` with the
    key shows); the replay's own default owner has none."""
    settings = _settings(tmp_path)
    code, out = await _replay(settings, AnsweringRetab(RETAB_ANSWERS), _options(key="team-a"))
    assert code == 0, out
    assert len(await _comparisons(settings, "team-a")) == len(NAMES)
    assert await _comparisons(settings) == []


async def test_a_document_too_large_is_skipped_with_a_line(tmp_path: Path) -> None:
    """A document the gateway would refuse as a body is skipped, said on its own line; the
    others are compared and reported, and the exit status says one was skipped."""
    settings = msgspec.structs.replace(
        _settings(tmp_path), server=ServerConfig(max_body_bytes=1000)
    )
    code, out = await _replay(settings, AnsweringRetab(RETAB_ANSWERS), _options())
    assert code == 1
    assert "] skipped: scan.pdf: 1761 bytes, over the limit of 1000" in out
    assert "Documents: 5," in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    out = _Terminal()
    transports = mocked({"retab": AnsweringRetab(RETAB_ANSWERS).router})
    code = await run_replay(_settings(tmp_path), _options(), out=out, transports=transports)
    assert code == 0
    text = out.getvalue()
    assert "replaying" in text
    assert "6/6" in text
    assert "[1/6]" not in text  # no plain lines: the bar shows the progress


def test_either_vendors_category_format_reads_the_same(tmp_path: Path) -> None:
    """Retab's list (bare or as a create body's `categories`) and Extend's config (bare or
    under `config`) give the same keys, names and descriptions."""
    retab = json.loads((REPLAY / "cats_retab.json").read_text())
    extend = json.loads((REPLAY / "cats_extend.json").read_text())
    forms = {
        "retab_list": retab,
        "retab_body": {"categories": retab, "model": "retab-small"},
        "extend_config": extend,
        "extend_body": {"config": extend, "name": "documents"},
    }
    read = {}
    for name, form in forms.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(form))
        read[name] = load_categories(tmp_path / f"{name}.json")
    assert {name: s.dialect for name, s in read.items()} == {
        "retab_list": "retab",
        "retab_body": "retab",
        "extend_config": "extend",
        "extend_body": "extend",
    }
    assert len({s.categories for s in read.values()}) == 1
    assert [c.key for c in read["retab_list"].categories] == [
        "invoice",
        "receipt",
        "contract",
        "letter",
    ]


def test_hidden_files_are_skipped_and_documents_named_from_the_folder() -> None:
    assert (DOCS / ".notes.txt").is_file()
    assert [d.name for d in find_documents(DOCS).documents] == NAMES


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    logging = structlog.get_config()
    try:
        code = cli.main([str(a) for a in argv])
    finally:
        structlog.configure(**logging)  # the command keeps to warnings; the next test may not
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _refused(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    """The one line a refused replay writes on stderr (exit 2, nothing on stdout)."""
    code, out, err = _cli(capsys, "replay", *argv)
    assert (code, out) == (2, ""), err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    return err


BAD_CATEGORIES = {
    "not_json": ("[{", "not valid JSON"),
    "empty": ("[]", "give at least one category"),
    "repeated_id": (
        '{"classifications": [{"id": "a", "type": "A", "description": ""},'
        ' {"id": "a", "type": "B", "description": ""}]}',
        "at classifications[1].id: must be unique",
    ),
    "missing_name": ('[{"description": "x"}]', "at [0]: Object missing required field `name`"),
    "neither": ('{"labels": ["a"]}', "expected Retab categories"),
}


@pytest.mark.parametrize("case", BAD_CATEGORIES)
def test_a_bad_category_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, problem = BAD_CATEGORIES[case]
    cats = tmp_path / "cats.json"
    cats.write_text(text)
    argv = ["--categories", cats, "--backends", "local,local_b", "--config", _two_locals(tmp_path)]
    err = _refused(capsys, DOCS, *argv)
    assert f"{cats}: not a category set" in err
    assert problem in err


BAD_LABELS = {
    "unknown_label": ("invoice.txt,invoice\nreceipt.txt,payslip\n", "line 2: unknown label"),
    "unknown_file": ("filename,label\nnope.txt,invoice\n", "line 2: 'nope.txt' is not a"),
    "columns": ("invoice.txt,invoice,extra\n", "line 1: expected `filename,label`"),
    "twice": ("invoice.txt,invoice\ninvoice.txt,receipt\n", "line 2: 'invoice.txt' is labelled"),
}


@pytest.mark.parametrize("case", BAD_LABELS)
def test_a_bad_labels_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, problem = BAD_LABELS[case]
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    config = _two_locals(tmp_path)
    argv = ["--categories", REPLAY / "cats_retab.json", "--backends", "local,local_b"]
    err = _refused(capsys, DOCS, *argv, "--expected", labels, "--config", config)
    assert f"{labels}, {problem}" in err


def test_an_empty_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder with only hidden files has no documents either."""
    docs = tmp_path / "docs"
    (docs / ".git").mkdir(parents=True)
    (docs / ".git" / "HEAD").write_text("ref")
    argv = ["--categories", REPLAY / "cats_retab.json", "--backends", "local,local_b"]
    err = _refused(capsys, docs, *argv, "--config", _two_locals(tmp_path))
    assert f"{docs}: no documents" in err


def test_an_unknown_backend_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--categories", REPLAY / "cats_retab.json", "--backends", "local,retab"]
    err = _refused(capsys, DOCS, *argv)
    assert "unknown backend 'retab'; configured: local" in err


def test_a_pure_proxy_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A vendor backend without a key of its own would be sent the replay's key: refused,
    named, before anything is sent."""
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "cw.db"}"\n[backends.local]\nkind = "local"\n'
        '[backends.retab]\nkind = "retab"\nbase_url = "https://api.retab.test"\n'
        '[routing]\ndefault = "local"\n'
    )
    argv = ["--categories", REPLAY / "cats_retab.json", "--backends", "local,retab"]
    err = _refused(capsys, DOCS, *argv, "--config", config)
    assert "retab has no vendor key of its own (backends.retab.api_key_env)" in err
    assert not (tmp_path / "cw.db").exists()


def _two_locals(tmp_path: Path, *, slow: float = 0.0) -> Path:
    """A config of two local backends, `local_b` taking at least `slow` seconds a run."""
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "cw.db"}"\n'
        '[backends.local]\nkind = "local"\n'
        f'[backends.local_b]\nkind = "local"\nmin_run_seconds = {slow}\n'
        '[routing]\ndefault = "local"\n'
    )
    return config


def test_the_command_replays_prints_the_report_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`crosswalk replay` end to end: plain lines when stdout is no terminal, the report,
    the page; run again, every document was compared before."""
    page = tmp_path / "report.html"
    argv = ["replay", DOCS, "--categories", REPLAY / "cats_extend.json"]
    argv += ["--backends", "local,local_b", "--config", _two_locals(tmp_path), "--out", page]
    code, out, err = _cli(capsys, *argv, "--expected", REPLAY / "labels.csv")
    assert code == 0, err
    assert "[6/6] " in out
    assert "Agreement: 100.0 % (6/6," in out
    assert 'id="confusion-matrix"' in page.read_text()
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    assert out.count("(compared before)") == 6


@pytest.mark.parametrize("sign", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_stops_the_command_cleanly_with_130(tmp_path: Path, sign: signal.Signals) -> None:
    """Ctrl-C or SIGTERM while a backend works: the replay stops at once, says how to
    resume, closes the ledger and exits 130, with no traceback."""
    config = _two_locals(tmp_path, slow=60.0)
    argv = ["replay", str(DOCS), "--categories", str(REPLAY / "cats_retab.json")]
    argv += ["--backends", "local,local_b", "--config", str(config), "--concurrency", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: (
                _counted(tmp_path / "cw.db", "SELECT count(*) FROM runs") >= 1
                or process.poll() is not None
            )
        )
        process.send_signal(sign)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "run the same command again to resume" in out
    assert "Traceback" not in err
    with contextlib.closing(sqlite3.connect(tmp_path / "cw.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_key_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`CROSSWALK_KEY` names the owner when `--key` is not given."""
    monkeypatch.setenv("CROSSWALK_KEY", "team-b")
    argv = ["replay", DOCS, "--categories", REPLAY / "cats_retab.json"]
    code, out, err = _cli(
        capsys, *argv, "--backends", "local,local_b", "--config", _two_locals(tmp_path)
    )
    assert code == 0, err
    assert "Agreement: 100.0 % (6/6," in out
    settings = Settings(backends={}, default_backend="local", store_path=str(tmp_path / "cw.db"))
    assert len(asyncio.run(_comparisons(settings, "team-b"))) == len(NAMES)


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_a_page_that_cannot_be_written_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """`--out` naming a folder, or a file in a missing folder, is one line on stderr, exit 2,
    before any document is sent (no ledger is even made)."""
    page = {"folder": tmp_path, "missing": tmp_path / "no" / "r.html"}
    argv = ["--categories", REPLAY / "cats_retab.json", "--backends", "local,local_b"]
    config = _two_locals(tmp_path)
    err = _refused(capsys, DOCS, *argv, "--config", config, "--out", page[where])
    assert "--out: " in err
    assert not (tmp_path / "cw.db").exists()


def test_the_replay_is_seen_over_http_with_its_key(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """As `--help` says: `GET /crosswalk/report` and `/crosswalk/comparisons` with the key
    `crosswalk-replay` show a replay run without `--key`; another key sees none of it."""
    backends = {"local": LocalBackendConfig(), "local_b": LocalBackendConfig()}
    settings = vendor_settings(tmp_path, backends, default="local")
    options = _options(backends=("local", "local_b"), key=REPLAY_KEY)
    assert asyncio.run(run_replay(settings, options, out=io.StringIO())) == 0
    gateway = make_gateway(settings)
    page = gateway.http(REPLAY_KEY).get("/crosswalk/report")
    listed = gateway.http(REPLAY_KEY).get("/crosswalk/comparisons")
    other = gateway.http("someone-else").get("/crosswalk/comparisons")
    assert page.status_code == 200, page.text
    assert 'id="confusion-matrix"' in page.text
    assert listed.status_code == 200, listed.text
    assert sorted(c["filename"] for c in listed.json()["data"]) == NAMES
    assert other.status_code == 200, other.text
    assert other.json()["data"] == []
