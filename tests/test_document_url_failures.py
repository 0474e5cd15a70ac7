"""A document URL the local backend refuses or cannot download, as each vendor's clients see it.

Background runs fail with the reason each vendor gives a file that could not be fetched
(Extend's FAILED_TO_PROCESS_FILE, contracts.md hazard 17; Retab's error code naming it); sync
requests answer the same problem as a 400 in the caller's dialect. Only loopback is dialled:
127.0.0.1:1, where nothing listens.
"""

from __future__ import annotations

from typing import Any

import pytest
from extend_ai.errors import BadRequestError
from retab.exceptions import APIError

from tests.harness import NO_RETRIES, Gateway, MakeGateway, categories, classifications, wait_until

# (allow_private_urls, Retab's code, what the message says)
REFUSED = (False, "DOCUMENT_URL_REFUSED", "refused")
UNREACHABLE = (True, "DOCUMENT_FETCH_FAILED", "Could not download")
CASES = [pytest.param(*REFUSED, id="refused"), pytest.param(*UNREACHABLE, id="unreachable")]
URL = "https://127.0.0.1:1/invoice.pdf"


def _gateway(make_gateway: MakeGateway, allow_private: bool) -> Gateway:
    return make_gateway(allow_private_urls=allow_private, fetch_timeout=5.0)


def _status(run: Any) -> str:
    # Extend's SDK reads a status as a string, Retab's as an enum
    return str(getattr(run.status, "value", run.status))


def _finished(poll: Any) -> Any:
    """The run `poll()` reads once it has left its unfinished states."""
    runs: list[Any] = []
    unfinished = {"PENDING", "PROCESSING", "CANCELLING", "pending", "queued", "in_progress"}

    def finished() -> bool:
        runs.append(poll())
        return _status(runs[-1]) not in unfinished

    wait_until(finished)
    return runs[-1]


@pytest.mark.parametrize(("allow_private", "code", "says"), CASES)
def test_background_extend_run_fails_to_process_the_file(
    make_gateway: MakeGateway, allow_private: bool, code: str, says: str
) -> None:
    """`classify_runs.create` with such a URL answers PROCESSING, then reads FAILED with
    `failureReason: FAILED_TO_PROCESS_FILE` (not INTERNAL_ERROR), in the run and the list."""
    sdk = _gateway(make_gateway, allow_private).extend()
    created = sdk.classify_runs.create(
        file={"url": URL}, config={"classifications": classifications()}, request_options=NO_RETRIES
    )
    assert created.status == "PROCESSING"
    run = _finished(lambda: sdk.classify_runs.retrieve(created.id))
    assert _status(run) == "FAILED"
    assert run.failure_reason == "FAILED_TO_PROCESS_FILE"
    assert run.failure_message is not None
    assert code in run.failure_message
    assert says in run.failure_message
    [summary] = sdk.classify_runs.list().data
    assert (summary.id, summary.failure_reason) == (created.id, "FAILED_TO_PROCESS_FILE")


@pytest.mark.parametrize(("allow_private", "code", "says"), CASES)
def test_background_retab_run_names_the_fetch_problem(
    make_gateway: MakeGateway, allow_private: bool, code: str, says: str
) -> None:
    """On the Retab surface the failed run's `error.code` names the problem, the same code a
    sync create gives in its 400's details."""
    gateway = _gateway(make_gateway, allow_private)
    sdk = gateway.retab()
    created = sdk.classifications.create(document=URL, categories=categories(), background=True)
    run = _finished(lambda: sdk.classifications.get(created.id))
    assert _status(run) == "failed"
    assert run.error is not None
    assert (run.error.code, run.error.details) == (code, {})
    assert says in run.error.message
    with pytest.raises(APIError) as sync:
        sdk.classifications.create(document=URL, categories=categories())
    assert sync.value.status_code == 400
    assert sync.value.details == {"code": code}


@pytest.mark.parametrize(("allow_private", "code", "says"), CASES)
def test_sync_extend_classify_is_a_bad_request_naming_the_problem(
    make_gateway: MakeGateway, allow_private: bool, code: str, says: str
) -> None:
    """`classify` waits for the document, so the same problem is a 400 INVALID_REQUEST."""
    sdk = _gateway(make_gateway, allow_private).extend()
    with pytest.raises(BadRequestError) as caught:
        sdk.classify(
            file={"url": URL},
            config={"classifications": classifications()},
            request_options=NO_RETRIES,
        )
    assert caught.value.body["code"] == "INVALID_REQUEST"
    assert says in caught.value.body["message"]
