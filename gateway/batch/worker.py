"""Batch workers: create the runs of batches' inputs from the ledger, in every process.

A worker claims the oldest pending input under a lease, keeps the lease alive while the run
is created, and records the run with its input (`RunService.create`, as `POST /classify_runs`
creates one); recording it marks the input created in the same write, so a restart loses
no input. Each input is stored already resolved at batch create (its classifier inlined), so
a worker makes one vendor call per input and never resolves. An input that cannot be created
becomes a FAILED run of its batch. A create is retried (with backoff, refused after
`max_attempts`) only when it surely never reached the vendor (`failures.never_sent`): one
the vendor may have received (a timeout, a 5xx) is never sent twice (contracts.md §9). On a
graceful stop, creates already sent get `STOP_GRACE_SECONDS` to be answered and recorded;
only those still unanswered then are handed back, and may be made twice. A worker whose
lease was lost (its heartbeat found another holder) leaves the input to that holder.
The workers of a process, as many as the batch concurrency, share a doorbell rung when a
batch is recorded, and poll for other processes' batches. A settler loop settles batches
whose runs finished or were deleted without a word to it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Sequence
from datetime import timedelta

import anyio
import msgspec
import structlog

from gateway.auth import Principal
from gateway.batch.failures import error_of, failed_record, never_sent
from gateway.clock import Clock, system_clock
from gateway.config import Secret
from gateway.context import CallContext
from gateway.errors import CrosswalkError, InternalError
from gateway.middleware import new_request_id
from gateway.routing import Routing
from gateway.service.runs import BatchInputTaken, RunService
from gateway.store.base import BatchLedger
from gateway.store.batch_records import ClaimedInput
from gateway.store.records import BatchSlot
from gateway.supervisor import Backoff, Doorbell, Supervisor, cancel_and_wait
from mappings import canonical
from mappings.errors import TranslationError

log = structlog.get_logger("crosswalk.batch")
IDLE_POLL_SECONDS = 0.25  # as the local workers: other processes' batches start this soon
SETTLE_SECONDS = 1.0  # how often batches whose runs changed elsewhere are settled
LEASE_SECONDS = 60.0  # a claimed input whose worker stops heartbeating is retaken
MAX_ATTEMPTS = 3
# on a graceful stop, how long creates already sent may take to be answered and recorded
STOP_GRACE_SECONDS = 10.0
_RETRY = Backoff(first=1.0, cap=30.0)  # after a passing failure to create an input's run


class BatchWorker:
    """Creates the runs of pending batch inputs, one `step` at a time; a `Supervisor` runs
    the loop around it."""

    idle_seconds = IDLE_POLL_SECONDS

    def __init__(
        self,
        *,
        ledger: BatchLedger,
        runs: RunService,
        routing: Routing,
        clock: Clock = system_clock,
        lease_seconds: float = LEASE_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        stop_grace: float | None = None,
    ) -> None:
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._ledger = ledger
        self._runs = runs
        self._routing = routing
        self._clock = clock
        self._lease = lease_seconds
        self._max_attempts = max_attempts
        self._grace = STOP_GRACE_SECONDS if stop_grace is None else stop_grace

    async def step(self) -> bool:
        """Claim the oldest pending input and create its run; False when there was none."""
        claimed = await self._ledger.claim_batch_input(self.id, self._lease, self._clock())
        if claimed is None:
            return False
        if claimed.attempts > self._max_attempts:  # its workers kept going away
            gone = InternalError(f"The input was interrupted {claimed.attempts - 1} times.")
            await self._failed(claimed, None, gone)
            return True
        lease = _Lease()
        heartbeat = asyncio.create_task(self._heartbeat(claimed, lease))
        creating = asyncio.create_task(self._create(claimed, lease))
        try:
            await asyncio.shield(creating)
        except asyncio.CancelledError:
            with anyio.CancelScope(shield=True):
                await self._stop(claimed, creating)
            raise
        finally:
            await cancel_and_wait(heartbeat)
        return True

    async def _stop(self, claimed: ClaimedInput, creating: asyncio.Task[None]) -> None:
        """Stopping: a create already sent may be making the run, so it gets the grace
        period to be answered and recorded; one still unanswered then is cancelled and its
        input handed back now, not when its lease runs out, so a restart takes it at once (a
        run already recorded has marked it created: a no-op then)."""
        await asyncio.wait([creating], timeout=self._grace)
        if creating.done():
            return
        await cancel_and_wait(creating)
        log.warning("batch.input_interrupted", batch=claimed.batch_id, input=claimed.index)
        await self._ledger.release_batch_input(
            claimed.batch_id, claimed.index, self.id, self._clock()
        )

    async def settle(self) -> bool:
        """Settle the batches whose runs finished or went; never more work right away."""
        await self._ledger.settle_batches(self._clock())
        return False

    async def _create(self, claimed: ClaimedInput, lease: _Lease) -> None:
        request: canonical.ClassifyRequest | None = None
        try:
            backend = self._routing.backend(claimed.backend)
            if backend is None:
                gone = f"Backend {claimed.backend} is no longer configured."
                raise InternalError(gone, retryable=False)
            request = _request_decoder.decode(claimed.body)
            slot = BatchSlot(batch_id=claimed.batch_id, index=claimed.index)
            # not shadowed: `[routing] shadow` copies a client's own creates, not batch inputs
            served = await self._runs.create(
                request, backend, call=_background_call(claimed), batch=slot
            )
            log.info("batch.input_created", batch=claimed.batch_id, input=claimed.index,
                     backend=claimed.backend, run=served.run.id)  # fmt: skip
        except BatchInputTaken:
            # another worker made the input's run after this one's lease ran out: the run
            # just made is a duplicate at the vendor, neither a failure of the input nor retried
            log.warning("batch.input_taken", batch=claimed.batch_id, input=claimed.index,
                        backend=claimed.backend)  # fmt: skip
        except (CrosswalkError, TranslationError) as exc:
            await self._failed(claimed, request, exc, lease)
        except Exception as exc:  # a bug must fail its input visibly, not stop the worker
            log.exception("batch.worker_error", batch=claimed.batch_id, input=claimed.index)
            await self._failed(claimed, request, exc, lease)

    async def _failed(
        self,
        claimed: ClaimedInput,
        request: canonical.ClassifyRequest | None,
        exc: Exception,
        lease: _Lease | None = None,
    ) -> None:
        """Retry a create that surely never reached the vendor; refuse the input for good
        otherwise. With the lease lost, the input is its new holder's to retry or refuse."""
        if lease is not None and lease.lost:
            log.warning("batch.input_left", batch=claimed.batch_id, input=claimed.index,
                        reason=type(exc).__name__)  # fmt: skip
            return
        if never_sent(exc) and claimed.attempts < self._max_attempts:
            retry_at = self._clock() + timedelta(seconds=_RETRY.delay(claimed.attempts))
            await self._ledger.release_batch_input(
                claimed.batch_id, claimed.index, self.id, retry_at
            )
            return
        error = error_of(exc)
        now = self._clock()
        kept = await self._ledger.refuse_batch_input(
            failed_record(claimed, request, error, now), now
        )
        log.info("batch.input_refused", batch=claimed.batch_id, input=claimed.index,
                 reason=error.code, kept=kept)  # fmt: skip

    async def _heartbeat(self, claimed: ClaimedInput, lease: _Lease) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                held = await self._ledger.extend_batch_lease(
                    claimed.batch_id, claimed.index, self.id, self._lease, self._clock()
                )
            except Exception:  # a missed beat only shortens the lease
                log.warning("batch.heartbeat_failed", batch=claimed.batch_id, exc_info=True)
                continue
            if not held:  # retaken by another worker after a stall, or already created
                lease.lost = True
                log.warning("batch.lease_lost", batch=claimed.batch_id, input=claimed.index)
                return


class _Lease:
    """Whether a worker's heartbeat found its lease on an input gone."""

    lost = False


_request_decoder = msgspec.json.Decoder(canonical.ClassifyRequest)


def _background_call(claimed: ClaimedInput) -> CallContext:
    """Who an input's run is created for: its batch's owner. No client is there, and no key
    of one: only a backend with crosswalk's own key (or none) can be used."""
    principal = Principal(owner=claimed.owner, key=Secret(""))
    return CallContext(
        request_id=new_request_id(),
        principal=principal,
        surface="extend",
        forward=dict(claimed.forward),
    )


def start_batch_workers(
    supervisor: Supervisor, workers: Sequence[BatchWorker], doorbell: Doorbell
) -> None:
    """Run `workers` (the batch concurrency of this process) and one settler."""
    for worker in workers:
        supervisor.start(
            f"batch-{worker.id}", worker.step, idle=worker.idle_seconds, doorbell=doorbell
        )
    if workers:
        supervisor.start("batch-settler", workers[0].settle, idle=SETTLE_SECONDS)
