"""`crosswalk replay` itself: check the inputs, open the backends as the gateway does, compare
every document with bounded concurrency, then print the report and write its HTML page.

Stopped (Ctrl-C, SIGTERM: the caller cancels the task), it cancels the creates in flight,
closes the ledger and answers 130; the same command run again resumes where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TextIO

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
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    clock: Clock = system_clock,
) -> int:
    """Replay `options.docs` and report; the exit status (0, 1 if a document was skipped or
    the page could not be written, 130 when stopped). Raises ReplayError for bad inputs."""
    planned = plan(settings, options)
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
    written = write_report(records, planned, settings, options.out, out=out, now=clock())
    return 0 if written and not skipped else 1


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
            name=file.name,
            categories=categories,
            backends=planned.backends,
        ),
        key=digest,
        name=file.name,
        request=canonical.ClassifyRequest(
            document=inline, config=canonical.RunConfig(categories=categories)
        ),
        expected=planned.labels.get(file.name),
    )


def _uncancel() -> None:
    """The stop is handled: later awaits (closing the ledger) are not cancelled again."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
