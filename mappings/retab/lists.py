"""Retab list pages to and from canonical run pages (contracts.md §2.3, §10 hazard 23).

Pure: no I/O. Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mappings import canonical
from mappings.notes import Notes
from mappings.retab.responses import response_from_canonical, response_to_canonical
from mappings.retab.wire import ClassificationList, ListMetadata


def list_from_canonical(
    items: Sequence[tuple[str, canonical.ClassificationRun]],
    *,
    before: str | None,
    after: str | None,
) -> tuple[ClassificationList, Notes]:
    """A Retab list page of full Classifications (hazard 23) from (public id, run) pairs."""
    notes = Notes()
    data = []
    for public_id, run in items:
        body, item_notes = response_from_canonical(run, public_id=public_id)
        data.append(body)
        notes += _prefixed(item_notes)
    meta = ListMetadata(before=before, after=after)
    return ClassificationList(data=tuple(data), list_metadata=meta), notes


def list_to_canonical(
    page: ClassificationList, *, received_at: datetime
) -> tuple[canonical.RunPage, Notes]:
    """A Retab list page as canonical runs and the page's cursors."""
    notes = Notes()
    runs = []
    for item in page.data:
        run, item_notes = response_to_canonical(item, received_at=received_at)
        runs.append(run)
        notes += _prefixed(item_notes)
    meta = page.list_metadata
    return canonical.RunPage(runs=tuple(runs), before=meta.before, after=meta.after), notes


def _prefixed(notes: Notes, prefix: str = "data[]") -> Notes:
    # one path per field, not per item, so a long page keeps a short header
    return Notes(
        synthesized=tuple(f"{prefix}.{path}" for path in notes.synthesized),
        dropped=tuple(f"{prefix}.{path}" for path in notes.dropped),
    )
