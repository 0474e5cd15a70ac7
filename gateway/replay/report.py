"""The end of a replay: the comparison report of its first two backends over this replay's
documents only, printed as a table and, when asked, written as the HTML page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

import msgspec

from gateway.compare.figures import Report, build_report
from gateway.compare.from_ledger import comparisons_of
from gateway.compare.render_html import render_html
from gateway.compare.render_table import render_table
from gateway.config import Settings
from gateway.replay.inputs import Plan
from gateway.store.comparison_records import ComparisonRecord


def replay_report(records: Sequence[ComparisonRecord], planned: Plan, settings: Settings) -> Report:
    """The report of the first two backends; the labels file given now is the expected
    labels, over what an earlier replay recorded."""
    if planned.labels:
        records = [
            msgspec.structs.replace(r, expected=planned.labels.get(r.filename or ""))
            for r in records
        ]
    a, b = planned.backends[:2]
    pairs = comparisons_of(sorted(records, key=lambda r: r.filename or r.document), a, b)
    return build_report(pairs, a=a, b=b, usd_per_credit=settings.prices())


def write_report(
    records: Sequence[ComparisonRecord],
    planned: Plan,
    settings: Settings,
    page: Path | None,
    *,
    out: TextIO,
    err: TextIO,
    now: datetime,
) -> bool:
    """Print the report to `out` and write its page to `page` if given; False if the page
    could not be written (said on `err`: `plan` checked the place, but it may have changed
    since)."""
    report = replay_report(records, planned, settings)
    unfinished = sum(1 for record in records if not record.completed)
    print("", file=out)
    if unfinished:
        print(f"{unfinished} document(s) not finished yet: run again to wait for them", file=out)
    print(render_table(report), file=out, end="")
    if page is None:
        return True
    title = f"crosswalk replay: {report.a.name} vs {report.b.name}"
    try:
        page.write_text(render_html(report, title=title, generated_at=now), encoding="utf-8")
    except OSError as exc:
        print(f"crosswalk: replay: {page}: cannot write the report: {exc.strerror}", file=err)
        return False
    print(f"report written to {page}", file=out)
    return True
