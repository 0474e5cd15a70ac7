"""Which surface a path belongs to (contracts.md §10 hazard 1)."""

from __future__ import annotations

import pytest

from gateway.dialects import dialect_of


@pytest.mark.parametrize(
    ("path", "dialect"),
    [
        ("/v1/classifications", "retab"),
        ("/v1/classifications/cls_1/cancel", "retab"),
        ("/v1/unknown", "retab"),
        ("/classify", "extend"),
        ("/classify_runs/clr_1", "extend"),
        ("/files/upload", "extend"),
        ("/classifyx", None),
        ("/schema", None),
        ("/", None),
    ],
)
def test_hazard_01_route_detection_by_path(path: str, dialect: str | None) -> None:
    """The dialect is decided by the path alone: both vendors send Bearer auth."""
    assert dialect_of(path) == dialect
