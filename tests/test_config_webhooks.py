"""`[[webhooks]]`, `[batch]` and an Extend backend's `webhook_secret_env` as config reads them:
secrets from the environment, event names checked, each mistake naming its exact key."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import ConfigError, resolve

HOOK = {"url": "https://hooks.example.com/extend?token=t0p", "secret_env": "HOOK_SECRET"}
ENV = {"HOOK_SECRET": "wss_abc"}


def _refused(raw: dict[str, Any], environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        resolve(raw, environ)
    return str(caught.value)


def test_an_endpoint_is_read_with_its_secret_and_every_event_by_default() -> None:
    """The name defaults to host and path (never the query, which may hold a token)."""
    settings = resolve({"webhooks": [HOOK]}, ENV)
    [hook] = settings.webhooks
    assert hook.name == "hooks.example.com/extend"
    assert hook.secret.reveal() == "wss_abc"
    assert "classify_run.processed" in hook.events
    assert "batch_processor_run.failed" in hook.events
    assert (hook.allow_private, hook.timeout) == (False, 30.0)
    assert "wss_abc" not in repr(settings)


def test_an_endpoint_subscribes_to_the_events_it_names() -> None:
    table = {**HOOK, "events": ["classify_run.failed"], "name": "ops", "allow_private": True}
    [hook] = resolve({"webhooks": [table]}, ENV).webhooks
    assert (hook.name, hook.events, hook.allow_private) == ("ops", ("classify_run.failed",), True)


@pytest.mark.parametrize(
    ("change", "environ", "message"),
    [
        ({}, {}, "webhooks[0].secret_env: the environment variable HOOK_SECRET is unset"),
        ({"events": ["run.done"]}, ENV, "webhooks[0].events: unknown event 'run.done'"),
        ({"events": []}, ENV, "webhooks[0].events: empty"),
        ({"url": "ftp://x/y"}, ENV, "webhooks[0].url: expected an http(s) URL"),
        ({"url": "https:///nohost"}, ENV, "webhooks[0].url: expected an http(s) URL"),
        ({"retries": 3}, ENV, "webhooks[0].retries: unknown key"),
    ],
)
def test_a_bad_endpoint_names_its_key(
    change: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    refused = _refused({"webhooks": [{**HOOK, **change}]}, environ)
    assert message in refused.replace("`", "")


def test_two_endpoints_of_one_name_are_refused() -> None:
    other = {**HOOK, "url": "https://hooks.example.com/extend?token=other"}
    assert "webhooks[1].name" in _refused({"webhooks": [HOOK, other]}, ENV)


def test_batch_concurrency_is_read_and_must_be_positive() -> None:
    assert resolve({"batch": {"concurrency": 9}}, {}).batch.concurrency == 9
    assert resolve({}, {}).batch.concurrency == 4
    assert "batch.concurrency" in _refused({"batch": {"concurrency": 0}}, {})


def test_an_extend_backend_reads_the_secret_of_the_webhooks_it_relays() -> None:
    table = {"kind": "extend", "base_url": "https://api.extend.ai", "webhook_secret_env": "EXT_WH"}
    # Retab clients go to the local backend: none of their keys is sent to Extend
    backends = {"extend": table, "local": {"kind": "local"}}
    raw = {"backends": backends, "routing": {"default": "extend", "retab": "local"}}
    settings = resolve(raw, {"EXT_WH": "wss_vendor"})
    assert settings.vendor_webhook_secrets["extend"].reveal() == "wss_vendor"
    missing = _refused(raw, {})
    assert "backends.extend.webhook_secret_env: the environment variable EXT_WH" in missing
