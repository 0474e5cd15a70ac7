"""The background refresher leaves a vendor whose circuit is open alone: no call is made and
no failure logged until its cool-down ends."""

from __future__ import annotations

import msgspec
import respx
from structlog.testing import capture_logs

from gateway.supervisor import Supervisor
from tests.harness import URLS, MakeGateway, mocked, mocked_vendors_settings, wire_json

HEADERS = {"authorization": "Bearer gw-key"}
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
    "categories": [{"name": "invoice"}],
    "background": True,
}


def test_the_refresher_skips_a_backend_whose_circuit_is_open(make_gateway: MakeGateway) -> None:
    created = wire_json("extend_classify_runs_create_response.json")
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.post("/classify_runs").respond(200, json=created)
    route = router.get(f"/classify_runs/{created['id']}").respond(503, text="down")
    settings = mocked_vendors_settings(make_gateway.tmp_path, ["extend"], default="extend")
    backend = msgspec.structs.replace(
        settings.backends["extend"], refresh_interval=3600.0, retries=0, circuit_failures=2
    )
    settings = msgspec.structs.replace(settings, backends={"extend": backend})
    client = make_gateway.client(settings, mocked({"extend": router}))
    assert client.post("/v1/classifications", json=BODY, headers=HEADERS).status_code == 201
    background: Supervisor = client.app.state.background
    with capture_logs() as logs:
        for _ in range(4):
            client.blocking_portal.call(background.steps()["refresher-extend"])
    assert route.call_count == 2  # the second failure opened the circuit
    assert len([e for e in logs if e["event"] == "refresh.failed"]) == 2
