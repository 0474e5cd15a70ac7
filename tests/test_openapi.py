"""`GET /schema` documents both surfaces (design.md §8)."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from gateway.app import create_app
from gateway.config import LocalBackendConfig, Settings


def test_schema_lists_both_surfaces(tmp_path: Path) -> None:
    """The OpenAPI document names every Retab and Extend path the gateway serves."""
    settings = Settings(
        backends={"local": LocalBackendConfig()},
        default_backend="local",
        store_path=str(tmp_path / "ledger.db"),
    )
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/schema")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/v1/classifications",
        "/v1/classifications/{classification_id}",
        "/v1/classifications/{classification_id}/cancel",
        "/classify",
        "/classify_runs",
        "/classify_runs/{run_id}",
        "/classify_runs/{run_id}/cancel",
    }
    assert "post" in document["paths"]["/v1/classifications"]
    assert "delete" in document["paths"]["/classify_runs/{run_id}"]
