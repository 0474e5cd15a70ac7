"""The extractor process that the pool (pool.py) starts: reads one document at a time.

Run as `python -m gateway.backends.local.extract_process`. Its stdin carries `Job`s and its
stdout `Reply`s, each a msgpack frame behind a 4-byte length. It ends when stdin closes, and
a job that outlives its deadline by `ORPHAN_GRACE` ends it too, so it cannot outlive a server
that died without killing it.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from pathlib import Path
from typing import BinaryIO

import msgspec

from gateway.backends.local.extract import Extracted, UndecodableDocument, extract_text
from mappings import canonical

MODULE = "gateway.backends.local.extract_process"
HEADER = struct.Struct(">I")  # the length of the msgpack frame that follows
# past its job's deadline the pool has killed the process; if it has not, the pool is gone
ORPHAN_GRACE = 5.0


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """One document to read, with `extract_text`'s arguments and the pool's deadline; the
    bytes are `data`, or for a file in crosswalk's store the file at `path`, read here so that
    a large upload is never held by the server process nor sent down the pipe."""

    data: bytes
    path: str | None = None
    mime_type: str
    filename: str
    pages: tuple[canonical.PageRange, ...] = ()
    password: str | None = None
    max_pages: int | None = None
    deadline: float


class Ready(msgspec.Struct, frozen=True, tag="ready"):
    """Sent once at start: imports are done, jobs are read from now on."""


class Read(msgspec.Struct, frozen=True, tag="read"):
    """The document's text."""

    extracted: Extracted


class Refused(msgspec.Struct, frozen=True, tag="refused"):
    """The document cannot be read; `reason` is `UndecodableDocument`'s message."""

    reason: str


class Broke(msgspec.Struct, frozen=True, tag="broke"):
    """Reading raised something other than `UndecodableDocument`: a bug, not the document."""

    error: str


Reply = Ready | Read | Refused | Broke
job_decoder = msgspec.msgpack.Decoder(Job)
reply_decoder = msgspec.msgpack.Decoder(Reply)


def frame(message: Job | Reply) -> bytes:
    """`message` as one length-prefixed frame."""
    payload = msgspec.msgpack.encode(message)
    return HEADER.pack(len(payload)) + payload


def extract_job(job: Job) -> Extracted:
    """The job's document read here, in this process (`extract_text`)."""
    return extract_text(
        job.data if job.path is None else _read(job.path),
        mime_type=job.mime_type,
        filename=job.filename,
        pages=job.pages,
        password=job.password,
        max_pages=job.max_pages,
    )


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:  # deleted since the run began, most likely
        raise UndecodableDocument(f"the stored file could not be read ({exc.strerror})") from None


def read(job: Job) -> Reply:
    """Read the job's document, as the reply to send back."""
    try:
        return Read(extracted=extract_job(job))
    except UndecodableDocument as exc:
        return Refused(reason=str(exc))
    except Exception as exc:  # reported to the pool, which raises it as the bug it is
        return Broke(error=type(exc).__name__)


def _receive(jobs: BinaryIO) -> Job | None:
    header = jobs.read(HEADER.size)
    if len(header) < HEADER.size:
        return None  # stdin closed: the pool is done with this process
    (size,) = HEADER.unpack(header)
    return job_decoder.decode(jobs.read(size))


def _send(replies: BinaryIO, reply: Reply) -> None:
    replies.write(frame(reply))
    replies.flush()


def main() -> None:
    # Ctrl-C reaches the whole process group; the pool decides when this process stops
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    jobs = sys.stdin.buffer
    _send(replies, Ready())
    while (job := _receive(jobs)) is not None:
        # SIGALRM's default action ends the process: nothing to catch, no matter what it runs
        signal.setitimer(signal.ITIMER_REAL, job.deadline + ORPHAN_GRACE)
        reply = read(job)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _send(replies, reply)


if __name__ == "__main__":
    main()
