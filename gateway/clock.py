"""The one clock every part of the gateway reads the time from.

`create_app` takes a `Clock` and hands it to whatever stamps, leases or ages runs, so a test
can move time on without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall-clock time in UTC."""
    return datetime.now(UTC)
