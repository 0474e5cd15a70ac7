"""`[[webhooks]]`, `[batch]` and an Extend backend's `webhook_secret_env` as config reads them:
secrets from the environment, event names checked, each mistake naming its exact key."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import ConfigError, resolve

HOOK = {"url": "https://hooks.example.com/t0ken/extend?token=t0p", "secret_env": "HOOK_SECRET"}
ENV = {"HOOK_SECRET": "wss_abc"}


def _refused(raw: dict[str, Any], environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        resolve(raw, environ)
    return str(caught.value)


def test_an_endpoint_is_read_with_its_secret_and_every_event_by_default() -> None:
    """The name defaults to the host (never the path or query, which may hold a token)."""
    settings = resolve({"webhooks": [HOOK]}, ENV)
    [hook] = settings.webhooks
    assert hook.name == "hooks.example.com"
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
        ({"url": "http://[::1/hooks"}, ENV, "webhooks[0].url: expected an http(s) URL"),
        ({"url": "https://h.example.com:99999/"}, ENV, "webhooks[0].url: expected an http(s) URL"),
        ({"retries": 3}, ENV, "webhooks[0].retries: unknown key"),
    ],
)
def test_a_bad_endpoint_names_its_key(
    change: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    refused = _refused({"webhooks": [{**HOOK, **change}]}, environ)
    assert message in refused.replace("`", "")


def test_unnamed_endpoints_on_one_host_are_numbered_in_config_order() -> None:
    """host, host-2, host-3; endpoints given a name keep it."""
    urls = [
        "https://hooks.example.com/a",
        "https://other.example.com/",
        "https://hooks.example.com/b",
    ]
    tables = [{**HOOK, "url": url} for url in urls]
    tables += [{**HOOK, "name": "billing"}, {**HOOK, "url": "https://HOOKS.example.com/c"}]
    names = [hook.name for hook in resolve({"webhooks": tables}, ENV).webhooks]
    assert names == [
        "hooks.example.com",
        "other.example.com",
        "hooks.example.com-2",
        "billing",
        "hooks.example.com-3",
    ]


def test_two_endpoints_of_one_name_are_refused() -> None:
    named = {**HOOK, "name": "ops"}
    assert "webhooks[1].name" in _refused(
        {"webhooks": [named, {**named, "url": "https://x.io/"}]}, ENV
    )
    clash = {**HOOK, "name": "hooks.example.com-2"}
    assert "webhooks[2].name" in _refused({"webhooks": [HOOK, clash, HOOK]}, ENV)


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
