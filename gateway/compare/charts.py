"""Horizontal bar charts as inline SVG, for the HTML report: no script, no external asset.

`bar_chart` draws one group of bars per backend (a group holds one bar per series, e.g. p50
and p95), each bar scaled to the largest value and labelled with its formatted figure. A value
that is None (no data) draws a zero-width bar labelled with a dash, so every backend still has
its bars; so does a value that is not finite (an infinite bar has no width to draw). Every
label is HTML-escaped here. Pure: stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import TypeGuard

import msgspec

LABEL_WIDTH = 140  # room for the backend's name left of the bars
BAR_AREA = 360
VALUE_WIDTH = 110  # room for the figure right of the longest bar
BAR_HEIGHT = 18
GAP = 4
GROUP_GAP = 14


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of bar in every group: its name (a CSS class) and its colour."""

    name: str
    colour: str


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """One backend's bars: a value per series, in the chart's series order."""

    label: str
    values: tuple[float | None, ...]


def bar_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
    groups: Sequence[Group],
    fmt: Callable[[float | None], str],
) -> str:
    """An <svg> with id `chart_id`: a <g class="backend"> per group, a <rect class="bar">
    per value."""
    largest = max((v for g in groups for v in g.values if _drawn(v) and v > 0), default=1.0)
    group_height = len(series) * (BAR_HEIGHT + GAP) - GAP
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = max(len(groups) * (group_height + GROUP_GAP) - GROUP_GAP, 0) + 2
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, group in enumerate(groups):
        top = 1 + i * (group_height + GROUP_GAP)
        parts.append(_group(group, series, top, group_height, largest, fmt))
    parts.append("</svg>")
    return "\n".join(parts)


def _group(
    group: Group,
    series: Sequence[Series],
    top: int,
    group_height: int,
    largest: float,
    fmt: Callable[[float | None], str],
) -> str:
    label = escape(group.label)
    middle = top + group_height / 2
    parts = [
        f'<g class="backend" data-backend="{label}">',
        f'<text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
        f'dominant-baseline="middle">{label}</text>',
    ]
    for j, (kind, given) in enumerate(zip(series, group.values, strict=True)):
        value = given if _drawn(given) else None
        y = top + j * (BAR_HEIGHT + GAP)
        length = BAR_AREA * max(value or 0.0, 0.0) / largest
        text = escape(f"{kind.name} {fmt(value)}" if len(series) > 1 else fmt(value))
        parts += [
            f'<rect class="bar {escape(kind.name)}" x="{LABEL_WIDTH}" y="{y}" '
            f'width="{length:.1f}" height="{BAR_HEIGHT}" fill="{escape(kind.colour)}">'
            f"<title>{label}: {text}</title></rect>",
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR_HEIGHT / 2:.1f}" '
            f'dominant-baseline="middle">{text}</text>',
        ]
    parts.append("</g>")
    return "\n".join(parts)


def _drawn(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)
