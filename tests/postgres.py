"""A throwaway PostgreSQL server for the tests that need a real one (issue 15).

The `postgres_server` session fixture finds Debian's server binaries (`/usr/lib/postgresql/*/bin`)
or, missing them and running as root with apt-get, installs Debian's `postgresql` once (under a
file lock, without creating or starting Debian's own cluster). It initdb's a cluster in a
temporary directory (as the `postgres` user when the tests run as root: the server refuses to
run as root), tuned for tests rather than durability (no fsync), listening on 127.0.0.1 on a
free port with its unix socket in that directory, and stops it (an immediate shutdown) and
removes the directory at the end of the session, whatever the tests did.

The postmaster runs as the test process's child with a parent-death signal rather than
daemonized by `pg_ctl`: a session that dies without running its finalizers (pytest-timeout's
`os._exit`, a kill) takes its server with it instead of leaving one listening; a directory such
a session left behind is swept by the next.

`postgres_url` gives each test its own fresh database, cloned from a template that is made (and
migrated, once the PostgreSQL store's schema exists) once per session, and dropped after the
test. When no server can be had, a test needing one fails under `CI=true` and is skipped
elsewhere, saying why.
"""

from __future__ import annotations

import fcntl
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

PACKAGE = "postgresql"
BIN_GLOB = "/usr/lib/postgresql/*/bin"
TOOLS = ("initdb", "postgres")
SERVICE_USER = "postgres"
TEMPLATE = "crosswalk_template"
DIR_PREFIX = "crosswalk-pg-"
LOCK = Path(tempfile.gettempdir()) / "crosswalk-postgresql-install.lock"
APT_LOCK_SECONDS = 600
INSTALL_SECONDS = 900
START_SECONDS = 60
# how old a cluster's directory with no live server must be before another session removes it
ABANDONED_SECONDS = 600
# tests only; a crash loses the cluster, which is thrown away anyway
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "autovacuum": "off",
    # parallel plans would take /dev/shm, which a container keeps small
    "max_parallel_workers_per_gather": "0",
    "log_min_messages": "warning",
}


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be had here; the message says why."""


def find_bindir() -> Path | None:
    """The newest directory holding PostgreSQL's server binaries, if any."""
    candidates = [Path(found) for found in glob.glob(BIN_GLOB)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    usable = [path for path in candidates if all((path / tool).is_file() for tool in TOOLS)]
    if not usable:
        return None
    return max(usable, key=_version_of)


def _version_of(bindir: Path) -> tuple[int, ...]:
    digits = bindir.parent.name.split(".")
    return tuple(int(part) for part in digits if part.isdigit()) or (0,)


def install_postgres() -> Path:
    """Install Debian's PostgreSQL with apt-get, once across processes; its binaries' directory.

    Debian's packages create and start a `main` cluster by default; the tests want only their
    own, so `postgresql-common` goes first and is told not to (as the official Docker image
    does). Raises PostgresUnavailable when not root, without apt-get, or when the install fails.
    """
    if os.geteuid() != 0:
        raise PostgresUnavailable("PostgreSQL is not installed, and installing it needs root")
    apt = shutil.which("apt-get")
    if apt is None:
        raise PostgresUnavailable("PostgreSQL is not installed, and there is no apt-get")
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # another process may have installed it while this one waited for the lock
            found = find_bindir()
            if found:
                return found
            _apt(apt, "update")
            _apt(apt, "install", "-y", "--no-install-recommends", "postgresql-common")
            _no_main_cluster(Path("/etc/postgresql-common/createcluster.conf"))
            _apt(apt, "install", "-y", "--no-install-recommends", PACKAGE)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    found = find_bindir()
    if found is None:
        raise PostgresUnavailable(f"apt-get installed {PACKAGE}, but found no {BIN_GLOB}/initdb")
    return found


def _no_main_cluster(conf: Path) -> None:
    lines = conf.read_text().splitlines() if conf.exists() else []
    kept = [line for line in lines if "create_main_cluster" not in line]
    conf.write_text("\n".join([*kept, "create_main_cluster = false", ""]))


def _apt(apt: str, *args: str) -> None:
    command = [apt, "-qq", "-o", f"DPkg::Lock::Timeout={APT_LOCK_SECONDS}", *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresUnavailable(f"`apt-get {args[0]}` took over {INSTALL_SECONDS} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise PostgresUnavailable(f"`apt-get {args[0]}` failed ({done.returncode}):\n{tail}")


@dataclass
class PostgresServer:
    """A running throwaway cluster: its address and the databases made on it."""

    bindir: Path
    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = SERVICE_USER
    _admin: psycopg.Connection[tuple[object, ...]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, template: str = TEMPLATE) -> str:
        """A new empty database cloned from `template`; its name."""
        with self._lock:
            name = f"t{next(self._names)}"
            self._admin_connection().execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending any connection a test left open on it."""
        with self._lock:
            self._admin_connection().execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.url(), autocommit=True)
        return self._admin

    def stop(self) -> None:
        """An immediate shutdown, then the cluster's directory removed."""
        try:
            if self._admin is not None:
                self._admin.close()
            if self.process.poll() is None:
                # SIGQUIT is `pg_ctl stop -m immediate`: nothing to keep, so nothing to flush
                self.process.send_signal(signal.SIGQUIT)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_server(bindir: Path) -> PostgresServer:
    """initdb a cluster in a new temporary directory and start it on a free loopback port."""
    _sweep_abandoned()
    directory = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    try:
        account = _service_account()
        if account is not None:
            os.chown(directory, account.pw_uid, account.pw_gid)
        data = directory / "data"
        _run_as(account, [str(bindir / "initdb"), *_initdb_args(data)], cwd=directory)
        # a port found free can be taken before the server binds it; another one then
        for _attempt in range(3):
            server = _start(bindir, directory, data, account, _free_port())
            if server is not None:
                _make_template(server)
                return server
        raise PostgresUnavailable(f"the server would not start:\n{_log_tail(directory)}")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _initdb_args(data: Path) -> list[str]:
    return [
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        SERVICE_USER,
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]


def _service_account() -> pwd.struct_passwd | None:
    """Who runs the server: the `postgres` user when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError as exc:
        raise PostgresUnavailable(f"running as root, and there is no {SERVICE_USER} user") from exc


def _as_user(account: pwd.struct_passwd | None, command: list[str]) -> list[str]:
    """`command` as `account` (when root), killed when the test process dies."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if account is None:
            return command
        return ["runuser", "-u", account.pw_name, "--", *command]
    options = ["--pdeathsig", "KILL"]
    if account is not None:
        options += [
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--clear-groups",
        ]
    return [setpriv, *options, "--", *command]


def _run_as(account: pwd.struct_passwd | None, command: list[str], *, cwd: Path) -> None:
    done = subprocess.run(
        _as_user(account, command),
        cwd=cwd,
        env=_server_env(),
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise PostgresUnavailable(f"`{Path(command[0]).name}` failed ({done.returncode}):\n{tail}")


def _server_env() -> dict[str, str]:
    # no PG* settings of the caller's leak into the cluster; C messages are what the tests read
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**env, "LC_ALL": "C", "LANG": "C"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(
    bindir: Path, directory: Path, data: Path, account: pwd.struct_passwd | None, port: int
) -> PostgresServer | None:
    """The postmaster started and accepting connections, or None when it exited at once (its
    port was taken)."""
    options = [f"-c{name}={value}" for name, value in SETTINGS.items()]
    command = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(directory)]
    with (directory / "server.log").open("ab") as log:
        process = subprocess.Popen(
            _as_user(account, [*command, *options]),
            cwd=directory,
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # a Ctrl-C at the terminal reaches pytest, whose finalizer stops the server
            start_new_session=True,
        )
    server = PostgresServer(bindir=bindir, directory=directory, port=port, process=process)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            pass
        try:
            # waiting on the process: it either exits (no server) or the loop asks again
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        return None
    server.process.kill()
    server.process.wait()
    raise PostgresUnavailable(f"the server was not ready in {START_SECONDS} s")


def _make_template(server: PostgresServer) -> None:
    """The database every test's database is cloned from: migrated to the PostgreSQL store's
    schema when that exists, so a test's ledger opens without migrating."""
    admin = server._admin_connection()
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))


def _log_tail(directory: Path) -> str:
    try:
        lines = (directory / "server.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(lines[-10:])


def _sweep_abandoned() -> None:
    """Remove the directories of clusters whose test session died without cleaning up (their
    postmaster died with it: see the module docstring)."""
    for directory in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        try:
            pid, age = _pid_and_age(directory)
        except OSError:  # removed meanwhile
            continue
        # young: maybe another session's initdb between two of its processes
        if age > ABANDONED_SECONDS and not (pid and _alive(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _pid_and_age(directory: Path) -> tuple[int, float]:
    """The pid in a cluster's lock file (0 without one) and how long ago it was written (or
    the directory was, without one)."""
    pid_file = directory / "data" / "postmaster.pid"
    try:
        # initdb's standalone backend writes its pid negated
        pid = abs(int(pid_file.read_text().split("\n", 1)[0]))
        return pid, time.time() - pid_file.stat().st_mtime
    except (OSError, ValueError):
        # no pid file: another session is making its cluster right now, or died doing so
        return 0, time.time() - directory.stat().st_mtime


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def without_postgres(reason: PostgresUnavailable) -> NoReturn:
    """Fail the test under CI=true, where the PostgreSQL tests must run; skip it elsewhere."""
    message = f"no PostgreSQL server for this test: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the session (see the module docstring)."""
    try:
        server = start_server(find_bindir() or install_postgres())
    except PostgresUnavailable as reason:
        # pytest keeps a session fixture's skip or failure for every later test that asks
        without_postgres(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh database of this test's own on the session's server."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
