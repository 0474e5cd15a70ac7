"""A vendor that answers a new run with an id already recorded gets the blame (a 502), and
the earlier run, perhaps another key's, is never served in its place."""

from __future__ import annotations

import respx

from tests.harness import URLS, MakeGateway, wire_json

BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
    "categories": [{"name": "invoice"}],
    "background": True,
}


def test_a_repeated_vendor_id_is_a_502(make_gateway: MakeGateway) -> None:
    """Two creates answered with one id: the second client hears of the vendor's error."""
    upstream = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    created = wire_json("extend_classify_runs_create_response.json")
    upstream.post("/classify_runs").respond(200, json=created)
    keys = ("key-a", "key-b")
    client = make_gateway.mocked_client({"extend": upstream}, default="extend", api_keys=keys)
    first = client.post("/v1/classifications", json=BODY, headers={"api-key": "key-a"})
    second = client.post("/v1/classifications", json=BODY, headers={"api-key": "key-b"})
    listed = client.get("/v1/classifications", headers={"api-key": "key-b"}).json()
    assert first.status_code == 201
    assert second.status_code == 502
    assert second.json()["detail"]["code"] == "UPSTREAM_ERROR"
    assert listed["data"] == []
