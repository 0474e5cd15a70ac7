"""Runs the gateway's background loops, and keeps them running through errors.

A loop repeats a *step*: one unit of work that answers whether more may be waiting right
away. A step that raises is logged with the loop's name and attempt, retried after a capped
exponential backoff, and the loop goes on, so one SQLite error cannot silently end a worker
or a refresher (design.md §9). Each such restart is counted in `/metrics` by the loop's kind
(its name less a worker's process id and token). Stopping cancels every loop and waits for
it, quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, NamedTuple, Self

import msgspec
import structlog

from gateway import metrics

Step = Callable[[], Awaitable[bool]]
Sleep = Callable[[float], Awaitable[None]]
log = structlog.get_logger("crosswalk.supervisor")
_MAX_DOUBLINGS = 64  # past this the cap has long been reached; keeps the power finite
# a worker's name ends in its id (`worker-<pid>-<token>`): one metric label per kind, not each
_WORKER_ID = re.compile(r"-[0-9]+-[0-9a-f]+$")


def loop_kind(name: str) -> str:
    """The metric label of the loop `name`: its kind, with any worker id taken off."""
    return _WORKER_ID.sub("", name)


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    """How long a loop waits after failures in a row: `first`, growing by `factor` to `cap`."""

    first: float = 0.1
    cap: float = 5.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1 for the first)."""
        return min(self.cap, self.first * self.factor ** min(failures - 1, _MAX_DOUBLINGS))


class Doorbell:
    """Wakes the idle loops that listen to it, so work queued in this process starts at once.

    Only a shortcut: loops still poll every idle interval, for work that other processes
    queue and for a ring that came a moment before the work was committed.
    """

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        """Wake every loop waiting on this bell now, or the next one to wait."""
        self._rung.set()

    async def wait(self, timeout: float) -> None:
        """Return when the bell rings or after `timeout` seconds, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._rung.wait()
        # consumed: every loop already waiting woke; later waits sleep until the next ring
        self._rung.clear()


class _Loop(NamedTuple):
    name: str
    step: Step
    idle: float
    doorbell: Doorbell | None


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended, whatever it raised. A cancellation of the
    caller meanwhile is raised, never swallowed: `suppress(CancelledError)` around `await
    task` would take the caller's own cancellation for the task's, and a supervised loop
    would run on after `stop` (a hang at shutdown)."""
    task.cancel()
    await asyncio.wait([task])


class Supervisor:
    """Runs named loops of steps until stopped; as a context manager it stops them on exit.

    `sleep` waits out backoffs and idle intervals (those without a doorbell); tests pass
    one that returns at once and records what it was asked.
    """

    def __init__(self, *, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._tasks: list[asyncio.Task[None]] = []
        self._steps: dict[str, Step] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def start(
        self,
        name: str,
        step: Step,
        *,
        idle: float,
        doorbell: Doorbell | None = None,
        idle_first: bool = False,
    ) -> None:
        """Repeat `step` until stopped: again at once while it returns True, otherwise after
        `idle` seconds or when `doorbell` rings; with `idle_first`, the first step waits too."""
        loop = _Loop(name, step, idle, doorbell)
        self._steps[name] = step
        self._tasks.append(asyncio.create_task(self._run(loop, idle_first), name=name))

    def steps(self) -> Mapping[str, Step]:
        """Each loop's step by name: one unit of its work, to run at once by hand (tests)."""
        return MappingProxyType(self._steps)

    async def stop(self) -> None:
        """Cancel every loop and wait until each has ended; raises nothing, logs nothing."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        # return_exceptions: each loop's CancelledError is collected, not raised here
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, loop: _Loop, idle_first: bool) -> None:
        if idle_first:
            await self._idle(loop)
        failures = 0
        while True:
            try:
                more = await loop.step()
            except Exception:  # Exception, not BaseException: cancellation ends the loop
                failures += 1
                metrics.loop_restarted(loop_kind(loop.name))
                delay = self._backoff.delay(failures)
                log.exception(
                    "supervisor.step_failed", loop=loop.name, attempt=failures, retry_in=delay
                )
                await self._sleep(delay)
                continue
            if failures:
                log.info("supervisor.step_recovered", loop=loop.name, failures=failures)
                failures = 0
            if not more:
                await self._idle(loop)

    async def _idle(self, loop: _Loop) -> None:
        if loop.doorbell is None:
            await self._sleep(loop.idle)
        else:
            await loop.doorbell.wait(loop.idle)
