"""Batch inputs read as the `/classify_runs` bodies they become, exactly as that endpoint
reads a client's body: the Extend create translation (`DialectRules`), the stored file
checked to be the caller's (`StoredFiles.owned`) and the run checked to be recordable. Done
once, when a batch is created, to refuse a bad one whole; the ledger then keeps each input
as its canonical request, classifier resolved (`encoded`), and workers read nothing again.
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
        # each distinct stored file is looked up once, however many inputs name it
        owned: dict[canonical.Document, canonical.Document] = {}
        for index, body in enumerate(creates):
            try:
                request, _ = create.to_canonical(body, self._files.own_link)
                read.append(await self._owned(request, call, owned))
            except TranslationError as exc:
                raise translation_error(batches.input_error(index, exc), "extend") from None
            except CrosswalkError as exc:
                _refuse(index, exc)
        return tuple(read)

    async def _owned(
        self,
        request: canonical.ClassifyRequest,
        call: CallContext,
        owned: dict[canonical.Document, canonical.Document],
    ) -> canonical.ClassifyRequest:
        document = request.document
        if not isinstance(document, canonical.StoredFileDocument):
            return request
        if document not in owned:
            owned[document] = (await self._files.owned(request, call)).document
        return msgspec.structs.replace(request, document=owned[document])


def resolved(
    requests: tuple[canonical.ClassifyRequest, ...], first: canonical.ClassifyRequest
) -> tuple[canonical.ClassifyRequest, ...]:
    """Every input as `first` (the first input, its classifier resolved once for the batch)
    runs: the inputs share their classifier, so they share its config; each checked to be
    recordable with its own metadata. Raises PayloadTooLarge naming the input."""
    done = tuple(
        msgspec.structs.replace(r, config=first.config, classifier=first.classifier)
        for r in requests
    )
    for index, request in enumerate(done):
        try:
            check_recordable(request)
        except CrosswalkError as exc:
            _refuse(index, exc)
    return done


def _refuse(index: int, exc: CrosswalkError) -> NoReturn:
    """An input's refusal as the batch's: a 400 naming the input (an unknown file, a 404 for
    one create, is a bad input of the batch), or the input's own status for any other."""
    status = 400 if exc.status == 404 else exc.status
    field = canonical.FieldProblem(loc=("body", "inputs", index), message=exc.message)
    raise InvalidRequest(f"inputs[{index}]: {exc.message}", status=status, fields=(field,))


def encoded(request: canonical.ClassifyRequest) -> bytes:
    """An input as the ledger keeps it: its canonical request, its classifier inlined."""
    return msgspec.json.encode(request)
