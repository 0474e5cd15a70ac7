"""Extractor processes that can be stopped: a document that reads too long is killed.

Neither `ProcessPoolExecutor` nor `multiprocessing.Pool` can stop one task: killing a worker
breaks the former for good and leaves the latter's task waiting forever. So this is a small
pool of its own: up to `size` child processes (extract_process.py), each spoken to over its
own pipes, started when a job first needs one, killed at the job's deadline or when its caller
gives up, and replaced by the next job. `close` kills them all, so none outlives the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog

from gateway.backends.local.extract import Extracted, UndecodableDocument
from gateway.backends.local.extract_process import (
    HEADER,
    MODULE,
    Broke,
    Job,
    Read,
    Ready,
    Refused,
    Reply,
    frame,
    reply_decoder,
)

log = structlog.get_logger("crosswalk.local")
# `python -m` imports from its working directory: the tree this module was imported from
_ROOT = Path(__file__).resolve().parents[3]
# a cold interpreter imports pypdf in ~0.15 s; this is for a machine under heavy load
START_TIMEOUT = 30.0


class ExtractionTimedOut(UndecodableDocument):
    """Reading the document took longer than its deadline; the process reading it was killed."""


class ExtractorDied(UndecodableDocument):
    """The process reading the document died (a crash, or killed for its memory)."""


class ExtractorBroke(RuntimeError):
    """Reading raised an unexpected error: a bug of crosswalk's, not the document's fault."""


class PoolClosed(RuntimeError):
    """The app is stopping; no more documents are read."""


class _Extractor:
    """One extractor process, reading one job at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.started = False  # its imports are done and it reads jobs

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    async def ready(self, timeout: float) -> None:
        """Wait until it has started; a process that cannot start is crosswalk's fault."""
        try:
            async with asyncio.timeout(timeout):
                reply = await self._receive()
        except TimeoutError:
            raise ExtractorBroke(f"the extractor did not start within {timeout:g} s") from None
        except asyncio.IncompleteReadError:
            raise ExtractorBroke("the extractor ended as it started") from None
        if not isinstance(reply, Ready):
            raise ExtractorBroke(f"the extractor started with {type(reply).__name__}")
        self.started = True

    async def run(self, job: Job) -> Reply:
        """The reply to `job`, or an `UndecodableDocument` when it took too long or killed."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            async with asyncio.timeout(job.deadline):
                stdin.write(frame(job))
                await stdin.drain()
                return await self._receive()
        except TimeoutError:
            raise ExtractionTimedOut(
                f"reading it took longer than {job.deadline:g} s (extract_timeout); "
                "the document is too complex"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await self.process.wait()
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            raise ExtractorDied(f"reading it ended the extractor process ({how})") from None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def _receive(self) -> Reply:
        stdout = self.process.stdout
        assert stdout is not None
        (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
        return reply_decoder.decode(await stdout.readexactly(size))


class ExtractionPool:
    """Up to `size` extractor processes, started when first needed and replaced when killed."""

    def __init__(self, size: int, *, start_timeout: float = START_TIMEOUT) -> None:
        self._start_timeout = start_timeout
        self._slots = asyncio.Semaphore(size)  # a job holds one while it runs
        self._idle: list[_Extractor] = []  # reused before another process is started
        self._live: set[_Extractor] = set()
        self._reaping: set[asyncio.Task[int]] = set()
        self._closed = False

    @property
    def pids(self) -> frozenset[int]:
        """The process ids of the extractors started and not yet retired."""
        return frozenset(e.process.pid for e in self._live if e.started)

    async def extract(self, job: Job) -> Extracted:
        """Read `job` in a free extractor, waiting for one if all are busy.

        Raises `UndecodableDocument` (its subclass `ExtractionTimedOut` past the deadline).
        """
        async with self._slots:
            extractor = self._idle.pop() if self._idle else None
            try:
                if extractor is None or extractor.exited:
                    if extractor is not None:
                        self._retire(extractor)
                    extractor = None
                    extractor = await self._start()
                reply = await extractor.run(job)
            except BaseException as exc:
                await self._failed(extractor, exc)
                raise
            self._idle.append(extractor)
        return _result(reply)

    async def _failed(self, extractor: _Extractor | None, exc: BaseException) -> None:
        """Retire the extractor of a job that failed: whatever state it is in is unknown."""
        if extractor is not None and extractor in self._live:
            log.info("local.extractor_stopped", pid=extractor.process.pid, why=type(exc).__name__)
            reaped = self._retire(extractor)
            if not isinstance(exc, asyncio.CancelledError):
                await asyncio.shield(reaped)  # gone before its failure is reported
        if self._closed and isinstance(exc, ExtractorDied):
            raise PoolClosed("the server is stopping") from None

    async def close(self) -> None:
        """Kill every extractor, busy or idle, and wait until each is gone."""
        self._closed = True
        self._idle.clear()
        for extractor in list(self._live):
            self._retire(extractor)
        if self._reaping:
            await asyncio.gather(*self._reaping)

    async def _start(self) -> _Extractor:
        if self._closed:
            raise PoolClosed("the server is stopping")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=_ROOT,
            env={},  # it reads untrusted documents: none of the server's secrets go with it
        )
        extractor = _Extractor(process)
        self._live.add(extractor)
        try:
            await extractor.ready(self._start_timeout)
        except BaseException:
            self._retire(extractor)
            raise
        return extractor

    def _retire(self, extractor: _Extractor) -> asyncio.Task[int]:
        """Kill `extractor`; the task ends once the process is reaped."""
        self._live.discard(extractor)
        extractor.kill()
        task = asyncio.ensure_future(extractor.process.wait())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)
        return task


@asynccontextmanager
async def extraction_pool(size: int) -> AsyncIterator[ExtractionPool]:
    """A pool of `size` extractors for the app's lifetime; none is left running after it."""
    pool = ExtractionPool(size)
    try:
        yield pool
    finally:
        await pool.close()


def _result(reply: Reply) -> Extracted:
    match reply:
        case Read(extracted=extracted):
            return extracted
        case Refused(reason=reason):
            raise UndecodableDocument(reason)
        case Broke(error=error):
            raise ExtractorBroke(f"extracting text failed with {error}")
        case Ready():
            raise ExtractorBroke("the extractor answered a job with `ready`")
