"""`crosswalk replay` itself: check the inputs, open the backends as the gateway does, compare
every document with bounded concurrency, then print the report and write its HTML page.

One replay at a time uses a ledger (gateway/replay/lock.py). Stopped (Ctrl-C, SIGTERM: the
caller cancels the task), it cancels the creates in flight, closes the ledger and answers
130; the same command run again resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import TextIO, cast

import httpx

from gateway.auth import Principal
from gateway.backends.factory import open_backends
from gateway.clock import Clock, system_clock
from gateway.config import Secret, Settings
from gateway.replay.comparer import Comparer, Document
from gateway.replay.identity import comparison_id
from gateway.replay.inputs import (
    DocumentFile,
    Plan,
    ReplayError,
    ReplayOptions,
    plan,
    read_document,
)
from gateway.replay.lock import replay_lock
from gateway.replay.output import BestEffort
from gateway.replay.progress import Tracker, tracking
from gateway.replay.report import write_report
from gateway.routing import Routing, document_key
from gateway.service.runs import RunService
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from mappings import canonical

INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


async def run_replay(
    settings: Settings,
    options: ReplayOptions,
    *,
    out: TextIO,
    err: TextIO | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    clock: Clock = system_clock,
) -> int:
    """Replay `options.docs` and report on `out` (problems on `err`, stderr by default); the
    exit status: 0 when every document was compared, 1 when one was skipped, failed on a
    backend or is unfinished (or the page could not be written), 130 when stopped. Raises
    ReplayError for bad inputs or when another replay holds the ledger."""
    planned = plan(settings, options)
    out = cast(TextIO, BestEffort(out))  # writes, flushes and says if it is a terminal
    with replay_lock(settings):
        for note in planned.notes:
            print(note, file=out, flush=True)
        return await _locked(planned, settings, options, out, err or sys.stderr, transports, clock)


async def _locked(
    planned: Plan,
    settings: Settings,
    options: ReplayOptions,
    out: TextIO,
    err: TextIO,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None,
    clock: Clock,
) -> int:
    """The replay once it holds the ledger: the backends opened, every document compared,
    the report written; its exit status."""
    principal = Principal(owner=owner_of(options.key), key=Secret(options.key))
    async with open_backends(settings, transports or {}, clock=clock) as opened:
        runs = RunService(
            ledger=opened.ledger,
            routing=Routing(opened.backends, default=settings.default_backend),
            sync_timeout=settings.server.sync_timeout,
            clock=clock,
        )
        comparer = Comparer(
            comparisons=opened.comparisons,
            runs=runs,
            backends=[opened.backends[name] for name in planned.backends],
            principal=principal,
            surface=planned.categories.dialect,
            patience=settings.server.sync_timeout,
            clock=clock,
        )
        try:
            records, skipped = await _replay(planned, comparer, settings, options, out)
        except asyncio.CancelledError:
            _uncancel()
            print("interrupted: run the same command again to resume", file=out, flush=True)
            return INTERRUPTED
    written = write_report(records, planned, settings, options.out, out=out, err=err, now=clock())
    compared = all(_compared(record) for record in records)
    return 0 if written and compared and not skipped and not planned.unread else 1


def _compared(record: ComparisonRecord) -> bool:
    """Every side of the document answered: a run that completed."""
    return all(
        side.run is not None and side.run.status is canonical.Status.completed
        for side in record.sides
    )


async def _replay(
    planned: Plan, comparer: Comparer, settings: Settings, options: ReplayOptions, out: TextIO
) -> tuple[list[ComparisonRecord], int]:
    """Every document compared, `options.concurrency` at a time; and how many were skipped."""
    records: list[ComparisonRecord] = []
    skipped = 0
    pending = iter(planned.documents)
    limit = settings.server.max_body_bytes

    async def work(tracker: Tracker) -> None:
        nonlocal skipped
        for file in pending:  # shared: each worker takes the next document
            try:
                document = await asyncio.to_thread(_document, file, planned, options.key, limit)
            except ReplayError as exc:
                skipped += 1
                tracker.skipped(str(exc))
                continue
            record, sent = await comparer.compare(document)
            records.append(record)
            tracker.done(record, before=not sent)

    with tracking(len(planned.documents), out) as tracker:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(options.concurrency, len(planned.documents))):
                group.create_task(work(tracker))
    return records, skipped


def _document(file: DocumentFile, planned: Plan, key: str, limit: int) -> Document:
    inline = read_document(file, limit)
    categories = planned.categories.categories
    digest = document_key(inline).hex()
    return Document(
        comparison_id=comparison_id(
            owner=owner_of(key),
            document=digest,
            name=file.raw,
            categories=categories,
            backends=planned.backends,
        ),
        key=digest,
        name=file.name,
        request=canonical.ClassifyRequest(
            document=inline, config=canonical.RunConfig(categories=categories)
        ),
        expected=planned.labels.get(file.name),
        labelled=planned.labelled,
    )


def _uncancel() -> None:
    """The stop is handled: later awaits (closing the ledger) are not cancelled again."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
