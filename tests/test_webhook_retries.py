"""Failed deliveries are retried with backoff until the endpoint takes them, once each; after
24 hours they are dead, shown by `crosswalk webhooks list` and revived by `... retry`. Time
moves on through the app's clock, never by sleeping."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway import cli
from gateway.store import SqliteLedger
from gateway.store.records import NewEvent
from tests.harness import local_settings, running, wait_until
from tests.webhook_receiver import ACCEPT, always, failing_first
from tests.webhook_support import (
    EXTEND,
    EXTEND_BODY,
    RETAB,
    RETAB_BODY,
    SECRET,
    MovableClock,
    endpoint,
    hooked,
    verify,
)


def _config(tmp_path: Path) -> str:
    """A config naming the test gateway's ledger, for the CLI."""
    path = tmp_path / "crosswalk.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "crosswalk.db"}"\n')
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_receiver_failing_twice_gets_each_event_exactly_once(tmp_path: Path) -> None:
    """Each event is answered 503 twice, then taken: three attempts, the same signed body
    each time with a fresh timestamp, and one 2xx per event id."""
    clock = MovableClock()
    with hooked(tmp_path, answer=failing_first(2), clock=clock) as (receiver, client):
        client.post("/classify", json=EXTEND_BODY, headers=EXTEND)
        client.post("/v1/classifications", json=RETAB_BODY, headers=RETAB)
        # each poll moves time past any first backoffs (5 s, 10 s), never by sleeping
        wait_until(clock.moving(lambda: len(receiver.accepted()) == 2, seconds=30))
    accepted = receiver.accepted()
    assert sorted(accepted.values()) == [1, 1]
    for event_id in accepted:
        attempts = [r for r in receiver.received if r.event_id == event_id]
        assert [r.status for r in attempts] == [503, 503, 200]
        assert len({r.body for r in attempts}) == 1
        stamps = [int(r.headers["x-extend-request-timestamp"]) for r in attempts]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == 3
        for attempt in attempts:  # the clock was moved on: the age check would refuse them
            verify(attempt, max_age_seconds=0)


def test_a_delivery_refused_for_24_hours_is_dead_until_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint answering 500 for a day makes the delivery dead; `webhooks list` shows it
    (no URL, no secret), `webhooks retry` makes it due now and it is delivered once."""
    clock = MovableClock()
    config = _config(tmp_path)
    with hooked(tmp_path, answer=always(500), clock=clock) as (receiver, client):
        client.post("/classify", json=EXTEND_BODY, headers=EXTEND)

        def dead() -> bool:
            return "dead" in _cli(capsys, "webhooks", "list", "--config", config)[1]

        wait_until(clock.moving(dead, hours=1))  # past the 1-hour cap: due again each time
        attempts = len(receiver.received)
        code, listing, _ = _cli(capsys, "webhooks", "list", "--config", config, "--state", "dead")
        (event_id,) = {r.event_id for r in receiver.received}
        receiver.answer = ACCEPT
        assert _cli(capsys, "webhooks", "retry", event_id, "--config", config)[:2] == (
            0,
            f"{event_id}: 1 undelivered deliveries due now\n",
        )
        wait_until(lambda: receiver.accepted()[event_id] == 1)
        delivered = _cli(capsys, "webhooks", "list", "--config", config, "--state", "delivered")
    assert code == 0
    header, row = listing.splitlines()
    assert header.split()[:4] == ["EVENT", "TYPE", "ENDPOINT", "STATE"]
    assert row.split()[:5] == [event_id, "classify_run.processed", "hooks", "dead", str(attempts)]
    assert row.endswith("500 the endpoint answered HTTP 500")
    assert attempts >= 2
    assert receiver.url not in listing
    assert SECRET not in listing
    assert delivered[1].splitlines()[1].split()[3] == "delivered"
    assert receiver.accepted()[event_id] == 1


def test_retrying_an_unknown_event_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event id the outbox does not have is one clear line and a non-zero exit."""
    with running(local_settings(tmp_path)):
        pass  # the ledger exists, with its outbox
    code, out, err = _cli(capsys, "webhooks", "retry", "evt_nope", "--config", _config(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == "crosswalk: no webhook event evt_nope in the outbox"


def test_a_private_endpoint_address_is_a_failed_attempt_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint resolving inside the network is refused before any connection, unless it
    allows private addresses: the attempt fails with a clear error, logged, and is retried."""
    hook = endpoint("http://10.1.2.3:8080/hooks", allow_private=False)
    config = _config(tmp_path)
    # logs captured once the app has set logging up
    with running(local_settings(tmp_path, webhooks=(hook,))) as client, capture_logs() as logs:
        assert client.post("/classify", json=EXTEND_BODY, headers=EXTEND).status_code == 200

        def refused() -> bool:
            return "refused" in _cli(capsys, "webhooks", "list", "--config", config)[1]

        wait_until(refused)
        listing = _cli(capsys, "webhooks", "list", "--config", config)[1]
    row = listing.splitlines()[1]
    assert row.split()[3:5] == ["pending", "1"]
    assert row.endswith("endpoint refused: 10.1.2.3 resolves to a non-public address")
    warnings = [e for e in logs if e["event"] == "webhooks.refused"]
    assert warnings[0]["endpoint"] == "hooks"
    assert "10.1.2.3" in warnings[0]["reason"]
    assert json.dumps(warnings, default=str).count(SECRET) == 0


def test_an_event_that_cannot_be_rendered_is_a_failed_attempt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged run event fails its attempt visibly (and will die), sending nothing."""
    config = _config(tmp_path)
    with hooked(tmp_path) as (receiver, _):
        damaged = NewEvent(
            event_type="classify_run.processed", kind="run", owner="", subject="x", data=b"{}"
        )
        asyncio.run(_add(tmp_path, damaged))

        def failed() -> bool:
            return "internal error" in _cli(capsys, "webhooks", "list", "--config", config)[1]

        wait_until(failed)
    assert receiver.received == []


async def _add(tmp_path: Path, event: NewEvent) -> None:
    async with await SqliteLedger.open(str(tmp_path / "crosswalk.db")) as ledger:
        assert await ledger.add_event(event) is not None
