"""A shadow job's bounds, on the real backends and ledger (Retab respx-mocked and held at a
gate): its deadline fails a side still without a run, the sweep leaves alone a side whose job
may still be running, and its in-flight slots come back however its task ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from gateway.auth import Principal
from gateway.backends.factory import Opened, open_backends
from gateway.clock import system_clock
from gateway.config import Secret
from gateway.context import CallContext
from gateway.routing import Routing
from gateway.service.runs import RunService
from gateway.service.shadow import Shadows
from gateway.store.comparison_records import ComparisonRecord
from mappings import canonical
from tests.harness import GATEWAY_KEY, mocked
from tests.shadow_support import OWNER, Gate, new_retab_id, retab_run, retab_vendor, settings

CALL = CallContext(
    request_id="req_shadowjobs", principal=Principal(OWNER, Secret(GATEWAY_KEY)), surface="retab"
)
REQUEST = canonical.ClassifyRequest(
    document=canonical.TextDocument(text="Freight invoice: total due within 30 days"),
    config=canonical.RunConfig(
        categories=(
            canonical.Category(key="invoice", name="Invoice"),
            canonical.Category(key="receipt", name="Receipt"),
        )
    ),
    background=True,  # a background create on Retab has no deadline but its call timeout
)


class Clock:
    """The system clock, moved on by `ahead`."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return system_clock() + self.ahead


@asynccontextmanager
async def _shadowing(
    tmp_path: Path, gate: Gate, clock: Clock, **options: float
) -> AsyncIterator[tuple[Shadows, Opened, RunService]]:
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    async with open_backends(built, mocked({"retab": retab_vendor(gate)}), clock=clock) as opened:
        runs = RunService(
            ledger=opened.ledger, routing=Routing(opened.backends, default="local"), clock=clock
        )
        shadows = Shadows(
            [opened.backends["retab"]],
            runs=runs,
            ledger=opened.ledger,
            comparisons=opened.comparisons,
            clock=clock,
            **options,  # type: ignore[arg-type]
        )
        try:
            yield shadows, opened, runs
        finally:
            gate.open()
            await shadows.stop()


async def _schedule(shadows: Shadows, opened: Opened, runs: RunService) -> None:
    """A create answered on `local` (a queued background run), shadowed on Retab."""
    served = await runs.create(REQUEST, opened.backends["local"], call=CALL)

    async def prepare(
        request: canonical.ClassifyRequest, call: CallContext
    ) -> canonical.ClassifyRequest:
        return request

    shadows.schedule(
        CALL, REQUEST, served, started_at=system_clock(), read_run=lambda content, now: None,
        prepare=prepare,
    )  # fmt: skip


async def _until(holds: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not holds():
            await asyncio.sleep(0.01)


async def _shadow_side(opened: Opened) -> ComparisonRecord:
    (comparison,) = await opened.comparisons.comparisons(OWNER)
    return comparison


async def test_a_shadow_still_without_a_run_at_its_job_s_deadline_fails_its_side(
    tmp_path: Path,
) -> None:
    gate = Gate(lambda request: retab_run(new_retab_id()))
    options = {"sync_timeout": 0.1, "call_timeout": 0.2, "margin": 0.1}  # a 0.3 s deadline
    async with _shadowing(tmp_path, gate, Clock(), **options) as (shadows, opened, runs):
        await _schedule(shadows, opened, runs)
        await _until(lambda: gate.waiting == 1)
        async with asyncio.timeout(10):
            while not (await _shadow_side(opened)).sides[1].finished:
                await asyncio.sleep(0.01)
        side = (await _shadow_side(opened)).sides[1]
        assert side.run is None
        assert side.error == "no run within the shadow's deadline (0.3 s)"
        assert shadows.in_flight == 0


async def test_the_sweep_leaves_a_side_whose_job_may_still_run_and_fails_it_past_the_deadline(
    tmp_path: Path,
) -> None:
    """A background create on Retab may run for its call timeout (360 s), beyond the sync
    deadline: the sweep fails its side only past that and its margins."""
    gate = Gate(lambda request: retab_run(new_retab_id()))
    clock = Clock()
    options = {"sync_timeout": 30.0, "call_timeout": 360.0}
    async with _shadowing(tmp_path, gate, clock, **options) as (shadows, opened, runs):
        await _schedule(shadows, opened, runs)
        await _until(lambda: gate.waiting == 1)
        await _until(lambda: shadows.in_flight == 1)
        clock.ahead = timedelta(seconds=30 + 61)  # past the sync deadline and a minute
        await shadows.sweep()
        assert not (await _shadow_side(opened)).sides[1].finished
        clock.ahead = timedelta(seconds=360 + 60 + 61)  # past the job's deadline and a minute
        await shadows.sweep()
        side = (await _shadow_side(opened)).sides[1]
        assert (side.finished, side.error) == (True, "interrupted")


async def test_a_job_cancelled_before_it_first_runs_gives_its_slots_back(tmp_path: Path) -> None:
    gate = Gate(lambda request: retab_run(new_retab_id()))
    async with _shadowing(tmp_path, gate, Clock(), sync_timeout=30.0) as (shadows, opened, runs):
        await _schedule(shadows, opened, runs)
        assert shadows.in_flight == 1
        await shadows.stop()  # before the job's task was ever run
        assert shadows.in_flight == 0
        assert await opened.comparisons.comparisons(OWNER) == ()
