"""One batch input read as the `/classify_runs` body it becomes, exactly as that endpoint
reads a client's body: the Extend create translation (`DialectRules`), the stored file
checked to be the caller's (`StoredFiles.owned`) and the run checked to be recordable. Used
when a batch is created, to refuse a bad one whole, and again when its run is created.
"""

from __future__ import annotations

from typing import NoReturn

import msgspec

from gateway.context import CallContext
from gateway.errors import CrosswalkError, InvalidRequest
from gateway.service.decoding import translation_error
from gateway.service.rules import EXTEND_RULES, DialectRules
from gateway.service.stored import StoredFiles
from gateway.store.records import check_recordable
from mappings import canonical, extend
from mappings.errors import TranslationError
from mappings.extend import batches


class BatchInputs:
    """Reads batch inputs for one surface's rules (Extend's) and file store."""

    def __init__(self, files: StoredFiles, rules: DialectRules = EXTEND_RULES) -> None:
        self._files = files
        self._rules = rules

    async def check(
        self, creates: tuple[extend.ClassifyRunCreateRequest, ...], call: CallContext
    ) -> tuple[canonical.ClassifyRequest, ...]:
        """Every input of a batch as canonical, or an InvalidRequest naming the first bad one
        (`inputs[7].file`): a bad batch is refused whole."""
        create = self._rules.creates[extend.RUNS_PATH]
        read = []
        for index, body in enumerate(creates):
            try:
                request, _ = create.to_canonical(body, self._files.own_link)
                read.append(await self._checked(request, call))
            except TranslationError as exc:
                raise translation_error(batches.input_error(index, exc), "extend") from None
            except CrosswalkError as exc:
                _refuse(index, exc)
        return tuple(read)

    async def read(self, body: bytes, call: CallContext) -> canonical.ClassifyRequest:
        """An input's stored body as canonical, as `POST /classify_runs` reads it."""
        request, _ = self._rules.read_create(body, extend.RUNS_PATH, self._files.own_link)
        return await self._checked(request, call)

    async def _checked(
        self, request: canonical.ClassifyRequest, call: CallContext
    ) -> canonical.ClassifyRequest:
        owned = await self._files.owned(request, call)
        check_recordable(owned)
        return owned


def _refuse(index: int, exc: CrosswalkError) -> NoReturn:
    """An input's refusal as the batch's: a 400 naming the input (an unknown file, a 404 for
    one create, is a bad input of the batch), or the input's own status for any other."""
    status = 400 if exc.status == 404 else exc.status
    field = canonical.FieldProblem(loc=("body", "inputs", index), message=exc.message)
    raise InvalidRequest(f"inputs[{index}]: {exc.message}", status=status, fields=(field,))


def encoded(body: extend.ClassifyRunCreateRequest) -> bytes:
    """An input's `/classify_runs` body as the ledger keeps it."""
    return msgspec.json.encode(body)
