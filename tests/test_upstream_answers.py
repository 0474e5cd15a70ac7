"""A vendor's run answer is checked before anything is recorded: a new run needs an id crosswalk
can address, a read or a cancel must answer the run asked for. A bad answer is a 502 in the
client's dialect that leaves the ledger as it was; and a bad row already in a ledger (left by
an older version) never breaks a listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from gateway.store import RunRecord, SqliteLedger
from gateway.supervisor import Supervisor
from mappings import canonical
from mappings.dialects import Dialect
from tests.harness import extend_error, retab_error
from tests.upstream_answers_app import (
    CREATED_STATUS,
    OTHER,
    OWNER,
    RUNS,
    SAME,
    SURFACES,
    Gateway,
    answer,
    gateway,
    headers,
    native_id,
)

ROUTES = [pytest.param(OTHER, id="translated"), pytest.param(SAME, id="relayed")]
BAD_NEW_IDS = [pytest.param("", id="empty"), pytest.param("x" * 600, id="too-long")]
ANOTHER = "another"  # stands for the id of another run of the same vendor
BAD_ANSWERED_IDS = [pytest.param("", id="empty"), pytest.param(ANOTHER, id="another-run")]


def bad_gateway(surface: Dialect, response: httpx.Response) -> str:
    """The message of a 502 in the client's own dialect."""
    if surface == "extend":
        return str(extend_error(response, 502)["message"])
    detail = retab_error(response, 502)
    assert detail["code"] == "UPSTREAM_ERROR"
    return str(detail["message"])


def create(gw: Gateway, surface: Dialect, run_id: str | None = None) -> httpx.Response:
    """A background create through `surface`, the vendor answering with `run_id` as its id."""
    vendor = gw.routes[surface]
    reply = answer(vendor, "create", run_id)
    gw.vendor_of(surface).post(RUNS[vendor]).respond(CREATED_STATUS[vendor], json=reply)
    return gw.create(surface)


def created(gw: Gateway, surface: Dialect) -> str:
    """The public id of a run created through `surface`, answered as the vendor does."""
    response = create(gw, surface)
    assert response.is_success, response.text
    return str(response.json()["id"])


def answered_id(vendor: Dialect, bad: str) -> str:
    return native_id(vendor) + "Z" if bad == ANOTHER else bad


def assert_listed_once_everywhere(gw: Gateway, surface: Dialect, public_id: str) -> None:
    """Both surfaces list the one run; the surface it was created through by `public_id`."""
    assert gw.listed(surface) == [public_id]
    assert len(gw.listed(OTHER[surface])) == 1


@pytest.mark.parametrize("routes", ROUTES)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("bad_id", BAD_NEW_IDS)
def test_a_new_run_without_a_usable_id_is_a_502_and_not_recorded(
    tmp_path: Path, routes: dict[Dialect, Dialect], surface: Dialect, bad_id: str
) -> None:
    """A create answered with an empty id, or one too long for any public id, is the
    vendor's failure: nothing is recorded and both listings stay empty and fine."""
    with gateway(tmp_path, routes) as gw:
        message = bad_gateway(surface, create(gw, surface, bad_id))
        assert gw.records() == []
        assert gw.listed("retab") == []
        assert gw.listed("extend") == []
    assert f"Backend {gw.routes[surface]} answered" in message


@pytest.mark.parametrize("routes", ROUTES)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("bad", BAD_ANSWERED_IDS)
def test_a_read_answering_another_run_is_a_502_and_changes_nothing(
    tmp_path: Path, routes: dict[Dialect, Dialect], surface: Dialect, bad: str
) -> None:
    """A get answered with no id or another run's is a 502; the ledger's row is untouched,
    no second row appears, and the run lists once, under its own id."""
    with gateway(tmp_path, routes) as gw:
        public_id = created(gw, surface)
        before = gw.records()
        vendor = gw.routes[surface]
        reply = answer(vendor, "get", answered_id(vendor, bad))
        gw.vendor_of(surface).get(f"{RUNS[vendor]}/{native_id(vendor)}").respond(200, json=reply)
        message = bad_gateway(surface, gw.get(surface, public_id))
        assert gw.records() == before
        assert_listed_once_everywhere(gw, surface, public_id)
    assert repr(native_id(vendor)) in message


@pytest.mark.parametrize("routes", ROUTES)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("bad", BAD_ANSWERED_IDS)
def test_a_cancel_answering_another_run_is_a_502_and_changes_nothing(
    tmp_path: Path, routes: dict[Dialect, Dialect], surface: Dialect, bad: str
) -> None:
    """A cancel answered with no id or another run's is a 502 and records nothing."""
    with gateway(tmp_path, routes) as gw:
        public_id = created(gw, surface)
        before = gw.records()
        vendor, upstream = gw.routes[surface], gw.vendor_of(surface)
        one = f"{RUNS[vendor]}/{native_id(vendor)}"
        upstream.get(one).respond(200, json=answer(vendor, "get"))
        reply = answer(vendor, "cancel", answered_id(vendor, bad))
        cancel = upstream.post(f"{one}/cancel").respond(200, json=reply)
        bad_gateway(surface, gw.cancel(surface, public_id))
        assert cancel.call_count == 1
        assert gw.records() == before
        assert_listed_once_everywhere(gw, surface, public_id)


T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = canonical.RunConfig(categories=(canonical.Category(key="invoice", name="Invoice"),))


def row(
    backend: str,
    upstream_id: str,
    minute: int,
    status: canonical.Status = canonical.Status.completed,
) -> RunRecord:
    """A run of the gateway's client, as an older version may have recorded it."""
    created_at = T0 + timedelta(minutes=minute)
    run = canonical.ClassificationRun(
        id=upstream_id, status=status, config=CONFIG, created_at=created_at
    )
    return RunRecord(
        key=f"{backend}:{upstream_id}",
        owner=OWNER,
        backend=backend,
        upstream_id=upstream_id,
        surface="retab",
        run=run,
        request=None,
        filename="a.txt",
        created_at=created_at,
        updated_at=created_at,
    )


def seed(store_path: Path, rows: list[RunRecord]) -> None:
    """Rows inserted through the ledger's own API before the gateway opens it."""

    async def insert() -> None:
        async with await SqliteLedger.open(str(store_path)) as ledger:
            for record in rows:
                await ledger.insert(record)

    asyncio.run(insert())


def pages(gw: Gateway, surface: Dialect, limit: int, *, before: str | None = None) -> list[str]:
    """Every id a `surface` client sees paging forwards through its listing, or (Retab)
    backwards from `before`."""
    seen: list[str] = []
    cursor = before
    while True:
        if surface == "extend":
            params = {"maxPageSize": str(limit)} | ({"nextPageToken": cursor} if cursor else {})
        else:
            params = {"limit": str(limit)} | (
                {"before" if before else "after": cursor} if cursor else {}
            )
        response = gw.client.get(RUNS[surface], params=params, headers=headers(surface))
        assert response.status_code == 200, response.text
        body = response.json()
        if surface == "extend":
            seen, cursor = seen + [item["id"] for item in body["data"]], body["nextPageToken"]
        elif before:
            seen, cursor = (
                [item["id"] for item in body["data"]] + seen,
                body["list_metadata"]["before"],
            )
        else:
            seen, cursor = (
                seen + [item["id"] for item in body["data"]],
                body["list_metadata"]["after"],
            )
        if not cursor:
            return seen


@pytest.mark.parametrize("routes", ROUTES)
@pytest.mark.parametrize("bad_id", BAD_NEW_IDS)
def test_a_bad_row_in_the_ledger_does_not_break_listings(
    tmp_path: Path, routes: dict[Dialect, Dialect], bad_id: str
) -> None:
    """Rows no public id can name are left out of every page with a warning; every other run
    still lists, page by page, on both surfaces."""
    good = [native_id("extend"), native_id("retab")]
    seed(
        tmp_path / "crosswalk.db",
        [
            row("extend", good[0], 0),
            row("extend", bad_id, 1),
            row("retab", bad_id, 2),
            row("retab", good[1], 3),
        ],
    )
    with gateway(tmp_path, routes) as gw, capture_logs() as logs:
        listed = {surface: gw.listed(surface) for surface in SURFACES}
        for surface, ids in listed.items():
            assert len(ids) == 2
            for limit in (1, 2, 3):
                assert pages(gw, surface, limit) == ids, (surface, limit)
                if surface == "retab":
                    assert pages(gw, surface, limit, before=ids[-1]) == ids[:1]
    warned = [e for e in logs if e["event"] == "ledger.unlistable_run"]
    assert {e["backend"] for e in warned} == {"retab", "extend"}


@pytest.mark.parametrize("bad", BAD_ANSWERED_IDS)
def test_the_refresher_records_only_the_run_it_asked_for(tmp_path: Path, bad: str) -> None:
    """In the background too: an unfinished row without an id is not asked for (its path
    would be the vendor's listing), and a re-read answering another run changes nothing."""
    good = native_id("extend")
    running = canonical.Status.running
    seed(
        tmp_path / "crosswalk.db", [row("extend", good, 0, running), row("extend", "", 1, running)]
    )
    with gateway(tmp_path, SAME) as gw, capture_logs() as logs:
        before = gw.records()
        upstream = gw.vendors["extend"]
        listing = upstream.get(path__regex=r"^/classify_runs/?$")
        listing.respond(200, json={"object": "list", "data": []})
        reply = answer("extend", "get", answered_id("extend", bad))
        one = upstream.get(f"{RUNS['extend']}/{good}").respond(200, json=reply)
        background: Supervisor = gw.client.app.state.background
        gw.client.blocking_portal.call(background.steps()["refresher-extend"])
        assert one.call_count == 1
        assert listing.call_count == 0
        assert gw.records() == before
        assert gw.listed("extend") == [good]
    failed = [e for e in logs if e["event"] == "refresh.failed"]
    assert [e["status"] for e in failed] == [502, 502]
