"""What the OpenAPI tests share: a client that sends each request as one documented
operation and checks the answer against the document — its status documented for that
operation, its body of the documented media type and valid against the documented schema
(jsonschema, Draft 2020-12, which OpenAPI 3.1 uses) — and records what it saw."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator


class DocumentedClient:
    """Sends requests as documented operations and checks each answer against `document`."""

    def __init__(self, http: httpx.Client, document: dict[str, Any]) -> None:
        self.http = http
        self.document = document
        self.seen: set[tuple[str, str]] = set()  # (operationId, status)

    def call(
        self, method: str, template: str, *, path: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send `method` to `template` with its path parameters filled in, and check it."""
        response = self.http.request(method, template.format(**(path or {})), **kwargs)
        self.check(method, template, response)
        return response

    def check(self, method: str, template: str, response: httpx.Response) -> None:
        """The answer is one `template`'s `method` documents, with the documented body."""
        operation = self.document["paths"][template][method.lower()]
        status = str(response.status_code)
        # not `default` (a vendor's own answer relayed): each status crosswalk answers itself
        # must be listed by its operation
        responses = operation["responses"]
        assert status in responses, (
            f"{method} {template} answered {status}, documented {sorted(responses)}: "
            f"{response.text[:300]}"
        )
        assert response.headers.get("x-request-id")
        self.seen.add((operation["operationId"], status))
        content = responses[status].get("content")
        if content is None:
            assert response.content == b"", f"{method} {template} {status} has a body"
            return
        media = response.headers["content-type"].split(";")[0].strip()
        documented = content.get(media) or content.get("*/*")
        assert documented is not None, f"{method} {template} {status} answered {media}"
        if media == "application/json":
            self.validate(response.json(), documented["schema"])

    def validate(self, body: Any, schema: dict[str, Any]) -> None:
        """`body` is valid against `schema`, its `$ref`s read from the document."""
        root = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(body), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

    def operations(self, tag: str) -> set[str]:
        """The ids of the document's operations tagged `tag`."""
        return {
            op["operationId"]
            for item in self.document["paths"].values()
            for op in item.values()
            if tag in op["tags"]
        }

    def succeeded(self) -> set[str]:
        """The operations seen answering their documented success status."""
        return {op for op, status in self.seen if status.startswith("2")}
