"""Failed deliveries back off exponentially with full jitter, for 24 hours, then die."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.webhooks.retry import RetryPolicy

MADE = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)


def _highest(low: float, high: float) -> float:
    return high


def _lowest(low: float, high: float) -> float:
    return low


@pytest.mark.parametrize(
    ("attempts", "most"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (10, 2560.0), (11, 3600.0), (500, 3600.0)],
)
def test_backoff_doubles_from_five_seconds_to_an_hour(attempts: int, most: float) -> None:
    """5 s after the first failure, doubling each time, never past an hour."""
    assert RetryPolicy().backoff(attempts) == most


def test_next_attempt_is_a_full_jitter_draw_up_to_the_backoff() -> None:
    """The wait is drawn between 0 and the backoff; both ends are possible."""
    policy = RetryPolicy()
    now = MADE + timedelta(minutes=1)
    assert policy.next_attempt(3, since=MADE, now=now, draw=_highest) == now + timedelta(seconds=20)
    assert policy.next_attempt(3, since=MADE, now=now, draw=_lowest) == now
    drawn = policy.next_attempt(3, since=MADE, now=now)
    assert drawn is not None
    assert now <= drawn <= now + timedelta(seconds=20)


def test_last_try_is_at_the_deadline_and_then_the_delivery_is_dead() -> None:
    """A wait past 24 h after the event is cut to the deadline; at the deadline it is dead."""
    policy = RetryPolicy()
    deadline = MADE + timedelta(hours=24)
    late = deadline - timedelta(seconds=10)
    assert policy.next_attempt(30, since=MADE, now=late, draw=_highest) == deadline
    assert policy.next_attempt(30, since=MADE, now=deadline) is None
