"""`GET /schema` documents both surfaces (design.md §8)."""

from __future__ import annotations

from pathlib import Path

from tests.harness import MakeGateway, local_settings


def test_schema_lists_both_surfaces(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """The OpenAPI document names every Retab and Extend path the gateway serves."""
    response = make_gateway.client(local_settings(tmp_path)).get("/schema")
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
