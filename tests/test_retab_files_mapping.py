"""Retab's Files API shapes and rules (mappings/retab/files.py): the list query read by the
classifications list's own rules, Retab's `File` and `FileLink` as its SDK reads them, and
the upload flow's bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from retab.types.files import CreateUploadResponse
from retab.types.files import File as SdkFile
from retab.types.files import FileLink as SdkFileLink

from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.files import StoredFile
from mappings.retab import files as retab_files
from mappings.uploads import Announcement
from tests.harness import wire_json

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REFERENCE = "https://gw.test/crosswalk/files/file_xw1-AAAAAAAAAAAAAAAAAAAAAA"
LINK = f"{REFERENCE}/content?expires=1&signature=s"


def stored(size: int = 5, **changes: object) -> StoredFile:
    base = StoredFile(
        id="file_xw1-AAAAAAAAAAAAAAAAAAAAAA",
        name="memo.txt",
        mime_type="text/plain",
        size=size,
        sha256="0" * 64,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return msgspec.structs.replace(base, **changes)


def test_the_list_query_is_read_as_classifications_are() -> None:
    """Defaults, `before` paging back, `filename` exact and whole days, inclusive."""
    query, notes = retab_files.file_list_query_to_canonical({})
    assert (query.limit, query.order, query.cursor, query.direction) == (10, "desc", None, "after")
    assert not notes
    query, _ = retab_files.file_list_query_to_canonical(
        {
            "before": "file_xw1-x",
            "limit": "3",
            "order": "asc",
            "filename": "memo.txt",
            "from_date": "2026-03-01",
            "to_date": "2026-03-01",
            "include_embeddings": "false",
            "sort_by": "created_at",
            "status": "completed",  # not a files parameter: ignored, as FastAPI does
        }
    )
    assert (query.cursor, query.direction, query.limit, query.order) == (
        "file_xw1-x",
        "before",
        3,
        "asc",
    )
    assert (query.name, query.name_contains) == ("memo.txt", None)
    assert query.created_from == CREATED.replace(hour=0)
    assert query.created_to == CREATED.replace(hour=23, minute=59, second=59, microsecond=999999)


@pytest.mark.parametrize(
    ("params", "error", "field", "status"),
    [
        ({"order": "up"}, InvalidInput, "order", None),
        ({"limit": "101"}, InvalidInput, "limit", None),
        ({"before": "a", "after": "b"}, InvalidInput, "before", 400),
        ({"to_date": "yesterday"}, InvalidInput, "to_date", 400),
        ({"mime_type": "application/pdf"}, UnsupportedFeature, "mime_type", None),
        ({"sort_by": "updated_at"}, UnsupportedFeature, "sort_by", None),
        ({"include_embeddings": "yes"}, InvalidInput, "include_embeddings", None),
    ],
)
def test_bad_list_parameters_name_themselves(
    params: dict[str, str], error: type[Exception], field: str, status: int | None
) -> None:
    with pytest.raises(error) as raised:
        retab_files.file_list_query_to_canonical(params)
    assert isinstance(raised.value, InvalidInput | UnsupportedFeature)
    assert (raised.value.field, raised.value.location, raised.value.status) == (
        field,
        "query",
        status,
    )


def test_embeddings_asked_for_are_noted_as_dropped() -> None:
    _, notes = retab_files.file_list_query_to_canonical({"include_embeddings": "TRUE"})
    assert notes.dropped == ("include_embeddings",)


def test_a_file_is_retabs_file_object() -> None:
    """Every key of the SDK's `File`, which validates it; `page_count` once counted."""
    body = msgspec.to_builtins(retab_files.file_from_canonical(stored(page_count=2)))
    assert set(body) == set(SdkFile.model_fields)
    sdk = SdkFile.model_validate(body)
    assert (sdk.object, sdk.filename, sdk.mime_type, sdk.page_count) == (
        "file",
        "memo.txt",
        "text/plain",
        2,
    )
    assert sdk.created_at == CREATED
    listed = retab_files.file_list_from_canonical([stored()], before=None, after="x")
    assert msgspec.to_builtins(listed)["list_metadata"] == {"before": None, "after": "x"}


def test_a_file_link_carries_the_signed_link_and_the_durable_reference() -> None:
    """The keys of Retab's example, which its SDK validates; `mime_data` is the reference."""
    link = retab_files.file_link_from_canonical(
        stored(), link=LINK, expires_in=900, reference=REFERENCE
    )
    body = msgspec.to_builtins(link)
    assert set(body) == set(wire_json("retab_files_download_link_response.json"))
    sdk = SdkFileLink.model_validate(body)
    assert (sdk.download_url, sdk.expires_in, sdk.filename) == (LINK, "900s", "memo.txt")
    assert sdk.mime_data is not None
    assert (sdk.mime_data.filename, sdk.mime_data.url) == ("memo.txt", REFERENCE)


def test_an_announcement_is_checked_and_its_digest_lowercased() -> None:
    body = retab_files.UploadRequest(
        filename="a.pdf", size_bytes=3, content_type="", sha256="AB" * 32
    )
    assert retab_files.upload_to_canonical(body) == Announcement(
        name="a.pdf", size=3, sha256="ab" * 32
    )
    complete = retab_files.CompleteUploadRequest(sha256="Cd" * 32)
    assert retab_files.complete_to_canonical(complete) == "cd" * 32
    assert retab_files.complete_to_canonical(retab_files.CompleteUploadRequest()) is None
    for bad, field in [
        (retab_files.UploadRequest(filename="", size_bytes=1), "filename"),
        (retab_files.UploadRequest(filename="a", size_bytes=-1), "size_bytes"),
        (retab_files.UploadRequest(filename="a", size_bytes=1, sha256="z" * 64), "sha256"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            retab_files.upload_to_canonical(bad)
        assert raised.value.field == field


def test_the_upload_answer_is_camel_case_as_the_sdk_reads_it() -> None:
    announced = Announcement(name="a.pdf", size=3, content_type="application/pdf")
    answer = retab_files.upload_from_canonical(
        "file_xw1-AAAAAAAAAAAAAAAAAAAAAA",
        announced,
        upload_url="https://gw.test/crosswalk/uploads/x?expires=1&signature=s",
        expires_at=CREATED,
        reference=REFERENCE,
    )
    body = msgspec.to_builtins(answer)
    assert set(body) == {field.alias for field in CreateUploadResponse.model_fields.values()}
    sdk = CreateUploadResponse.model_validate(body)
    assert (sdk.upload_method, sdk.upload_headers) == ("PUT", {"Content-Type": "application/pdf"})
    assert sdk.mime_data is not None
    assert (sdk.mime_data.filename, sdk.mime_data.url) == ("a.pdf", REFERENCE)
    assert sdk.expires_at == CREATED
