"""Tells whoever answers a request that one of its calls is about to go to a vendor: an
idempotent create (gateway/service/idempotency.py) whose client goes before its answer keeps
its key only if something was sent upstream, since only then may a run exist. Kept apart so
the backends need not import the service layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_listener: ContextVar[Callable[[], None] | None] = ContextVar("upstream_send", default=None)


@contextmanager
def watching(on_send: Callable[[], None]) -> Iterator[None]:
    """Call `on_send` whenever a call made inside this block is about to go upstream."""
    token = _listener.set(on_send)
    try:
        yield
    finally:
        _listener.reset(token)


def sending() -> None:
    """A request is about to go upstream (the backends call this before each exchange)."""
    listener = _listener.get()
    if listener is not None:
        listener()
