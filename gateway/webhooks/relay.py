"""Events Extend itself sends to crosswalk (`POST /crosswalk/webhooks/extend`), taken in.

An operator may point Extend's own webhook at crosswalk. A delivery is genuine only when it
verifies with the webhook secret of a configured Extend backend (contracts.md §8), which
also says whose run it is about. A `classify_run.*` event for a run the ledger knows updates
that run, once: only an unfinished run moves, so the same event twice, or one after the
refresher saw the run finish, changes nothing. The ledger then raises crosswalk's own event
for the subscribers, signed with their secrets. Anything else (a run crosswalk did not
create, a batch event) is forwarded verbatim under Extend's own event id, which the outbox
keeps once.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from gateway.backends.stored import with_stored_file
from gateway.clock import Clock, system_clock
from gateway.config import Secret
from gateway.errors import InvalidRequest, Unauthorized
from gateway.store.base import Ledger, Outbox
from gateway.store.records import NewEvent
from gateway.webhooks.signing import verified
from mappings import canonical, extend
from mappings.errors import TranslationError
from mappings.nesting import JsonDecoder

_UNFINISHED = frozenset(status for status in canonical.Status if not status.terminal)


class ExtendEvent(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """An Extend webhook body; its payload kept as the exact bytes received."""

    event_id: str
    event_type: str
    payload: msgspec.Raw


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """The id of whatever an event's payload is about (a run, a batch), when it has one."""

    id: str = ""


_event = JsonDecoder(ExtendEvent)
_subject = JsonDecoder(Subject)


class Relay:
    """Verifies and takes in Extend's deliveries; `secrets` are the webhook secrets of the
    Extend backends, by backend name."""

    def __init__(
        self,
        runs: Ledger,
        outbox: Outbox,
        secrets: Mapping[str, Secret],
        *,
        clock: Clock = system_clock,
    ) -> None:
        self._runs = runs
        self._outbox = outbox
        self._secrets = dict(secrets)
        self._clock = clock

    async def take(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Record what a genuine delivery says; Unauthorized for anything not genuine (then
        nothing is recorded), InvalidRequest for a genuine body that is not an event."""
        backend = self._signer(body, headers)
        try:
            event = _event.decode(body)
        except msgspec.DecodeError:
            raise InvalidRequest("The body is not an Extend webhook event.", status=400) from None
        if event.event_type.startswith("classify_run.") and await self._update(backend, event):
            return
        await self._outbox.add_event(
            NewEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                kind="raw",
                owner="",
                subject=_about(event.payload),
                data=bytes(event.payload),
            )
        )

    def _signer(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The Extend backend whose webhook secret signed `body`."""
        if not self._secrets:
            raise Unauthorized("No Extend backend has a webhook secret configured.")
        now = int(self._clock().timestamp())
        reasons = set()
        for backend, secret in sorted(self._secrets.items()):
            reason = verified(secret.reveal(), headers, body, now)
            if reason is None:
                return backend
            reasons.add(reason)
        raise Unauthorized(f"Webhook refused: {'; '.join(sorted(reasons))}.")

    async def _update(self, backend: str, event: ExtendEvent) -> bool:
        """Update the run `event` is about; False when the ledger does not know it."""
        try:
            wire = extend.run_decoder.decode(bytes(event.payload))
        except msgspec.DecodeError:
            return False  # not a run this crosswalk can read: relayed as it came
        record = await self._runs.find(backend, wire.id)
        if record is None:
            return False
        try:
            run, _ = extend.response_to_canonical(wire, received_at=self._clock())
        except TranslationError as exc:
            raise InvalidRequest(f"The event's run cannot be read: {exc}", status=400) from None
        if record.request is not None:
            run = with_stored_file(extend.in_request_terms(run, record.request), record.request)
        await self._runs.update_run(backend, wire.id, run, only_if_status_in=_UNFINISHED)
        return True


def _about(payload: msgspec.Raw) -> str:
    try:
        return _subject.decode(bytes(payload)).id
    except msgspec.DecodeError:
        return ""
