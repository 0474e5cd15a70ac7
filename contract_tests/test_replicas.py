"""Two `crosswalk serve` replicas on one store, SQLite or PostgreSQL, as behind a load
balancer (design.md §9).

Each replica is a real process with its own port, sharing one ledger and one file-link key,
and one `[files] dir` or none (files' bytes in the store). A run or a file made through one
is read, listed, cancelled and deleted through the other, on both surfaces, and an
`Idempotency-Key` sent to both makes one run.
500 background runs are spread over both and one replica is killed with SIGKILL while they
are processed: the survivor takes the dead one's leased runs once their leases run out, and
every run ends exactly once (retaken only if the dead replica held it, kept once) while a
webhook receiver gets each run's event once. A delivery can only be sent twice when its
replica dies with it in flight (at least once, by nature): shown by a subscriber that never
answers the first one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from extend_ai.errors import NotFoundError as ExtendNotFound
from retab.exceptions import NotFoundError as RetabNotFound

from contract_tests.replicas import (
    FILES_SECRET_ENV,
    WEBHOOK_SECRET_ENV,
    Local,
    by_pid,
    query,
    replicas,
    worker_pid,
    write_configs,
)
from contract_tests.served_process import ServerProcess
from contract_tests.test_crash_safety import _kept as kept_runs
from tests.harness import (
    NO_RETRIES,
    SLOW_RUN_SECONDS,
    Gateway,
    categories,
    category_name,
    classifications,
    corpus,
    label,
    text_file,
    wait_until,
)
from tests.postgres import PostgresServer
from tests.webhook_receiver import Receiver, receiving
from tests.webhook_support import SECRET, verify

KEY = "key-replicas-5d1c"
INVOICE = "doc_001.txt"
RUNS = 500
CREATORS = 4  # client threads creating runs, spread over both replicas
RETAB_BODY = {
    "document": {"filename": "memo.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbCBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
    "background": True,
}
EXTEND_BODY = {
    "file": {"text": "Invoice total due", "name": "memo.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "A bill"}]},
}
EXTEND_HEADERS = {"x-extend-api-version": "2026-02-09"}
PATHS = {"retab": "/v1/classifications", "extend": "/classify_runs"}
DONE = {"retab": "completed", "extend": "PROCESSED"}


class Replica(Gateway):
    """A running replica, as the harness's SDK helpers reach a served gateway."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__()
        self.url = server.url

    def _http_client(self, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


STORES = ["sqlite", "postgresql"]


@contextmanager
def _store(kind: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A fresh store's URL: a SQLite file in `directory` (replicas on one machine), or a new
    database on the session's PostgreSQL server (tests/postgres.py), dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'ledger.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module", autouse=True)
def secrets_set() -> Iterator[None]:
    """The file-link and webhook secrets every replica reads from its environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FILES_SECRET_ENV, "file-links-shared-by-every-replica")
        patch.setenv(WEBHOOK_SECRET_ENV, SECRET)
        yield


@pytest.fixture(scope="module", params=STORES)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas on one store, shared by the module's tests of that store (each test
    with a key of its own, so none sees another's runs or files); their runs take long
    enough for a cancel to find them unfinished."""
    directory = tmp_path_factory.mktemp(f"pair-{request.param}")
    local = Local(min_run_seconds=SLOW_RUN_SECONDS)
    with _store(request.param, request, directory) as store_url:
        configs = write_configs(directory, store_url, 2, local=local)
        with replicas(configs, directory) as (one, two):
            first, second = Replica(one), Replica(two)
            yield first, second
            first.close_clients()
            second.close_clients()


@pytest.fixture(scope="module", params=STORES)
def apart(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas on one store that keep files' bytes in it (`[files] storage =
    "database"`), each with a `[files] dir` of its own: nothing shared but the store."""
    directory = tmp_path_factory.mktemp(f"apart-{request.param}")
    with _store(request.param, request, directory) as store_url:
        configs = write_configs(directory, store_url, 2, local=Local(), storage="database")
        with replicas(configs, directory) as (one, two):
            first, second = Replica(one), Replica(two)
            yield first, second
            first.close_clients()
            second.close_clients()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """This test's own client key."""
    return f"key-{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]}"


def test_a_retab_run_made_on_one_replica_is_read_listed_cancelled_and_deleted_on_the_other(
    pair: tuple[Replica, Replica], key: str
) -> None:
    one, two = (replica.retab(key) for replica in pair)
    made = one.classifications.create(document=corpus(INVOICE), categories=categories())
    read = two.classifications.get(made.id)
    assert read.id == made.id
    assert read.output is not None
    assert read.output.category == category_name(INVOICE)
    assert [c.id for c in two.classifications.list().data] == [made.id]

    queued = one.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    cancelled = two.classifications.create_classification_cancel(queued.id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    again = one.classifications.get(queued.id)
    assert again.status is not None
    assert again.status.value == "cancelled"

    assert two.classifications.delete(made.id) is None
    with pytest.raises(RetabNotFound):
        one.classifications.get(made.id)
    assert [c.id for c in one.classifications.list().data] == [queued.id]


def test_an_extend_run_made_on_one_replica_is_read_listed_cancelled_and_deleted_on_the_other(
    pair: tuple[Replica, Replica], key: str
) -> None:
    one, two = (replica.extend(key) for replica in pair)
    config = {"classifications": classifications()}
    made = one.classify(file=text_file(INVOICE), config=config, request_options=NO_RETRIES)
    read = two.classify_runs.retrieve(made.id, request_options=NO_RETRIES)
    assert (read.id, read.status) == (made.id, "PROCESSED")
    assert read.output is not None
    assert read.output.id == label(INVOICE)
    listed = two.classify_runs.list(request_options=NO_RETRIES).data
    assert [r.id for r in listed] == [made.id]

    running = one.classify_runs.create(file=text_file(INVOICE), config=config)
    cancelled = two.classify_runs.cancel(running.id, request_options=NO_RETRIES)
    assert (cancelled.id, cancelled.status) == (running.id, "CANCELLED")
    assert one.classify_runs.retrieve(running.id, request_options=NO_RETRIES).status == "CANCELLED"

    assert two.classify_runs.delete(made.id, request_options=NO_RETRIES).id == made.id
    with pytest.raises(ExtendNotFound):
        one.classify_runs.retrieve(made.id, request_options=NO_RETRIES)
    remaining = one.classify_runs.list(request_options=NO_RETRIES).data
    assert [r.id for r in remaining] == [running.id]


def test_a_file_uploaded_on_one_replica_is_read_downloaded_and_classified_on_the_other(
    pair: tuple[Replica, Replica], key: str
) -> None:
    """The file's metadata is in the shared ledger, its bytes in the shared `[files] dir`, and
    its download link is signed with the key both replicas hold: a link one replica made
    works on the other."""
    _file_crosses(pair, key)


def test_with_bytes_in_the_store_a_file_crosses_replicas_that_share_no_directory(
    apart: tuple[Replica, Replica], key: str
) -> None:
    """The same with `[files] storage = "database"`: the bytes one replica took are read
    from the store by the other."""
    _file_crosses(apart, key)


def _file_crosses(pair: tuple[Replica, Replica], key: str) -> None:
    """Uploaded on the first replica; read, downloaded and classified on the second."""
    first, second = pair
    one, two = first.extend(key), second.extend(key)
    content = corpus(INVOICE).read_bytes()
    uploaded = one.files.upload(file=(INVOICE, content, "text/plain"))
    read = two.files.retrieve(uploaded.id)
    assert (read.id, read.name) == (uploaded.id, INVOICE)
    assert read.presigned_url is not None
    link = httpx.URL(read.presigned_url).raw_path.decode()
    for replica in pair:  # the link made on the second works on both
        download = replica.http(None).get(link)
        assert download.status_code == 200, download.text
        assert download.content == content
    config = {"classifications": classifications()}
    run = two.classify(file={"id": uploaded.id}, config=config, request_options=NO_RETRIES)
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert [f.id for f in one.files.list().data] == [uploaded.id]


def test_a_retab_upload_announced_on_one_replica_is_put_and_completed_on_the_other(
    pair: tuple[Replica, Replica], key: str
) -> None:
    """Retab's three steps, each on a different replica, as a load balancer may send them:
    the upload under way is kept where both replicas find it (the shared `[files] dir`)."""
    _upload_crosses(pair, key)


def test_with_bytes_in_the_store_a_retab_upload_crosses_replicas_sharing_no_directory(
    apart: tuple[Replica, Replica], key: str
) -> None:
    """The same with `[files] storage = "database"`: the upload under way is in the store."""
    _upload_crosses(apart, key)


def _upload_crosses(pair: tuple[Replica, Replica], key: str) -> None:
    """Announced and completed on the first replica, its bytes PUT to the second."""
    first, second = pair
    one, two = first.retab(key), second.retab(key)
    content = corpus(INVOICE).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    started = one.files.create_upload(filename=INVOICE, size_bytes=len(content), sha256=digest)
    upload = httpx.URL(started.upload_url).raw_path.decode()
    put = second.http(None).put(upload, content=content, headers=started.upload_headers)
    assert put.status_code == 200, put.text
    completed = one.files.complete_upload(started.file_id, sha256=digest)
    assert completed.filename == INVOICE
    (listed,) = two.files.list().data
    assert listed.id == started.file_id
    link = httpx.URL(str(two.files.get_download_link(listed.id).download_url)).raw_path
    download = first.http(None).get(link.decode())
    assert download.status_code == 200, download.text
    assert download.content == content


def test_an_idempotency_key_sent_to_both_replicas_at_once_makes_one_run(
    pair: tuple[Replica, Replica], key: str
) -> None:
    """The key's slot is in the shared store: whichever replica takes the create first makes
    the run; the other answers that run (a replay) or that it is still in flight (409), and a
    retry on either replica then replays it."""
    clients = [replica.http(key) for replica in pair]
    headers = {**EXTEND_HEADERS, "idempotency-key": "order-7731"}
    body = {**EXTEND_BODY, "metadata": {"order": "7731"}}
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(
            target=lambda c=client: answers.append(
                c.post(PATHS["extend"], json=body, headers=headers)
            )
        )
        for client in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) in ([200, 200], [200, 409]), answers
    made = {a.json()["id"] for a in answers if a.status_code == 200}
    assert len(made) == 1
    for client in clients:
        again = client.post(PATHS["extend"], json=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.headers["crosswalk-idempotent-replay"] == "true"
        assert {again.json()["id"]} == made
    listed = clients[0].get(PATHS["extend"], headers=EXTEND_HEADERS).json()["data"]
    assert {run["id"] for run in listed} == made


def _create(url: str, surfaces: list[str], accepted: list[tuple[str, str]]) -> None:
    """Background runs on one replica, one per surface named, each (surface, id) kept."""
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for surface in surfaces:
            if surface == "retab":
                response = client.post(PATHS["retab"], json=RETAB_BODY)
                assert response.status_code == 201, response.text
            else:
                response = client.post(PATHS["extend"], json=EXTEND_BODY, headers=EXTEND_HEADERS)
                assert response.status_code == 200, response.text
            accepted.append((surface, response.json()["id"]))


def _create_spread(servers: list[ServerProcess]) -> list[tuple[str, str]]:
    """RUNS background runs, half on each surface, sent by CREATORS threads at once, each
    to one replica in turn."""
    accepted: list[tuple[str, str]] = []
    surfaces = [("retab", "extend")[n % 2] for n in range(RUNS)]
    threads = [
        threading.Thread(
            target=_create,
            args=(servers[n % len(servers)].url, surfaces[n::CREATORS], accepted),
        )
        for n in range(CREATORS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(accepted) == RUNS
    return accepted


def _ended(store_url: str) -> int:
    (row,) = query(store_url, "SELECT count(*) FROM runs WHERE status = 'completed'")
    return int(row[0])


_IN_FLIGHT = (
    "SELECT e.event_id, d.claimed_by FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.seq = d.event_seq "
    "WHERE d.state = 'pending' AND d.claimed_by IS NOT NULL"
)


def _statuses(url: str, runs: list[tuple[str, str]]) -> Counter[str]:
    headers = {"authorization": f"Bearer {KEY}", **EXTEND_HEADERS}
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for surface, run_id in runs:
            response = client.get(f"{PATHS[surface]}/{run_id}")
            assert response.status_code == 200, response.text
            seen[response.json()["status"]] += 1
    return seen


@pytest.mark.parametrize("store", STORES)
def test_500_runs_over_two_replicas_end_once_when_one_is_killed(
    request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    # a short lease, so the survivor retakes the dead replica's runs within the test
    local = Local(min_run_seconds=0.1, lease_seconds=3.0, concurrency=4)
    with _store(store, request, tmp_path) as store_url, receiving() as receiver:
        configs = write_configs(tmp_path, store_url, 2, local=local, webhook_url=receiver.url)
        with replicas(configs, tmp_path) as servers:
            _kill_one_mid_way(tmp_path, store_url, servers, receiver)


def _kill_one_mid_way(
    tmp_path: Path, store_url: str, servers: list[ServerProcess], receiver: Receiver
) -> None:
    doomed, survivor = servers
    runs = _create_spread(servers)
    wait_until(lambda: _ended(store_url) >= RUNS // 4, timeout=60)
    doomed.kill()
    # what the dead replica held when it died: only these may be taken a second time
    held = {
        upstream_id
        for upstream_id, worker in query(
            store_url, "SELECT upstream_id, claimed_by FROM runs WHERE status = 'running'"
        )
        if worker_pid(worker) == doomed.pid
    }
    in_flight = {
        event_id
        for event_id, worker in query(store_url, _IN_FLIGHT)
        if worker_pid(worker) == doomed.pid
    }
    assert _ended(store_url) < RUNS, "every run ended before the kill: nothing was mid-way"

    wait_until(lambda: _ended(store_url) == RUNS, timeout=90)
    ledger = query(store_url, "SELECT upstream_id, status, attempts, claimed_by FROM runs")
    assert len(ledger) == RUNS  # none lost, none doubled
    assert {status for _, status, _, _ in ledger} == {"completed"}
    assert by_pid([worker for *_, worker in ledger]) == {doomed.pid, survivor.pid}
    retaken = {upstream_id for upstream_id, _, attempts, _ in ledger if attempts > 1}
    assert retaken <= held
    for upstream_id, _, attempts, worker in ledger:
        if upstream_id in held:  # taken once more, by the survivor, and no more
            assert (attempts, worker_pid(worker)) == (2, survivor.pid)
    assert _statuses(survivor.url, runs) == Counter(DONE[s] for s, _ in runs)

    events = {event_id for (event_id,) in query(store_url, "SELECT event_id FROM webhook_events")}
    assert len(events) == RUNS

    def delivered() -> bool:
        states = query(store_url, "SELECT state, count(*) FROM webhook_deliveries GROUP BY state")
        return states == [("delivered", RUNS)]

    wait_until(delivered, timeout=60)
    accepted = receiver.accepted()
    assert set(accepted) == events
    twice = {event_id for event_id, count in accepted.items() if count > 1}
    assert twice <= in_flight, (twice, in_flight)  # at-least-once only for those in flight
    assert max(accepted.values()) <= 2
    assert {verify(r).event_type for r in receiver.received} == {"classify_run.processed"}

    survivor.stop()
    kept = kept_runs(tmp_path / "replica-1.log", tmp_path / "replica-2.log")
    assert max(kept.values()) == 1, kept


class HoldsFirst(Receiver):
    """A receiver that takes the first delivery's body and never answers it (a subscriber
    that got the event, while the replica sending it dies before hearing back); it answers
    every other delivery 200."""

    def __init__(self) -> None:
        self._held = threading.Event()
        super().__init__()

    @property  # read once per request by the receiver's handler
    def hang(self) -> bool:
        with self._lock:
            first = not self._held.is_set()
            self._held.set()
        return first

    @hang.setter
    def hang(self, _value: bool) -> None:
        pass  # Receiver's own setting; this one decides per request


_DELIVERIES = (
    "SELECT e.event_id, d.state, d.attempts, d.claimed_by FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.seq = d.event_seq"
)


@pytest.mark.parametrize("store", STORES)
def test_a_delivery_in_flight_when_its_replica_dies_is_the_only_one_sent_again(
    request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    """The subscriber holds the first delivery unanswered; the replica sending it is killed.
    The other replica sends that event again once its lease runs out (at least once: the
    subscriber got it twice) and every other event exactly once."""
    receiver = HoldsFirst()
    serving = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        with _store(store, request, tmp_path) as store_url:
            configs = write_configs(tmp_path, store_url, 2, local=Local(), webhook_url=receiver.url)
            with replicas(configs, tmp_path) as servers:
                _in_flight_kill(store_url, servers, receiver)
    finally:
        receiver.released.set()
        receiver.shutdown()
        receiver.server_close()
        serving.join()


def _deliveries(store_url: str) -> dict[str, tuple[str, int]]:
    """Each event's delivery: its state and how often it was sent."""
    return {event_id: (state, sent) for event_id, state, sent, _ in query(store_url, _DELIVERIES)}


def _in_flight_kill(store_url: str, servers: list[ServerProcess], receiver: Receiver) -> None:
    for server in servers:
        _create(server.url, ["retab", "extend"], [])
    wait_until(lambda: receiver.hanging == 1 and len(receiver.accepted()) == 3)
    ((held, _, _, holder),) = [row for row in query(store_url, _DELIVERIES) if row[1] == "pending"]
    (dying,) = [server for server in servers if server.pid == worker_pid(holder)]
    dying.kill()
    # taken again once its lease, the endpoint's timeout (2 s) plus 10 s, runs out
    wait_until(lambda: _deliveries(store_url)[held][0] == "delivered", timeout=60)
    deliveries = _deliveries(store_url)
    assert deliveries[held] == ("delivered", 2)
    assert {v for e, v in deliveries.items() if e != held} == {("delivered", 1)}
    assert receiver.hanging == 1  # its first send, received and never answered
    assert receiver.accepted() == Counter(dict.fromkeys(deliveries, 1))
