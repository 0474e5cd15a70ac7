"""Proportions with their 95 % Wilson score interval.

The Wilson interval (Wilson 1927) stays inside [0, 1] and is honest for small samples and
for rates near 0 or 1, where the normal approximation is not. Pure: stdlib and msgspec only.
"""

from __future__ import annotations

import math

import msgspec

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95 % interval


class Proportion(msgspec.Struct, frozen=True, kw_only=True):
    """`successes` out of `n`, the rate, and its 95 % Wilson interval [low, high]."""

    successes: int
    n: int
    rate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z_95) -> Proportion | None:
    """The proportion `successes / n` with its Wilson interval; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    rate = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (rate + z2 / (2 * n)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n)) / denominator
    # rounding can push a bound a hair past the estimate or out of [0, 1] when rate is 0 or 1
    low = max(0.0, min(centre - half, rate))
    high = min(1.0, max(centre + half, rate))
    return Proportion(successes=successes, n=n, rate=rate, low=low, high=high)
