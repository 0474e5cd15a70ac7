"""How the report's renderers write a figure: one spelling of a rate, a latency or a cost.

The table and the HTML page show the same numbers; formatting them here keeps the two views in
step. A figure that is None (no data) is written as a dash, never as "nan" or "None".
Pure: stdlib only.
"""

from __future__ import annotations

from gateway.compare.intervals import Proportion

MISSING = "-"
# what a report of no documents says instead of leaving a reader with empty tables
NO_COMPARISONS = (
    "No comparisons yet: no document was answered by these backends "
    "(a [routing] shadow or `crosswalk replay` records comparisons)."
)


def cut(latest: int, recorded: int) -> str:
    """What a report of only the latest comparisons covers."""
    return f"The latest {latest:,} of {recorded:,} comparisons recorded (older ones left out)."


def percent(rate: float | None) -> str:
    """A rate in [0, 1] as a percentage with one decimal: "75.0 %"."""
    return MISSING if rate is None else f"{rate * 100:.1f} %"


def proportion(value: Proportion | None) -> str:
    """A proportion with its 95 % interval: "75.0 % (6/8, 95 % CI 40.9 to 92.9 %)"."""
    if value is None:
        return MISSING
    low, high = value.low * 100, value.high * 100
    interval = f"95 % CI {low:.1f} to {high:.1f} %"
    return f"{percent(value.rate)} ({value.successes}/{value.n}, {interval})"


def milliseconds(value: float | None) -> str:
    """A latency: "512 ms"."""
    return MISSING if value is None else f"{value:,.0f} ms"


def usd(value: float | None) -> str:
    """A cost in US dollars: "$20.00"."""
    return MISSING if value is None else f"${value:,.2f}"


def number(value: float | None, digits: int = 3) -> str:
    """A plain figure such as kappa: "0.579"."""
    return MISSING if value is None else f"{value:.{digits}f}"


def confidence(value: float | None) -> str:
    """A backend's confidence: "0.95"."""
    return MISSING if value is None else f"{value:.2f}"


def bucket(low: float, high: float, last: bool) -> str:
    """A calibration bucket's range: "[0.50, 0.70)", the last one closed: "[0.90, 1.00]"."""
    return f"[{low:.2f}, {high:.2f}{']' if last else ')'}"
