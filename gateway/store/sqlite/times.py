"""How the ledger stores times: integer microseconds since the epoch, read back as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """A time as stored: integer microseconds since the epoch."""
    # a naive datetime is taken as UTC, the only zone the gateway writes
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    """A stored time back as an aware UTC datetime."""
    return _EPOCH + us * _MICROSECOND
