"""Webhook endpoints pass the document URLs' address policy before anything is sent."""

from __future__ import annotations

import httpx
import pytest

from gateway.backends.local.fetch import Resolver
from gateway.webhooks.guard import Unreachable, post_pinned
from tests.webhook_receiver import always, receiving

PUBLIC = "93.184.215.14"  # only ever answered beside a refused address: never connected to
BODY = b'{"eventId":"evt_1","eventType":"classify_run.processed","payload":{}}'


def _resolving_to(*answers: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(answers)

    return resolve


async def _post(
    url: str, *, allow_private: bool, resolve: Resolver | None = None
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        response = await post_pinned(
            client,
            url,
            content=BODY,
            headers={"content-type": "application/json"},
            allow_private=allow_private,
            resolve=resolve or _resolving_to("127.0.0.1"),
        )
        await response.aclose()
        return response


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        pytest.param("http://hooks.example.com/in", ("10.0.0.7",), id="private"),
        pytest.param("http://hooks.example.com/in", (PUBLIC, "169.254.169.254"), id="one-of"),
        pytest.param("http://[::ffff:192.168.0.1]/in", (), id="mapped-literal"),
        pytest.param("http://2130706433/in", (), id="decimal-loopback"),
        pytest.param("http://localhost/in", (PUBLIC,), id="localhost"),
        pytest.param("ftp://hooks.example.com/in", (PUBLIC,), id="scheme"),
    ],
)
async def test_non_public_endpoint_is_refused_without_connecting(
    url: str, answers: tuple[str, ...]
) -> None:
    """An endpoint resolving to any non-public address is refused before a connection."""
    with pytest.raises(Unreachable) as refused:
        await _post(url, allow_private=False, resolve=_resolving_to(*answers))
    assert refused.value.refused
    assert str(refused.value).startswith("endpoint refused: ")


async def test_unresolvable_endpoint_is_unreachable_not_refused() -> None:
    """A host that does not resolve is a failed attempt, worth retrying."""

    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(Unreachable) as failed:
        await _post("http://hooks.example.com/in", allow_private=False, resolve=nowhere)
    assert not failed.value.refused


async def test_loopback_endpoint_is_refused_by_default_and_reached_when_allowed() -> None:
    """A loopback receiver gets nothing unless the endpoint allows private addresses; then
    it gets the body at the checked address with the URL's host in `Host`."""
    with receiving() as receiver:
        with pytest.raises(Unreachable):
            await _post(receiver.url, allow_private=False)
        assert receiver.received == []
        url = receiver.url.replace("127.0.0.1", "hooks.internal")
        response = await _post(url, allow_private=True)
        assert response.status_code == 200
        (got,) = receiver.received
        assert got.body == BODY
        assert got.headers["host"] == f"hooks.internal:{url.split(':')[2].split('/')[0]}"


async def test_redirect_is_not_followed() -> None:
    """A 3xx answer comes back as is: the delivery is not sent on to where it points."""
    with receiving(answer=always(307)) as receiver:
        response = await _post(receiver.url, allow_private=True)
    assert response.status_code == 307
    assert len(receiver.received) == 1
