"""The one store of uploaded files, shared by both surfaces and every backend.

- `records`: `FileRecord` (owner, `mappings.files.StoredFile`, password, copies at vendors)
  and `FileListResult`; the ledger keeps them (`gateway/store/sqlite/files.py`).
- `store`: `FileStore`, bytes streamed in (`receiving()` → `Upload.write/finish/commit`) and
  out (`open` → `chunks`), or read whole (`read_bytes`); `get`/`list`/`delete` owner-scoped,
  `find` for a link's holder; `add_copy` for "upload once to a vendor, then reuse".
- `signing`: signed, expiring keyless download links (`LinkSigner.link`, `valid`, and
  `file_id_of` to recognise one of crosswalk's own links among document URLs).
- `sniff`: the MIME type from the first bytes (pure); `multipart`: a multipart/form-data
  body read as it streams in; `opening`: the store opened for an app's lifetime.
- `keeping`: where a store keeps its bytes (`FileBytes`, an upload's `Sink`):
  `bytes_on_disk` under `[files] dir`, or `bytes_in_database` in the ledger's `file_chunks`
  (`[files] storage = "database"`, so replicas need no shared path).
- `pending`: uploads announced before their bytes come (Retab's flow): a signed PUT URL,
  the bytes kept aside, and a complete that checks them and records the file; kept in the
  ledger too when the bytes are (`pending_in_database`).

Ids are `mappings.files`' (`file_xw1-…`), never a vendor's. This package's `__init__` imports
nothing, so `gateway.store` can use `records` without importing the store.
"""
