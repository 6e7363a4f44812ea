"""Fixtures and invariant checks of the fault-injection suite ("crash safety").

A cluster (:class:`Env`) is a throwaway RabbitMQ vhost reached as a throwaway
RabbitMQ user that has a password, a throwaway PostgreSQL database, and the three
daemons (``volmgr-api``, ``volmgr-scheduler``,
``volmgr-volume`` on a file backend) started from their console scripts' entry
points through ``tests/fault_launcher.py``, which loads the fault plugin first, with
fast recovery settings (``[recovery] interval = 1``, ``stale_after = 3``). Modules share
one cluster unless they ask for their own (``OWN_ENV``: the mixed run, the quorum
queues). Every test leaves its cluster with all requests terminal.

Faults come from the plugin ``tests/fault_plugin.py`` on the daemons' hook points
(``volmgr_common.hooks`` names them; the product config holds no test option): a
manage request whose metadata holds ``_fault = "kill:<Point>"`` makes the daemon at
that point ``os._exit(137)`` (once per volume and point), ``"fail:<Point>"`` makes
the point raise. The tests restart a
killed daemon and then check the five invariants of docs/design.rst with
:func:`assert_invariants`:

1. every accepted request reaches ``available`` or ``error_managing`` in bounded time;
2. ``volmgr-manage quota check`` exits 0 and no reservation is left;
3. each backend object is unmanaged under its original name, or managed under
   ``volume-<id>`` by exactly one ``available`` volume;
4. the multiset of file contents in the backend directory never changes;
5. no backend object is held by two ``available`` volumes.

RabbitMQ and PostgreSQL must run on this host (``rabbitmqctl`` is used to make the
user and the vhost and to close connections); when they do not, every test fails
with a message that says how to start them. The shared broker is never restarted:
the broker-restart test runs a node of its own (``tests/faults/broker.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.fault_plugin import KILLED  # the exit code of a daemon a kill fault ended
from tests.integration import daemons
from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import rpc
from volmgr_common.conf import startup
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import models

ENVS_KEY = pytest.StashKey[list["Env"]]()
LOG_TAIL_LINES = 60

MANAGED_PREFIX = "volume-"
TERMINAL = ("available", "error_managing")
TRANSITIONAL = ("managing", "unmanaging")
# Invariant 1: how long after the restart every request must be terminal. Recovery
# needs stale_after (3 s) plus a scan interval (1 s) per hop it resumes.
TERMINAL_BOUND = 45.0

API_POINTS = ["AfterEntryCreate"]
SCHEDULER_POINTS = ["SchedulerReceive"]
VOLUME_POINTS = [
    "NotifyStart",
    "PrepareForQuotaReservation",
    "QuotaReserve",
    "RecordIdentity",
    "ManageExisting",
    "ManageExisting.after",
    "QuotaCommit",
    "OnFinish",
]
ALL_POINTS = API_POINTS + SCHEDULER_POINTS + VOLUME_POINTS

FAST_RECOVERY: dict[str, dict[str, Any]] = {
    "DEFAULT": {"report_interval": 1, "service_down_time": 15},
    "recovery": {"interval": 1, "stale_after": 3},
    "api": {"bind_port": 0},
}

HOW_TO_GET_RABBITMQCTL = (
    "the fault tests make a RabbitMQ user and vhost and close connections with "
    "rabbitmqctl: run them as root on the broker's host (start the broker with "
    "'rabbitmq-server -detached')"
)


# -- pytest hooks -----------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """On a failure, add the tail of each daemon log of the clusters in use."""
    report: pytest.TestReport = yield
    if report.failed:
        for env in item.config.stash.get(ENVS_KEY, []):
            for daemon in env.all_daemons:
                title = f"log tail of {env.name}/{daemon.name} ({daemon.log_file})"
                report.sections.append((title, daemon.tail(LOG_TAIL_LINES)))
    return report


# -- services ---------------------------------------------------------------------------


def _fail_setup(problem: str) -> None:
    pytest.fail(f"fault tests cannot run: {problem}", pytrace=False)


def rabbitmqctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``rabbitmqctl -q ARGS``; AssertionError with its stderr if it fails."""
    ctl = shutil.which("rabbitmqctl")
    assert ctl, HOW_TO_GET_RABBITMQCTL
    result = subprocess.run(
        [ctl, "-q", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"rabbitmqctl {args[0]} exited {result.returncode}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result


@pytest.fixture(scope="session", autouse=True)
def reachable_services() -> None:
    """Fail (never skip) at once when the broker, the database or rabbitmqctl is missing."""
    try:
        daemons.check_services_reachable()
    except daemons.IntegrationSetupError as error:
        _fail_setup(str(error))
    host = urllib.parse.urlsplit(daemons.rabbit_url()).hostname or "127.0.0.1"
    if shutil.which("rabbitmqctl") is None or host not in ("127.0.0.1", "localhost", "::1"):
        _fail_setup(HOW_TO_GET_RABBITMQCTL)


@dataclass
class RabbitUser:
    """A throwaway RabbitMQ user with a password (deleted at the end of the session)."""

    name: str
    password: str

    def url(self) -> str:
        """The test broker URL with this user's credentials."""
        parts = urllib.parse.urlsplit(daemons.rabbit_url())
        host = parts.netloc.rpartition("@")[2]
        quoted = urllib.parse.quote(self.password, safe="")
        netloc = f"{urllib.parse.quote(self.name, safe='')}:{quoted}@{host}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, "/", "", ""))


@pytest.fixture(scope="session")
def rabbit_user(reachable_services: None) -> Iterator[RabbitUser]:
    user = RabbitUser(f"volmgr-it-{uuid.uuid4().hex[:8]}", secrets.token_hex(16))
    try:
        rabbitmqctl("add_user", user.name, user.password)
    except (AssertionError, OSError, subprocess.SubprocessError) as error:
        _fail_setup(f"cannot add a RabbitMQ user: {error}; {HOW_TO_GET_RABBITMQCTL}")
    try:
        yield user
    finally:
        rabbitmqctl("delete_user", user.name)


@pytest.fixture(scope="session")
def suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file the suite writes (configs, logs, backend files) lives under here."""
    return tmp_path_factory.mktemp("volmgr-faults")


# -- the cluster of a test module -------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FaultClient(daemons.ApiClient):
    """:class:`daemons.ApiClient` whose messaging options come from a config file.

    The client must declare exchanges and queues as the daemons do (durable, quorum),
    so it reads the same ``[oslo_messaging_rabbit]`` options.
    """

    def __init__(self, config_file: Path, timeout: int) -> None:
        self.conf = startup.new_conf()
        self.conf(
            ["--config-file", str(config_file)],
            project=None,
            default_config_files=[],
            default_config_dirs=[],
        )
        self.messaging = rpc.Messaging(self.conf, "fault-client")
        self.api = api_rpcapi.ApiAPI(self.messaging, timeout=timeout)


@dataclass
class Env:
    """One cluster: vhost, database, the three daemons, the backend directory."""

    name: str
    base_dir: Path
    vhost: daemons.RabbitVhost | WholeBroker
    database: daemons.PostgresDatabase | SqliteDatabase
    factory: daemons.DaemonFactory
    db: db_api.Database
    manage_conf: Path
    client_conf: Path
    directory: Path
    api: daemons.Daemon
    scheduler: daemons.Daemon
    volume: daemons.Daemon
    originals: dict[str, str] = field(default_factory=dict)  # name -> sha256 of content
    _clients: dict[int, FaultClient] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rest_url: tuple[int, str] | None = None  # (pid of volmgr-api, where it serves REST)

    @property
    def daemons(self) -> list[daemons.Daemon]:
        return [self.api, self.scheduler, self.volume]

    @property
    def all_daemons(self) -> list[daemons.Daemon]:
        return list(self.factory.daemons)

    @property
    def backend_host(self) -> str:
        return self.volume.service_host

    def client(self, timeout: int = 30) -> FaultClient:
        """An RPC client of this cluster's API (one per timeout, closed at teardown)."""
        with self._lock:
            if timeout not in self._clients:
                self._clients[timeout] = FaultClient(self.client_conf, timeout)
            return self._clients[timeout]

    def close_clients(self) -> None:
        for made in self._clients.values():
            made.close()
        self._clients.clear()

    # -- backend objects

    def new_object(self, name: str, size: int = 4096) -> str:
        """A file of random content (unique) in the backend directory, remembered."""
        content = os.urandom(size) + name.encode()
        (self.directory / name).write_bytes(content)
        with self._lock:
            assert name not in self.originals, f"{name} made twice"
            self.originals[name] = hashlib.sha256(content).hexdigest()
        return name

    # -- processes

    def wait_dead(self, daemon: daemons.Daemon, timeout: float = 20.0) -> int:
        """Wait until ``daemon`` exits by itself; returns its exit code and forgets it."""
        proc = daemon.proc
        assert proc is not None, f"{daemon.name} was not started"
        daemons.wait_until(lambda: proc.poll() is not None, timeout, f"{daemon.name} to die")
        daemon.proc = None
        daemon.exit_codes.append(proc.returncode)
        return proc.returncode

    def restart_killed(self, daemon: daemons.Daemon, timeout: float = 20.0) -> float:
        """Wait for the fault to kill ``daemon`` (exit 137), start it again.

        Returns the monotonic time at which the new process serves.
        """
        code = self.wait_dead(daemon, timeout)
        assert code == KILLED, (
            f"{daemon.name} exited {code}, not {KILLED} (a kill fault):\n{daemon.tail()}"
        )
        daemon.start(self.db)
        return time.monotonic()

    def sigkill(self, daemon: daemons.Daemon) -> None:
        """SIGKILL ``daemon`` (its whole process group) and wait for it to be gone."""
        proc = daemon.proc
        assert proc is not None and proc.poll() is None, f"{daemon.name} is not running"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        daemon.exit_codes.append(proc.returncode)
        daemon.proc = None

    def queue_messages(self, prefix: str) -> dict[str, int]:
        """``{queue: messages}`` of this vhost's queues named ``prefix`` or ``prefix.*``."""
        listed = rabbitmqctl(
            "list_queues", "--vhost", self.vhost.name, "--no-table-headers", "name", "messages"
        )
        queues = {}
        for line in listed.stdout.splitlines():
            name, _, count = line.partition("\t")
            if (name == prefix or name.startswith(prefix + ".")) and count.strip().isdigit():
                queues[name] = int(count)
        return queues

    def purge(self, prefix: str) -> int:
        """Drop the messages waiting in the queues of ``prefix``; how many there were."""
        queues = self.queue_messages(prefix)
        for name in queues:
            rabbitmqctl("purge_queue", "--vhost", self.vhost.name, name)
        return sum(queues.values())

    def assert_all_running(self) -> None:
        dead = {d.name: d.proc.returncode for d in self.daemons if d.proc and not d.running}
        stopped = [d.name for d in self.daemons if d.proc is None]
        assert not dead and not stopped, (
            f"daemons not running: exited {dead}, never restarted {stopped}"
        )

    def log_files(self) -> list[Path]:
        files = []
        for daemon in self.all_daemons:
            files += [p for p in (daemon.log_file, daemon.out_file) if p.exists()]
        return files


def stop_once(to_stop: list[daemons.Daemon]) -> list[str]:
    """SIGTERM every running daemon once, wait for each; the problems (none: all exited 0).

    (``DaemonFactory.stop_all`` sends a second SIGTERM to a daemon still exiting; one
    that arrives while the interpreter finalizes kills the process with -15.)
    """
    running = [(d, d.proc) for d in to_stop if d.proc is not None and d.proc.poll() is None]
    for _daemon, proc in running:
        proc.send_signal(signal.SIGTERM)
    problems = []
    for daemon, proc in running:
        daemon.proc = None
        try:
            code = proc.wait(timeout=daemons.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=10)
            problems.append(f"{daemon.name} ignored SIGTERM for {daemons.STOP_TIMEOUT:.0f}s")
        daemon.exit_codes.append(code)
        if code != 0:
            problems.append(f"{daemon.name} exited {code} after SIGTERM:\n{daemon.tail()}")
    return problems


class WholeBroker:
    """The default vhost of a broker the suite runs itself: nothing to make or drop."""

    name = "/"

    def __init__(self, url: str) -> None:
        self.url = url

    def create(self) -> None:
        """Nothing to make: the broker is the suite's own."""

    def delete(self) -> None:
        """Nothing to drop: the broker goes away with its node."""


class SqliteDatabase:
    """An SQLite file shared by the cluster's daemons (all on this host), instead of
    PostgreSQL; :meth:`freeze` makes it unwritable even for root, :meth:`thaw` undoes it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "volmgr.sqlite"
        self.name = self.path.name
        self.url = f"sqlite:///{self.path}"
        self._frozen: list[Path] = []

    def create(self) -> None:
        self.directory.mkdir(parents=True)

    def drop(self) -> None:
        self.thaw()

    def freeze(self) -> None:
        """Make the database unwritable (``chattr +i``, which binds root too) on the
        file, its write-ahead log and its directory, so that neither an open connection
        (``disk I/O error``) nor a new one (``attempt to write a readonly database``)
        can write. The ``-shm`` index stays writable: it is mapped into memory, and a
        write to an immutable mapping ends the process with SIGBUS, which is not a
        database failure but a crash.
        """
        paths = [p for p in self.directory.iterdir() if not p.name.endswith("-shm")]
        self._frozen = [*paths, self.directory]
        subprocess.run(["chattr", "+i", *map(str, self._frozen)], check=True, timeout=30)

    def thaw(self) -> None:
        """Make the database writable again."""
        if self._frozen:
            subprocess.run(["chattr", "-i", *map(str, self._frozen)], check=True, timeout=30)
            self._frozen = []


@contextlib.contextmanager
def make_env(
    suite_dir: Path,
    name: str,
    rabbit_user: RabbitUser,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    broker_url: str | None = None,
    sqlite: bool = False,
    template: daemons.PostgresDatabase | None = None,
) -> Iterator[Env]:
    """A started cluster; everything is stopped, dropped and deleted afterwards.

    ``broker_url``: a broker of the suite's own (its default vhost) instead of a
    throwaway vhost of the shared broker. ``sqlite``: the daemons share an SQLite
    file (:class:`SqliteDatabase`) instead of a throwaway PostgreSQL database.
    ``template``: the PostgreSQL database is a copy of this one, which ``volmgr-manage
    db sync`` made (:func:`pg_schema_template`); without it, ``db sync`` runs here.
    """
    base_dir = suite_dir / name
    base_dir.mkdir()
    sections: dict[str, dict[str, Any]] = {k: dict(v) for k, v in FAST_RECOVERY.items()}
    for section, values in (options or {}).items():
        sections.setdefault(section, {}).update(values)

    vhost = WholeBroker(broker_url) if broker_url else daemons.RabbitVhost(rabbit_user.url())
    database: daemons.PostgresDatabase | SqliteDatabase = (
        SqliteDatabase(base_dir / "database")
        if sqlite
        else daemons.PostgresDatabase(daemons.pg_url(), template.name if template else None)
    )
    try:
        vhost.create()
        database.create()
    except daemons.IntegrationSetupError as error:
        with contextlib.suppress(Exception):
            vhost.delete()
        _fail_setup(str(error))
    env: Env | None = None
    db: db_api.Database | None = None
    try:
        factory = daemons.DaemonFactory(base_dir, vhost.url, database.url, fault_plugin=True)
        manage_conf = factory.write_config("volmgr-manage", extra=sections)
        if sqlite or template is None:
            daemons.run_manage(manage_conf, "db", "sync")
        client_conf = factory.write_config("fault-client", extra=sections)
        db = daemons.open_database(manage_conf)
        directory = base_dir / "backend-files"
        directory.mkdir()
        env = Env(
            name=name,
            base_dir=base_dir,
            vhost=vhost,
            database=database,
            factory=factory,
            db=db,
            manage_conf=manage_conf,
            client_conf=client_conf,
            directory=directory,
            api=factory.create(daemons.API, extra=sections),
            scheduler=factory.create(daemons.SCHEDULER, extra=sections),
            volume=factory.create(
                daemons.VOLUME,
                directory=directory,
                extra={**sections, "image_backend": {"directory": directory}},
            ),
        )
        for daemon in env.daemons:
            daemon.start(wait=False)
        for daemon in env.daemons:
            daemon.wait_ready(db)
        yield env
    finally:
        problems: list[str] = []
        if env is not None:
            env.close_clients()
            for daemon in env.all_daemons:
                if daemon.proc is not None and not daemon.running:
                    daemon.exit_codes.append(daemon.proc.returncode)
                    daemon.proc = None  # died during a failed test: reported there
            problems = stop_once(env.all_daemons)
        if db is not None:
            db.dispose()
        database.drop()
        vhost.delete()
        assert not problems, "\n".join(problems)


@contextlib.contextmanager
def registered(config: pytest.Config, made: Env) -> Iterator[Env]:
    """Make the cluster's daemon logs part of failure reports while it runs."""
    envs = config.stash.setdefault(ENVS_KEY, [])
    envs.append(made)
    try:
        yield made
    finally:
        envs.remove(made)


@pytest.fixture(scope="session")
def pg_schema_template(
    reachable_services: None, suite_dir: Path
) -> Iterator[daemons.PostgresDatabase]:
    """A PostgreSQL database at the newest schema, made once per session by
    ``volmgr-manage db sync`` (run as a process, as an operator runs it), that each
    cluster's database copies (``CREATE DATABASE ... TEMPLATE``): running the
    migrations once instead of once per cluster. Nobody connects to it after the sync
    (PostgreSQL copies only a database that has no sessions)."""
    template = daemons.PostgresDatabase(daemons.pg_url())
    try:
        template.create()
    except daemons.IntegrationSetupError as error:
        _fail_setup(str(error))
    try:
        conf = daemons.write_config(
            suite_dir / "schema-template.conf", {"database": {"connection": template.url}}
        )
        daemons.run_manage(conf, "db", "sync")
        yield template
    finally:
        template.drop()


@pytest.fixture(scope="session")
def shared_env(
    request: pytest.FixtureRequest,
    suite_dir: Path,
    rabbit_user: RabbitUser,
    pg_schema_template: daemons.PostgresDatabase,
) -> Iterator[Env]:
    """The cluster of every module that needs no options of its own."""
    with (
        make_env(suite_dir, "shared", rabbit_user, template=pg_schema_template) as made,
        registered(request.config, made),
    ):
        yield made


@pytest.fixture(scope="module")
def env(
    request: pytest.FixtureRequest,
    suite_dir: Path,
    rabbit_user: RabbitUser,
    pg_schema_template: daemons.PostgresDatabase,
) -> Iterator[Env]:
    """The cluster of a test module.

    A module that sets ``OWN_ENV`` (config sections, possibly empty) gets a cluster
    of its own, on SQLite when it also sets ``SQLITE = True``; the others share one.
    """
    options = getattr(request.module, "OWN_ENV", None)
    if options is None:
        yield request.getfixturevalue("shared_env")
        return
    name = request.module.__name__.rpartition(".")[2]
    sqlite = getattr(request.module, "SQLITE", False)
    with (
        make_env(
            suite_dir, name, rabbit_user, options, sqlite=sqlite, template=pg_schema_template
        ) as made,
        registered(request.config, made),
    ):
        yield made


def alive(daemon: daemons.Daemon) -> bool:
    """Whether ``daemon`` runs (``proc`` read once: another thread may replace it)."""
    proc = daemon.proc
    return proc is not None and proc.poll() is None


@pytest.fixture(autouse=True)
def restart_dead_daemons(env: Env) -> Iterator[None]:
    """After each test, start again any daemon a failed test left dead, so that the
    next test of the cluster starts from a running cluster (the test itself fails on
    a dead daemon with :meth:`Env.assert_all_running`)."""
    yield
    for daemon in env.daemons:
        if not alive(daemon):
            if daemon.proc is not None:
                daemon.exit_codes.append(daemon.proc.returncode)
                daemon.proc = None
            daemon.start(env.db)


@pytest.fixture
def project_id() -> str:
    return f"ft-{uuid.uuid4().hex[:12]}"


def admin_context(project_id: str) -> RequestContext:
    return RequestContext(user_id="ft-admin", project_id=project_id, roles=["admin"])


def manage_or_error(
    env: Env, client: FaultClient, project_id: str, name: str
) -> dict[str, Any] | Exception:
    """Ask the API to manage ``name``; the error instead of raising (a fault may lose a call)."""
    try:
        return client.manage(admin_context(project_id), env.backend_host, name, name=name)
    except Exception as error:
        return error


REST_URL = re.compile(r"REST API listening on (http://\S+)")


def rest_url(env: Env) -> str:
    """Where the cluster's volmgr-api serves REST (it binds a free port and logs it).

    Read once per API process, from what that process logged: the log of a long run
    holds megabytes.
    """
    proc = env.api.proc
    pid = proc.pid if proc is not None else -1
    cached = env._rest_url
    if cached is not None and cached[0] == pid:
        return cached[1]
    found = REST_URL.findall(env.api.log_text(env.api.start_offset))
    assert found, "volmgr-api did not log where its REST API listens"
    env._rest_url = (pid, found[-1])
    return found[-1]


def rest_call(
    env: Env,
    ctxt: RequestContext,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 30,
) -> tuple[int, dict[str, Any]]:
    """One REST request as ``ctxt`` (noauth headers), on a connection of its own.

    Returns ``(status, body)``; a connection reset or any other socket error is raised.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{rest_url(env)}/v3/{ctxt.project_id}/{path}",
        data=data,
        method=method,
        headers={
            "Content-Type": "application/json",
            "X-User-Id": ctxt.user_id or "",
            "X-Project-Id": ctxt.project_id or "",
            "X-Roles": ",".join(ctxt.roles),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def rest_manage(env: Env, ctxt: RequestContext, name: str) -> tuple[int, dict[str, Any]]:
    """POST os-volume-manage of ``name`` on the cluster's backend as ``ctxt``."""
    body = {"volume": {"host": env.backend_host, "ref": {"source-name": name}, "name": name}}
    return rest_call(env, ctxt, "POST", "os-volume-manage", body)


def accepted_ids(outcomes: Sequence[dict[str, Any] | Exception]) -> list[str]:
    """Ids of the requests the API accepted; prints how many calls failed and why."""
    accepted = [o["id"] for o in outcomes if isinstance(o, dict)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    print(f"\n{len(accepted)} accepted, {len(errors)} calls failed: {errors[:3]}")
    return accepted


# -- invariants -------------------------------------------------------------------------


def volume_rows(
    db: db_api.Database,
    project_ids: Sequence[str] | None = None,
    volume_ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Every volume row (of ``project_ids``, or ``volume_ids``), read from the database."""
    v = models.Volume
    stmt = sa.select(
        v.id,
        v.project_id,
        v.display_name,
        v.status,
        v.host,
        v.reference,
        v.provider_location,
        v.failure_reason,
        v.quota_volumes,
        v.quota_gigabytes,
        v.size,
    )
    if project_ids is not None:
        stmt = stmt.where(v.project_id.in_(project_ids))
    if volume_ids is not None:
        stmt = stmt.where(v.id.in_(volume_ids))
    with db.engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(stmt).mappings()]
    for row in rows:
        row["source_name"] = json.loads(row["reference"]).get("source-name")
    return rows


def reservation_rows(db: db_api.Database) -> list[dict[str, Any]]:
    r = models.Reservation
    stmt = sa.select(r.uuid, r.project_id, r.resource, r.delta, r.volume_id, r.expire)
    with db.engine.connect() as connection:
        return [dict(row) for row in connection.execute(stmt).mappings()]


def wait_terminal(
    env: Env,
    project_ids: list[str],
    volume_ids: Sequence[str] = (),
    timeout: float = TERMINAL_BOUND,
    since: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Invariant 1: every row of ``project_ids`` (and every id in ``volume_ids``) leaves
    the transitional statuses within ``timeout`` seconds of ``since`` (default: now).

    Returns the rows of those projects by id.
    """
    deadline = (since if since is not None else time.monotonic()) + timeout
    rows: dict[str, dict[str, Any]] = {}
    while True:
        rows = {r["id"]: r for r in volume_rows(env.db, project_ids)}
        missing = sorted(set(volume_ids) - set(rows))
        assert not missing, f"accepted volumes without a row: {missing}"
        pending = [r for r in rows.values() if r["status"] not in TERMINAL]
        if not pending:
            return rows
        if time.monotonic() > deadline:
            detail = "\n".join(
                f"  {r['id']} {r['status']} host={r['host']} ref={r['source_name']} "
                f"reason={r['failure_reason']}"
                for r in pending
            )
            raise AssertionError(
                f"invariant 1: {len(pending)} request(s) not terminal {timeout:.0f}s "
                f"after the restart:\n{detail}"
            )
        time.sleep(0.2)


def assert_quota_consistent(env: Env) -> None:
    """Invariant 2: usage equals the truth, and no reservation is left."""
    result = daemons.run_manage(env.manage_conf, "quota", "check", check=False)
    assert result.returncode == 0, (
        f"invariant 2: volmgr-manage quota check exited {result.returncode}:\n"
        f"{result.stdout}{result.stderr}"
    )
    left = reservation_rows(env.db)
    assert not left, f"invariant 2: reservations outlived their requests: {left}"


def assert_backend_consistent(env: Env, only: Collection[str] | None = None) -> None:
    """Invariants 3, 4 and 5 on the whole backend directory and every volume row.

    With ``only`` (original object names), invariants 3 and 5 look at those objects
    alone (a module whose tests expose a product bug keeps each verdict its own);
    invariant 4 always covers the whole directory.
    """
    current: dict[str, str] = {}
    for path in env.directory.iterdir():
        assert path.is_file() and not path.is_symlink(), f"unexpected entry {path}"
        current[path.name] = sha256(path)
    with env._lock:
        originals = dict(env.originals)

    original_of = {digest: name for name, digest in originals.items()}

    # 4. Nothing that existed is deleted (or duplicated): only names change.
    lost = Counter(originals.values()) - Counter(current.values())
    extra = Counter(current.values()) - Counter(originals.values())
    assert not lost and not extra, (
        f"invariant 4: backend contents changed: "
        f"lost {[n for n, h in originals.items() if h in lost]}, "
        f"unknown {[n for n, h in current.items() if h in extra]}"
    )

    rows = volume_rows(env.db)
    if only is not None:
        rows = [r for r in rows if r["source_name"] in only]
        current = {n: h for n, h in current.items() if original_of.get(h) in only}
    by_id = {r["id"]: r for r in rows}
    available = [r for r in rows if r["status"] == "available"]

    # 5. Never managed twice.
    holders = Counter(r["source_name"] for r in available)
    twice = {name: n for name, n in holders.items() if n > 1}
    assert not twice, f"invariant 5: objects managed by several available volumes: {twice}"

    # 3. Each object: unmanaged under its original name, or managed by exactly one
    # available volume under volume-<id>.
    problems = []
    for name, digest in sorted(current.items()):
        original = original_of[digest]
        if name == original:
            if holders.get(original):
                problems.append(
                    f"{name} is under its original name but an available volume holds it"
                )
            continue
        volume_id = name.removeprefix(MANAGED_PREFIX)
        row = by_id.get(volume_id)
        if not name.startswith(MANAGED_PREFIX) or row is None:
            problems.append(f"{original} is now {name}, which no volume row explains")
        elif row["status"] != "available":
            problems.append(f"{original} is {name} but volume {volume_id} is {row['status']}")
        elif row["provider_location"] != name or row["source_name"] != original:
            problems.append(
                f"{original} is {name} but volume {volume_id} says ref="
                f"{row['source_name']} location={row['provider_location']}"
            )
    for row in available:
        location = row["provider_location"]
        if current.get(location) != originals.get(row["source_name"]):
            problems.append(
                f"available volume {row['id']} ({row['source_name']}) has no object at {location}"
            )
    assert not problems, "invariant 3:\n  " + "\n  ".join(problems)


def assert_invariants(
    env: Env,
    project_ids: list[str],
    volume_ids: Sequence[str] = (),
    since: float | None = None,
    timeout: float = TERMINAL_BOUND,
    only: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """All five invariants; returns the (terminal) rows of ``project_ids`` by id.

    ``only``: see :func:`assert_backend_consistent`.
    """
    rows = wait_terminal(env, project_ids, volume_ids, timeout=timeout, since=since)
    stuck = [r for r in volume_rows(env.db) if r["status"] in TRANSITIONAL]
    assert not stuck, f"invariant 1: rows of other requests still transitional: {stuck}"
    assert_quota_consistent(env)
    assert_backend_consistent(env, only)
    return rows


def run_concurrently(jobs: list[Callable[[], Any]], workers: int) -> list[Any]:
    """Run ``jobs`` on a thread pool; each result is the return value or the exception."""

    def guarded(job: Callable[[], Any]) -> Any:
        try:
            return job()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(guarded, jobs))
