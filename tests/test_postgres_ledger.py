"""`PostgresLedger` end to end on a real server (issue 15): opened (migrating an empty
database), a run kept, read, listed, claimed and deleted; two handles on one database (as
two replicas) each claim a queued run once; a newer schema refused; and the gateway serving
a background run on `[store] url = "postgresql://…"`, through config, factory and worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config import FilesConfig
from gateway.store import LedgerError, RunRecord, owner_of
from gateway.store.postgres.connect import connect
from gateway.store.postgres.ledger import PostgresLedger
from gateway.store.postgres.migrations import SCHEMA_VERSION
from gateway.store.postgres.schema import version
from mappings import canonical
from tests.harness import MakeGateway, local_settings, wait_until
from tests.postgres_empty import empty_postgres_url

__all__ = ["empty_postgres_url"]  # a fixture
S = canonical.Status
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = canonical.RunConfig(categories=(canonical.Category(key="invoice", name="Invoice"),))
OWNER = owner_of("sk-pg")
EXTEND = {"authorization": "Bearer sk-pg", "x-extend-api-version": "2026-02-09"}


def _record(upstream_id: str, *, at: datetime = T0, filename: str = "a.pdf") -> RunRecord:
    document = canonical.InlineDocument(data=b"%PDF", filename=filename, mime_type="x/pdf")
    request = canonical.ClassifyRequest(document=document, config=CONFIG, background=True)
    run = canonical.ClassificationRun(id=upstream_id, status=S.queued, config=CONFIG, created_at=at)
    return RunRecord(
        key=f"local:{upstream_id}",
        owner=OWNER,
        backend="local",
        upstream_id=upstream_id,
        surface="extend",
        run=run,
        request=request,
        filename=filename,
        created_at=at,
        updated_at=at,
    )


async def test_a_run_is_kept_read_listed_claimed_and_deleted(empty_postgres_url: str) -> None:
    async with await PostgresLedger.open(empty_postgres_url, pool_size=2) as ledger:
        assert version(empty_postgres_url) == SCHEMA_VERSION
        first = await ledger.insert(_record("r1", filename="Invoice 100%_march.pdf"))
        second = await ledger.insert(_record("r2", at=T0 + timedelta(seconds=1)))
        assert 0 < first.seq < second.seq
        assert await ledger.get(OWNER, "local", "r1") == first
        assert await ledger.get(owner_of("sk-other"), "local", "r1") is None
        assert await ledger.find("local", "r2") == second
        listed = await ledger.list(OWNER, canonical.ListQuery())
        assert [r.upstream_id for r in listed.records] == ["r2", "r1"]
        found = await ledger.list(OWNER, canonical.ListQuery(filename_contains="100%_m"))
        assert [r.upstream_id for r in found.records] == ["r1"]  # % and _ match themselves
        claimed = await ledger.claim("w1", 60, T0, backends=("local",))
        assert claimed is not None
        assert claimed.upstream_id == "r1"
        assert await ledger.delete(OWNER, "local", "r2")
        assert await ledger.get(OWNER, "local", "r2") is None


async def test_two_replicas_claim_each_queued_run_once(empty_postgres_url: str) -> None:
    one = await PostgresLedger.open(empty_postgres_url, pool_size=3)
    two = await PostgresLedger.open(empty_postgres_url, pool_size=3)
    try:
        for n in range(30):
            await one.insert(_record(f"r{n:02}", at=T0 + timedelta(microseconds=n)))

        async def drain(ledger: PostgresLedger, worker: str) -> list[str]:
            taken: list[str] = []
            while (run := await ledger.claim(worker, 60, T0, backends=("local",))) is not None:
                taken.append(run.upstream_id)
            return taken

        drained = await asyncio.gather(
            *(drain(ledger, f"w{i}") for i, ledger in enumerate([one, two, one, two]))
        )
    finally:
        await one.close()
        await two.close()
    everything = [upstream_id for taken in drained for upstream_id in taken]
    assert sorted(everything) == [f"r{n:02}" for n in range(30)]  # each once, none lost


async def test_opening_refuses_a_newer_schema_in_one_line(empty_postgres_url: str) -> None:
    await (await PostgresLedger.open(empty_postgres_url)).close()
    with connect(empty_postgres_url) as raw:
        raw.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(LedgerError, match="upgrade crosswalk") as refused:
        await PostgresLedger.open(empty_postgres_url)
    assert "\n" not in str(refused.value)


def test_the_gateway_runs_a_background_run_on_postgresql(
    tmp_path: Path, postgres_url: str, make_gateway: MakeGateway
) -> None:
    files = FilesConfig(dir=str(tmp_path / "files"))
    settings = local_settings(tmp_path, store_url=postgres_url, files=files)
    client = make_gateway.client(settings)
    config = {"classifications": [{"id": "inv", "type": "invoice", "description": "a bill"}]}
    body = {"file": {"text": "Invoice 42: total due", "name": "a.txt"}, "config": config}
    created = client.post("/classify_runs", json=body, headers=EXTEND)
    assert created.status_code == 200, created.text
    run_id = created.json()["id"]

    def status() -> str:
        answer: str = client.get(f"/classify_runs/{run_id}", headers=EXTEND).json()["status"]
        return answer

    wait_until(lambda: status() == "PROCESSED")
    listed = client.get("/classify_runs", headers=EXTEND).json()
    assert [run["id"] for run in listed["data"]] == [run_id]
    assert not (tmp_path / "crosswalk.db").exists()  # nothing went to SQLite
