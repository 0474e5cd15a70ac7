"""One replay at a time on a PostgreSQL ledger (issue 15): replays on two hosts share no
folder, so the lock is the database's. While one replay waits on Retab, another on the same
database from another folder is refused before sending anything, in a message naming the
database without its password; once the first ends, the ledger is free again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from gateway.config import FilesConfig, Settings
from gateway.replay import ReplayError
from tests.replay_vendor import AnsweringRetab
from tests.test_replay import RETAB_ANSWERS, _options, _replay, _settings

SECRET = "hunter2-replay"


def _host(folder: Path, url: str) -> Settings:
    """A replay's settings on a host of its own (its own folder) using the ledger at `url`."""
    folder.mkdir()
    files = FilesConfig(dir=str(folder / "files"))
    return msgspec.structs.replace(_settings(folder), store_url=url, files=files)


async def test_a_second_replay_on_the_same_database_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    # the test server trusts its user: a password in the URL is accepted and unused
    user, rest = postgres_url.split("://", 1)[1].split("@", 1)
    url = f"postgresql://{user}:{SECRET}@{rest}"
    one, two = _host(tmp_path / "one", url), _host(tmp_path / "two", url)
    vendor = AnsweringRetab(RETAB_ANSWERS)
    vendor.gate = asyncio.Event()
    first = asyncio.create_task(_replay(one, vendor, _options(concurrency=1)))
    async with asyncio.timeout(30):
        while vendor.in_flight == 0 and not first.done():
            await asyncio.sleep(0.01)
    assert not first.done(), first.result()
    other = AnsweringRetab(RETAB_ANSWERS)
    with pytest.raises(ReplayError, match="another replay is using the ledger") as refused:
        await _replay(two, other, _options(concurrency=1))
    assert other.sent == []
    assert SECRET not in str(refused.value)
    assert rest in str(refused.value)
    vendor.gate.set()
    code, out = await first
    assert code == 0, out
    code, out = await _replay(two, AnsweringRetab(RETAB_ANSWERS), _options())
    assert code == 0, out
