"""At the default level a served gateway writes one line per request, `request.completed`,
short and JSON, with no key in it: not the upstream call's own line, nor httpx's. Its lines
are written off the event loop, and none is lost when SIGTERM stops it right after the last
answer."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.cross_vendor_app import serve
from tests.harness import wire, wire_json
from tests.loopback import DripServer
from tests.serve_process import ServeProcess

MAX_LINE_BYTES = 300  # issue 14: a request's line at the default level
GATEWAY_KEY = "gw-lines-5e1c"
UPSTREAM_KEY = "sk-lines-upstream-8d4b"
SHUTDOWN_TIMEOUT = 20
REQUESTS = 40
BURST = 200  # answered at once by 8 clients, then SIGTERM


def _config(tmp_path: Path, vendor: str) -> str:
    """An Extend backend at `vendor` behind both surfaces, keys from the environment."""
    path = tmp_path / "crosswalk.toml"
    path.write_text(
        '[auth]\napi_keys_env = "LOG_LINES_GATEWAY_KEYS"\n\n'
        f'[backends.extend]\nkind = "extend"\nbase_url = "{vendor}"\n'
        'api_key_env = "LOG_LINES_EXTEND_KEY"\n\n'
        '[routing]\ndefault = "extend"\n\n'
        f'[store]\nurl = "sqlite:///{tmp_path}/crosswalk.db"\n\n'
        f"[server]\nshutdown_timeout = {SHUTDOWN_TIMEOUT}\n",
        encoding="utf-8",
    )
    return str(path)


RUN = "clr_Hq3vN7xB1kM5pT9wZ2cF6j"  # the run of extend_classify_response.json


def _vendor() -> DripServer:
    """Extend's create (`POST /classify`) and its get of the run, on a loopback port."""
    paths = ("/classify", f"/classify_runs/{RUN}")
    return DripServer(dict.fromkeys(paths, wire("extend_classify_response.json")))


def _translated_create(client: httpx.Client) -> str:
    """A Retab sync create, served by Extend's `POST /classify`; the run's public id."""
    body = wire_json("retab_create_request_background.json")
    body |= {"n_consensus": 1, "background": False}
    answer = client.post("/v1/classifications", json=body)
    assert answer.status_code == 201, answer.text
    public_id: str = answer.json()["id"]
    return public_id


def _translated_get(client: httpx.Client, public_id: str) -> None:
    """A Retab get of the run, read from Extend (one upstream call)."""
    answer = client.get(f"/v1/classifications/{public_id}")
    assert answer.status_code == 200, answer.text


def _requests_logged(served: ServeProcess) -> list[str]:
    """The lines after the start-up line, but for the shutdown's own (`crosswalk.stopping`
    and `crosswalk.stopped`, logged by a single process)."""
    lines = served.lines
    start = next(i for i, line in enumerate(lines) if "crosswalk.started" in line)
    return [line for line in lines[start + 1 :] if '"event":"crosswalk.stop' not in line]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LINES_GATEWAY_KEYS", GATEWAY_KEY)
    monkeypatch.setenv("LOG_LINES_EXTEND_KEY", UPSTREAM_KEY)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("workers", [1, 2])
def test_each_request_is_one_short_json_line_without_keys(tmp_path: Path, workers: int) -> None:
    with _vendor() as vendor:
        args = ("--config", _config(tmp_path, vendor.url), "--port", "0")
        with ServeProcess(tmp_path, *args, "--workers", str(workers)) as served:
            url = served.started_event()["listening"]
            headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                public_id = _translated_create(client)
                for _ in range(REQUESTS - 1):
                    _translated_get(client, public_id)
            assert served.terminate(SHUTDOWN_TIMEOUT) == 0
            assert served.finish() == 0
        assert vendor.received == REQUESTS
    lines = _requests_logged(served)
    assert len(lines) == REQUESTS, lines
    for line in lines:
        entry = msgspec.json.decode(line)
        assert len(line.encode()) <= MAX_LINE_BYTES, line
        assert entry["noted"] > 0  # a translated answer: the fields its translation noted
        assert (entry["event"], entry["level"]) == ("request.completed", "info")
        assert (entry["backend"], entry["upstream_status"]) == ("extend", 200)
        assert GATEWAY_KEY not in line
        assert UPSTREAM_KEY not in line


@pytest.mark.usefixtures("keys")
def test_no_line_is_lost_when_sigterm_follows_the_last_answer(tmp_path: Path) -> None:
    with _vendor() as vendor:
        args = ("--config", _config(tmp_path, vendor.url), "--port", "0")
        with ServeProcess(tmp_path, *args) as served:
            url = served.started_event()["listening"]
            headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
            with (
                httpx.Client(base_url=url, headers=headers, timeout=30) as client,
                ThreadPoolExecutor(8) as pool,
            ):
                public_id = _translated_create(client)
                list(pool.map(lambda _: _translated_get(client, public_id), range(BURST - 1)))
            # at once: lines still queued for the writer must be written before the exit
            assert served.terminate(SHUTDOWN_TIMEOUT) == 0
            assert served.finish() == 0
    completed = [line for line in served.lines if '"request.completed"' in line]
    assert len(completed) == BURST
    assert any("crosswalk.stopped" in line for line in served.lines)


def test_httpx_logs_no_line_of_its_own_for_an_upstream_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as an application logging everything at INFO would
    with serve("retab", tmp_path) as leg:
        answer = httpx.Response(200, content=wire("extend_classify_response.json"))
        leg.upstream.post(leg.create_path).mock(return_value=answer)
        assert leg.create().status_code == 201
        assert leg.upstream.calls  # the call was made, and logged by nobody but crosswalk
    noisy = [r for r in caplog.records if r.name.split(".")[0] in ("httpx", "httpcore")]
    assert noisy == []
