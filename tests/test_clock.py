"""One clock for the whole gateway: `create_app(clock=...)` is the time every run is stamped
with, whichever surface and whichever path (sync, background, cancel) made it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.config import LocalBackendConfig
from tests.harness import local_settings, running

FROZEN = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
RETAB_BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
}
EXTEND_BODY = {
    "file": {"text": "Invoice due", "name": "a.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "A bill"}]},
}
RETAB = {"authorization": "Bearer k"}
EXTEND = RETAB | {"x-extend-api-version": "2026-02-09"}


def test_every_run_is_stamped_by_the_apps_clock(tmp_path: Path) -> None:
    with running(local_settings(tmp_path), clock=lambda: FROZEN) as client:
        sync = client.post("/v1/classifications", json=RETAB_BODY, headers=RETAB).json()
        queued = client.post(
            "/v1/classifications", json=RETAB_BODY | {"background": True}, headers=RETAB
        ).json()
        extend = client.post("/classify", json=EXTEND_BODY, headers=EXTEND).json()
    assert sync["status"] == "completed"
    assert extend["status"] == "PROCESSED"
    stamps = [sync["created_at"], queued["created_at"], extend["createdAt"], extend["updatedAt"]]
    assert {stamp[:19] for stamp in stamps} == {"2031-05-06T07:08:09"}


def test_a_cancel_is_stamped_by_the_apps_clock(tmp_path: Path) -> None:
    """The ledger's own updates (a cancel of a queued or running run) read the same clock."""
    slow = LocalBackendConfig(min_run_seconds=60)  # still running when the cancel lands
    with running(local_settings(tmp_path, slow), clock=lambda: FROZEN) as client:
        started = client.post("/classify_runs", json=EXTEND_BODY, headers=EXTEND).json()
        cancelled = client.post(f"/classify_runs/{started['id']}/cancel", headers=EXTEND).json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["updatedAt"][:19] == "2031-05-06T07:08:09"
