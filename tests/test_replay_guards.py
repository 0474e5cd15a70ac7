"""`crosswalk replay` kept safe: the ledger, the Files API's key and the replay's own inputs
are never sent as documents; one replay at a time uses a ledger; any file name is sent and
shown safely; a broken ledger or a closed stdout is one line, never a traceback; a rerun
with backends in another order, or with another labels file, finds its comparisons.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from gateway.config import LocalBackendConfig, Settings
from gateway.replay import ReplayError, run_replay
from gateway.replay.inputs import find_documents
from gateway.replay.kept_out import KeptOut
from tests.harness import vendor_settings, wait_until
from tests.replay_vendor import AnsweringRetab
from tests.test_replay import (
    DOCS,
    NAMES,
    REPLAY,
    RETAB_ANSWERS,
    _cli,
    _comparisons,
    _counted,
    _options,
    _replay,
    _settings,
    _two_locals,
)


def _copy_docs(into: Path) -> Path:
    shutil.copytree(DOCS, into, dirs_exist_ok=True)
    return into


def _locals(tmp_path: Path) -> Settings:
    backends = {"local": LocalBackendConfig(), "local_b": LocalBackendConfig()}
    return vendor_settings(tmp_path, backends, default="local")


async def test_the_ledger_its_key_and_the_inputs_in_the_folder_are_never_sent(
    tmp_path: Path,
) -> None:
    """The folder holds the ledger (made by a first replay), its Files API key and stored
    files, the category file, the labels and the page: Retab is sent only the documents,
    and each file left out is said on a line."""
    docs = _copy_docs(tmp_path)  # the ledger of `_settings` is tmp_path/crosswalk.db
    settings = _settings(tmp_path)
    key = Path(settings.files_key_path)
    key.write_text("ab" * 32)  # a signing secret as the Files API makes one
    key.chmod(0o600)
    stored = Path(settings.files_dir)
    stored.mkdir()
    (stored / "blob").write_bytes(b"a stored upload")
    shutil.copy(REPLAY / "cats_retab.json", docs / "cats.json")
    (docs / "labels.csv").write_text("invoice.txt,invoice\n")
    options = _options(
        docs=docs,
        categories=docs / "cats.json",
        expected=docs / "labels.csv",
        out=docs / "report.html",
    )
    for _ in range(2):  # the second replay finds the ledger, its journals and the page
        vendor = AnsweringRetab(RETAB_ANSWERS)
        code, out = await _replay(settings, vendor, options)
        assert code == 0, out
        assert set(vendor.sent) <= {Path(n).name for n in NAMES}
    assert "left out: crosswalk.db-files-key (the Files API's secret key)" in out
    assert "left out: crosswalk.db-files/blob (a file of the Files API's store)" in out
    assert "left out: crosswalk.db (the ledger)" in out
    assert "left out: cats.json (the category file (--categories))" in out
    assert "left out: labels.csv (the expected labels (--expected))" in out
    assert "left out: report.html (the report page (--out))" in out
    assert sorted(r.filename or "" for r in await _comparisons(settings)) == NAMES


def test_a_link_to_the_key_is_left_out_too(tmp_path: Path) -> None:
    """Real paths are compared: a symbolic link in the folder to the key is not a document."""
    docs = _copy_docs(tmp_path / "docs")
    settings = _settings(tmp_path)
    Path(settings.files_key_path).write_bytes(b"secret")
    (docs / "key.bin").symlink_to(settings.files_key_path)
    folder = find_documents(docs, KeptOut(settings, {}))
    assert [d.name for d in folder.documents] == NAMES
    assert folder.notes == ("left out: key.bin (the Files API's secret key)",)


async def test_a_second_replay_on_the_same_ledger_is_refused_while_the_first_runs(
    tmp_path: Path,
) -> None:
    """While a replay waits on Retab, another on the same ledger is refused before sending
    anything; the first then ends with every document sent once."""
    settings, vendor = _settings(tmp_path), AnsweringRetab(RETAB_ANSWERS)
    vendor.gate = asyncio.Event()
    first = asyncio.create_task(_replay(settings, vendor, _options(concurrency=1)))
    async with asyncio.timeout(30):
        while vendor.in_flight == 0:
            await asyncio.sleep(0.01)
    other = AnsweringRetab(RETAB_ANSWERS)
    with pytest.raises(ReplayError, match="another replay is using the ledger"):
        await _replay(settings, other, _options(concurrency=1))
    assert other.sent == []
    vendor.gate.set()
    code, out = await first
    assert code == 0, out
    assert sorted(vendor.sent) == sorted(Path(n).name for n in NAMES)
    # once it has ended, the ledger is free again
    code, out = await _replay(settings, AnsweringRetab(RETAB_ANSWERS), _options())
    assert code == 0, out


def test_a_second_replay_process_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock holds across processes: a replay process running, `crosswalk replay` on the
    same ledger says so on one line and exits 2."""
    config = _two_locals(tmp_path, slow=60.0)
    argv = ["replay", str(DOCS), "--categories", str(REPLAY / "cats_retab.json")]
    argv += ["--backends", "local,local_b", "--config", str(config)]
    process = subprocess.Popen([sys.executable, "-m", "gateway", *argv], stdout=subprocess.DEVNULL)
    try:  # a run recorded: the replay holds the lock
        wait_until(lambda: _counted(tmp_path / "cw.db", "SELECT count(*) FROM runs") >= 1)
        code, out, err = _cli(capsys, *argv)
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert (code, out) == (2, ""), err
    assert "another replay is using the ledger" in err
    assert err.count("\n") == 1


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plain.txt").write_text("INVOICE total due")
    try:
        with open(os.path.join(os.fsencode(docs), b"caf\xe9.txt"), "wb") as file:
            file.write(b"RECEIPT paid")
    except OSError:
        pytest.skip("the file system refuses a name that is not UTF-8")
    (docs / "\x1b[31mred.txt").write_text("a letter")
    return docs


async def test_a_name_that_is_not_utf8_is_sent_and_shown_escaped(odd_names: Path) -> None:
    """A file name that is not UTF-8 and one holding a terminal escape are compared like any
    other, shown escaped (nothing raw reaches the terminal), and found again by a rerun."""
    settings = _locals(odd_names.parent)
    options = _options(docs=odd_names, backends=("local", "local_b"))
    out = io.StringIO()
    assert await run_replay(settings, options, out=out) == 0, out.getvalue()
    assert "caf\\xe9.txt: local=" in out.getvalue()
    assert "\\x1b[31mred.txt: local=" in out.getvalue()
    assert "\x1b" not in out.getvalue()
    names = sorted(r.filename or "" for r in await _comparisons(settings))
    assert names == ["\\x1b[31mred.txt", "caf\\xe9.txt", "plain.txt"]
    out = io.StringIO()
    assert await run_replay(settings, options, out=out) == 0, out.getvalue()
    assert out.getvalue().count("(compared before)") == 3


def _config(tmp_path: Path, store: Path) -> Path:
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store}"\n'
        '[backends.local]\nkind = "local"\n[backends.local_b]\nkind = "local"\n'
        '[routing]\ndefault = "local"\n'
    )
    return config


@pytest.mark.parametrize("case", ["missing_folder", "not_a_database"])
def test_a_ledger_that_cannot_be_used_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    store = tmp_path / "nowhere" / "cw.db"
    if case == "not_a_database":
        store = tmp_path / "cw.db"
        store.write_bytes(b"this is not an SQLite file, " * 100)
    argv = ["replay", DOCS, "--categories", REPLAY / "cats_retab.json"]
    argv += ["--backends", "local,local_b", "--config", _config(tmp_path, store)]
    code, _, err = _cli(capsys, *argv)
    assert code == 1, err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert err.startswith("crosswalk: replay: the ledger failed: ")


class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away after the first line."""

    def write(self, text: str) -> int:
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


async def test_a_closed_stdout_does_not_stop_the_replay(tmp_path: Path) -> None:
    settings = _locals(tmp_path)
    out = _ClosedPipe()
    options = _options(backends=("local", "local_b"))
    assert await run_replay(settings, options, out=out) == 0
    records = await _comparisons(settings)
    assert len(records) == len(NAMES)
    assert all(r.completed for r in records)


def test_the_command_piped_into_a_reader_that_quits_carries_on(tmp_path: Path) -> None:
    """`crosswalk replay … | head -1`: the replay ends as if read to the end, exit 0, no
    traceback, every document recorded."""
    argv = ["replay", str(DOCS), "--categories", str(REPLAY / "cats_retab.json")]
    argv += ["--backends", "local,local_b", "--config", str(_two_locals(tmp_path))]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert b"Traceback" not in err
    assert b"Exception ignored" not in err
    with contextlib.closing(sqlite3.connect(tmp_path / "cw.db")) as db:
        done = db.execute("SELECT count(*) FROM comparisons WHERE completed_us IS NOT NULL")
        assert done.fetchone() == (len(NAMES),)


async def test_backends_in_another_order_find_the_same_comparisons(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    code, out = await _replay(settings, AnsweringRetab(RETAB_ANSWERS), _options())
    assert code == 0, out
    again = AnsweringRetab(RETAB_ANSWERS)
    code, out = await _replay(settings, again, _options(backends=("retab", "local")))
    assert code == 0, out
    assert again.sent == []
    assert out.count("(compared before)") == len(NAMES)
    assert len(await _comparisons(settings)) == len(NAMES)


async def test_a_key_the_gateway_does_not_accept_is_refused(tmp_path: Path) -> None:
    """Comparisons owned by a key no client can present would be seen by nobody."""
    vendor = AnsweringRetab(RETAB_ANSWERS)
    with pytest.raises(ReplayError, match="--key: not one of the gateway's keys"):
        await _replay(_settings(tmp_path), vendor, _options(key="stranger"))
    with pytest.raises(ReplayError, match="--key"):  # the default key too
        await _replay(_settings(tmp_path), vendor, _options(key="crosswalk-replay"))
    assert vendor.sent == []


async def test_an_unreadable_sub_folder_is_skipped_with_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other documents are compared; the folder is named and the exit status is 1."""
    docs = _copy_docs(tmp_path / "docs")
    letters = os.fspath(docs / "letters")
    scandir = os.scandir

    def refusing(path: str) -> object:  # the stdlib's listing, as a folder mode 000 gives
        if os.fspath(path) == letters:
            raise PermissionError(13, "Permission denied", letters)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    settings = _locals(tmp_path)
    out = io.StringIO()
    options = _options(docs=docs, backends=("local", "local_b"))
    assert await run_replay(settings, options, out=out) == 1
    monkeypatch.undo()
    assert "skipped: letters/: cannot read the folder: Permission denied" in out.getvalue()
    names = sorted(r.filename or "" for r in await _comparisons(settings))
    assert names == [n for n in NAMES if not n.startswith("letters/")]


async def test_a_rerun_with_labels_updates_the_expected_labels(tmp_path: Path) -> None:
    settings = _locals(tmp_path)
    options = _options(backends=("local", "local_b"))
    assert await run_replay(settings, options, out=io.StringIO()) == 0
    assert {r.expected for r in await _comparisons(settings)} == {None}
    labelled = msgspec.structs.replace(options, expected=REPLAY / "labels.csv")
    out = io.StringIO()
    assert await run_replay(settings, labelled, out=out) == 0
    expected = {r.filename: r.expected for r in await _comparisons(settings)}
    assert expected["invoice.txt"] == "invoice"
    assert expected["letters/thanks.txt"] == "letter"
    assert all(expected.values())
