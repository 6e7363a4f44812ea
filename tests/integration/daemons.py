"""Helpers of the integration tests: services, config files, daemon processes, RPC client.

The integration tests run the real ``volmgr-api``, ``volmgr-scheduler`` and
``volmgr-volume`` console scripts as separate processes against a real RabbitMQ and
a real PostgreSQL. This module knows how to

* check that the broker and the database answer on TCP (and say how to start them),
* make a throwaway RabbitMQ vhost and a throwaway PostgreSQL database,
* write one config file per daemon, start the daemon (with the fault plugin of
  :mod:`tests.fault_plugin` loaded when the factory says so), wait until it serves,
  and stop it with SIGTERM (checking that it exits 0),
* talk to ``volmgr-api`` over RPC as another service would (:class:`ApiClient`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from oslo_config import cfg

from tests import fault_launcher
from tests.local_files import write_config
from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import rpc
from volmgr_common.conf import startup
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import messages as messages_db
from volmgr_common.db import quota
from volmgr_common.db import services as services_db

RABBIT_URL_ENV = "VOLMGR_TEST_RABBIT_URL"
PG_URL_ENV = "VOLMGR_TEST_PG_URL"
RABBIT_MGMT_URL_ENV = "VOLMGR_TEST_RABBIT_MGMT_URL"
DEFAULT_RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

API = "volmgr-api"
SCHEDULER = "volmgr-scheduler"
VOLUME = "volmgr-volume"
MANAGE = "volmgr-manage"

MANAGING = "managing"
STOP_TIMEOUT = 15.0
# How long a daemon may take to serve after its start, and a volmgr-manage command to
# finish, before it counts as hung: guards, not bounds on speed (the fault tests time
# recovery from the moment a restarted daemon serves). On a two-core host kept busy
# by other work (the other test layers run alongside), volmgr-api took 31 s to serve
# and "db sync" of a fresh PostgreSQL database over 60 s.
READY_TIMEOUT = 90.0
MANAGE_TIMEOUT = 180.0
REPORT_INTERVAL = 1
# A daemon stops heartbeating at SIGTERM and exits about 3 s later (more on a loaded
# host). A request sent right after a volume service exited must still find it "up":
# the API and the scheduler refuse a backend whose last heartbeat is older than this.
SERVICE_DOWN_TIME = 15
# oslo.messaging's rabbit listener sees a stop only when its wait on the socket ends:
# up to heartbeat_timeout_threshold / heartbeat_rate / 2 seconds, 5 s at most (10 s
# at the defaults, 60 and 3). At a rate of 30 that wait is 1 s, so a daemon exits
# about 1 s after SIGTERM instead of up to 5 s; the threshold, and so when a dead
# broker counts as gone, stays the default (idle connections send a heartbeat every
# 2 s instead of every 20 s).
HEARTBEAT_RATE = 30

HOW_TO_START_RABBIT = (
    "start RabbitMQ with 'rabbitmq-server -detached' (or "
    "'docker compose -f tools/compose.yaml up -d'), or point "
    f"{RABBIT_URL_ENV} at a running broker"
)
HOW_TO_START_PG = (
    "start PostgreSQL with "
    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' (or "
    f"'docker compose -f tools/compose.yaml up -d'), or point {PG_URL_ENV} at a running server"
)

T = TypeVar("T")


class IntegrationSetupError(Exception):
    """The environment cannot run the integration tests; the message says why and how."""


# -- environment ------------------------------------------------------------------------


def rabbit_url() -> str:
    return os.environ.get(RABBIT_URL_ENV) or DEFAULT_RABBIT_URL


def pg_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def _netloc_hosts(url: str, default_port: int) -> list[tuple[str, int]]:
    """``(host, port)`` of every server a URL names (``user:pw@h1:p1,h2:p2``)."""
    netloc = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    hosts = []
    for part in netloc.split(","):
        parsed = urllib.parse.urlsplit(f"//{part}")
        hosts.append((parsed.hostname or "127.0.0.1", parsed.port or default_port))
    return hosts


def tcp_reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_services_reachable() -> None:
    """Raise :class:`IntegrationSetupError` unless the broker and the database answer."""
    problems = []
    rabbit_hosts = _netloc_hosts(rabbit_url(), 5672)
    if not any(tcp_reachable(h, p) for h, p in rabbit_hosts):
        where = ", ".join(f"{h}:{p}" for h, p in rabbit_hosts)
        problems.append(f"RabbitMQ is not reachable at {where}: {HOW_TO_START_RABBIT}")
    pg = sa.make_url(pg_url())
    pg_host, pg_port = pg.host or "127.0.0.1", pg.port or 5432
    if not tcp_reachable(pg_host, pg_port):
        problems.append(f"PostgreSQL is not reachable at {pg_host}:{pg_port}: {HOW_TO_START_PG}")
    if problems:
        raise IntegrationSetupError("; ".join(problems))


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# -- RabbitMQ vhost ---------------------------------------------------------------------


def with_vhost(url: str, vhost: str) -> str:
    """``url`` with its virtual host replaced by ``vhost``."""
    parts = urllib.parse.urlsplit(url)
    path = "/" + urllib.parse.quote(vhost, safe="")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _is_local(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


class RabbitVhost:
    """A throwaway vhost: made with ``rabbitmqctl`` or, failing that, the HTTP API."""

    def __init__(self, url: str) -> None:
        self.base_url = url
        parts = urllib.parse.urlsplit(url)
        self.user = urllib.parse.unquote(parts.username or "guest")
        self.password = urllib.parse.unquote(parts.password or "guest")
        self.host = parts.hostname or "127.0.0.1"
        self.name = unique_name("volmgr-it-")
        self.url = with_vhost(url, self.name)
        self._delete: Callable[[], None] | None = None

    def create(self) -> None:
        errors = []
        ctl = shutil.which("rabbitmqctl")
        if ctl and _is_local(self.host):
            try:
                self._rabbitmqctl(ctl, "add_vhost", self.name)
                self._delete = lambda: self._rabbitmqctl(ctl, "delete_vhost", self.name)
                self._rabbitmqctl(
                    ctl, "set_permissions", "-p", self.name, self.user, ".*", ".*", ".*"
                )
                return
            except (OSError, subprocess.SubprocessError) as error:
                stderr = getattr(error, "stderr", None) or ""
                errors.append(f"rabbitmqctl: {error} {stderr.strip()}".strip())
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    self.delete()
        else:
            errors.append("rabbitmqctl: not installed or the broker is not local")
        mgmt = os.environ.get(RABBIT_MGMT_URL_ENV) or f"http://{self.host}:15672"
        try:
            quoted = urllib.parse.quote(self.name, safe="")
            self._http(mgmt, "PUT", f"/api/vhosts/{quoted}", {})
            self._delete = lambda: self._http(mgmt, "DELETE", f"/api/vhosts/{quoted}")
            self._http(
                mgmt,
                "PUT",
                f"/api/permissions/{quoted}/{urllib.parse.quote(self.user, safe='')}",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )
            return
        except (OSError, urllib.error.URLError) as error:
            errors.append(f"management API at {mgmt}: {error}")
        raise IntegrationSetupError(
            "cannot create a throwaway RabbitMQ vhost (the tests need one: topics and "
            "queues of the default vhost cannot be made unique per run). Tried "
            + "; ".join(errors)
            + ". Run the tests on the broker's host with rabbitmqctl, or enable the "
            "management plugin ('rabbitmq-plugins enable rabbitmq_management') and set "
            f"{RABBIT_MGMT_URL_ENV}."
        )

    def delete(self) -> None:
        if self._delete is not None:
            self._delete()
            self._delete = None

    @staticmethod
    def _rabbitmqctl(ctl: str, *args: str) -> None:
        subprocess.run([ctl, "-q", *args], check=True, capture_output=True, text=True, timeout=60)

    def _http(self, base: str, method: str, path: str, body: Any = None) -> None:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10):
            pass


# -- PostgreSQL database ----------------------------------------------------------------


def _pg_execute(server_url: str | sa.URL, statement: str) -> None:
    """Run one statement as the server's admin (autocommit), through psycopg."""
    conninfo = (
        sa.make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


def pg_cut_off(server_url: str | sa.URL, name: str) -> None:
    """An outage of database ``name`` only: refuse new connections, end the open ones."""
    _pg_execute(server_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    pg_end_sessions(server_url, name)


def pg_reopen(server_url: str | sa.URL, name: str) -> None:
    """End an outage made by :func:`pg_cut_off`."""
    _pg_execute(server_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def pg_end_sessions(server_url: str | sa.URL, name: str) -> None:
    """End every open session of database ``name`` (its clients see a lost connection)."""
    _pg_execute(
        server_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )


def pg_read_only(server_url: str | sa.URL, name: str, on: bool, end_sessions: bool) -> None:
    """Make new sessions of database ``name`` read-only (or writable again).

    The setting applies to sessions opened after it; with ``end_sessions`` the open
    ones are ended, so that their clients reconnect into it.
    """
    value = "on" if on else "off"
    _pg_execute(server_url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
    if end_sessions:
        pg_end_sessions(server_url, name)


class PostgresDatabase:
    """A throwaway database on the server of ``url`` (CREATE / DROP ... WITH (FORCE)).

    With ``template`` (the name of a database on that server that nobody is connected
    to), it is made as a copy of that one, schema and rows.
    """

    def __init__(self, url: str, template: str | None = None) -> None:
        self.admin_url = sa.make_url(url)
        self.name = unique_name("volmgr_it_")
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.template = template

    def create(self) -> None:
        copy = f' TEMPLATE "{self.template}"' if self.template else ""
        try:
            _pg_execute(self.admin_url, f'CREATE DATABASE "{self.name}"{copy}')
        except psycopg.OperationalError as error:
            raise IntegrationSetupError(
                f"cannot connect to PostgreSQL at {self.admin_url.render_as_string()}: "
                f"{str(error).strip()}; {HOW_TO_START_PG}"
            ) from error

    def drop(self) -> None:
        _pg_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def cut_off(self) -> None:
        """An outage of this database only (:func:`pg_cut_off`)."""
        pg_cut_off(self.admin_url, self.name)

    def reopen(self) -> None:
        """End an outage made by :meth:`cut_off`."""
        pg_reopen(self.admin_url, self.name)

    def read_only(self, on: bool, end_sessions: bool = True) -> None:
        """New sessions read-only, or writable again (:func:`pg_read_only`)."""
        pg_read_only(self.admin_url, self.name, on, end_sessions)


def open_database(config_file: Path) -> db_api.Database:
    """An in-process handle on the shared database, for checks the RPC API cannot make.

    The URL comes from a config file, not ``set_override``: overrides of option groups
    are shared by every ``ConfigOpts`` of the process.
    """
    conf = startup.new_conf()
    conf(
        ["--config-file", str(config_file)],
        project=None,
        default_config_files=[],
        default_config_dirs=[],
    )
    return db_api.Database(conf)


# -- config files and processes ---------------------------------------------------------


def bin_path(script: str) -> str:
    """A console script of the running venv (next to ``sys.executable``)."""
    path = os.path.join(os.path.dirname(sys.executable), script)
    if not os.path.exists(path):
        raise IntegrationSetupError(
            f"{path} does not exist: install volmgr into this environment (pip install -e .)"
        )
    return path


def run_manage(config_file: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``volmgr-manage --config-file F ARGS`` and return the finished process."""
    result = subprocess.run(
        [bin_path(MANAGE), "--config-file", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"volmgr-manage {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Call ``probe`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Daemon:
    """One volmgr daemon process started from its console script and its config file.

    With ``fault_markers`` set, the console script's entry point runs through
    :mod:`tests.fault_launcher`, which loads the fault plugin first (its once-only
    markers in that directory).
    """

    name: str
    binary: str
    service_host: str
    config_file: Path
    log_file: Path
    out_file: Path
    fault_markers: Path | None = None
    proc: subprocess.Popen | None = None
    exit_codes: list[int] = field(default_factory=list)
    # The size of the log file when the running process was started: what it logs
    # comes after (see :meth:`log_text`).
    start_offset: int = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_size(self) -> int:
        """The size of the log file now, in bytes (0 before the first start)."""
        try:
            return self.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, since: int = 0) -> str:
        """The log, or what was written to it after its first ``since`` bytes."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def output_text(self) -> str:
        try:
            return self.out_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log_text().splitlines()[-lines:])
        output = self.output_text().strip()
        if output:
            text += "\n--- stdout/stderr ---\n" + "\n".join(output.splitlines()[-lines:])
        return text or "(empty log)"

    def _started_since(self, log_offset: int) -> bool:
        """Whether the log says the daemon started, after its first ``log_offset`` bytes.

        (Only the new part is read: a long run's debug log holds many megabytes.)
        """
        return f"{self.binary} started on {self.service_host} " in self.log_text(log_offset)

    def start(self, db: db_api.Database | None = None, wait: bool = True) -> Daemon:
        """Start the process; with ``wait``, return once it serves RPC and heartbeats."""
        assert not self.running, f"{self.name} is already running"
        self.start_offset = self.log_size()
        with self.out_file.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command(),
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(db)
        return self

    def command(self) -> list[str]:
        """The console script with the config file (through the launcher, with the plugin)."""
        args = ["--config-file", str(self.config_file)]
        if self.fault_markers is None:
            return [bin_path(self.binary), *args]
        bin_path(self.binary)  # says how to install volmgr when it is not
        return fault_launcher.command(self.fault_markers, self.binary, *args)

    def _environment(self) -> dict[str, str] | None:
        if self.fault_markers is None:
            return None
        path = [str(fault_launcher.ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}

    def wait_ready(self, db: db_api.Database | None) -> None:
        """Wait until the process last started logged that it serves, and (with ``db``)
        is up there."""

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode} while starting:\n"
                    + self.tail()
                )
            if not self._started_since(self.start_offset):
                return False
            if db is None:
                return True
            try:
                row = services_db.get_by_host(
                    db, self.service_host, self.binary, down_time=SERVICE_DOWN_TIME
                )
            except Exception:
                return False
            return bool(row["is_up"])

        wait_until(ready, READY_TIMEOUT, f"{self.name} to register and serve")

    def terminate(self) -> None:
        """Send SIGTERM (if running); :meth:`stop` then waits for the exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to ``timeout``; SIGKILL as a last resort. Returns the exit code.

        Raises AssertionError unless the daemon exited 0 on its own within ``timeout``.
        """
        proc = self.proc
        if proc is None:
            return 0
        self.terminate()
        self.proc = None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            self.exit_codes.append(-signal.SIGKILL)
            raise AssertionError(
                f"{self.name} did not exit within {timeout:.0f}s of SIGTERM and was killed:\n"
                + self.tail()
            ) from None
        self.exit_codes.append(code)
        if code != 0:
            raise AssertionError(
                f"{self.name} exited with {code} after SIGTERM (expected 0):\n" + self.tail()
            )
        return code


def stop_all(daemons: list[Daemon]) -> list[str]:
    """Stop ``daemons`` together (SIGTERM to all, then wait); returns the problems."""
    for daemon in daemons:
        daemon.terminate()
    problems = []
    for daemon in daemons:
        try:
            daemon.stop()
        except AssertionError as error:
            problems.append(str(error))
    return problems


@dataclass
class DaemonFactory:
    """Writes per-daemon config files under ``base_dir`` and keeps every daemon it made.

    With ``fault_plugin``, every daemon it makes loads :mod:`tests.fault_plugin`, its
    markers under ``<state_path>/faults``.
    """

    base_dir: Path
    transport_url: str
    database_url: str
    fault_plugin: bool = False
    host: str = "itnode"
    daemons: list[Daemon] = field(default_factory=list)

    def config_sections(
        self,
        name: str,
        host: str | None = None,
        backend_name: str = "files",
        directory: Path | None = None,
        database_url: str | None = None,
        extra: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The config of daemon ``name``: every file it writes lives in ``base_dir/name``."""
        home = self.base_dir / name
        sections: dict[str, dict[str, Any]] = {
            "DEFAULT": {
                "transport_url": self.transport_url,
                "host": host or self.host,
                "state_path": home / "state",
                "report_interval": REPORT_INTERVAL,
                "service_down_time": SERVICE_DOWN_TIME,
                "capability_report_interval": 2,
                "log_file": home / f"{name}.log",
                "debug": True,
            },
            "database": {"connection": database_url or self.database_url},
            "volume": {"backend_name": backend_name, "volume_driver": "file"},
            "file_backend": {"directory": directory or home / "files"},
            "oslo_messaging_notifications": {"driver": "messagingv2"},
            "oslo_messaging_rabbit": {"heartbeat_rate": HEARTBEAT_RATE},
            "api": {"bind_port": 0},  # the REST server of volmgr-api on a free port
        }
        for section, options in (extra or {}).items():
            sections.setdefault(section, {}).update(options)
        return sections

    def write_config(self, name: str, **kwargs: Any) -> Path:
        return write_config(
            self.base_dir / name / f"{name}.conf", self.config_sections(name, **kwargs)
        )

    def create(self, binary: str, name: str | None = None, **kwargs: Any) -> Daemon:
        """A daemon of ``binary`` (not started); ``kwargs`` go to :meth:`config_sections`."""
        name = name or binary
        sections = self.config_sections(name, **kwargs)
        config_file = write_config(self.base_dir / name / f"{name}.conf", sections)
        host = str(sections["DEFAULT"]["host"])
        if binary == VOLUME:
            host = f"{host}@{sections['volume']['backend_name']}"
        daemon = Daemon(
            name=name,
            binary=binary,
            service_host=host,
            config_file=config_file,
            log_file=Path(sections["DEFAULT"]["log_file"]),
            out_file=self.base_dir / name / f"{name}.out",
            fault_markers=(
                Path(sections["DEFAULT"]["state_path"]) / "faults" if self.fault_plugin else None
            ),
        )
        self.daemons.append(daemon)
        return daemon

    def stop_all(self) -> list[str]:
        """Stop every running daemon; returns the problems (empty when all exited 0)."""
        return stop_all(self.daemons)


# -- RPC client -------------------------------------------------------------------------


class ApiClient:
    """Talks to ``volmgr-api`` over RPC like another service would."""

    def __init__(self, transport_url: str, timeout: int = 30) -> None:
        self.conf: cfg.ConfigOpts = startup.new_conf()
        self.conf([], project=None, default_config_files=[], default_config_dirs=[])
        self.conf.set_override("transport_url", transport_url)
        self.messaging = rpc.Messaging(self.conf, "test-client")
        self.api = api_rpcapi.ApiAPI(self.messaging, timeout=timeout)

    def close(self) -> None:
        self.messaging.cleanup()

    @staticmethod
    def context(project_id: str | None = None, user_id: str = "it-user") -> RequestContext:
        """An admin context of a project of its own (new request id each time)."""
        return RequestContext(
            user_id=user_id, project_id=project_id or unique_name("it-"), roles=["admin"]
        )

    def manage(
        self, ctxt: RequestContext, host: str, source_name: str, **kwargs: Any
    ) -> dict[str, Any]:
        return self.api.manage_existing(ctxt, host, {"source-name": source_name}, **kwargs)

    def get_volume(self, ctxt: RequestContext, volume_id: str) -> dict[str, Any]:
        return self.api.get_volume(ctxt, volume_id)

    def wait_for_terminal(
        self, volume_id: str, timeout: float = 30.0, ctxt: RequestContext | None = None
    ) -> dict[str, Any]:
        """Poll ``get_volume`` until the volume is no longer ``managing``.

        Polls as an admin of no project unless ``ctxt`` is given.
        """
        ctxt = ctxt or self.context(project_id="it-admin")

        def probe() -> dict[str, Any] | None:
            volume = self.api.get_volume(ctxt, volume_id)
            return volume if volume["status"] != MANAGING else None

        return wait_until(probe, timeout, f"volume {volume_id} to leave {MANAGING}", 0.1)

    def wait_all_terminal(
        self, volume_ids: list[str], timeout: float = 60.0
    ) -> dict[str, dict[str, Any]]:
        """Poll until every volume left ``managing``; returns them by id."""
        ctxt = self.context(project_id="it-admin")
        done: dict[str, dict[str, Any]] = {}

        def probe() -> bool:
            for volume_id in volume_ids:
                if volume_id not in done:
                    volume = self.api.get_volume(ctxt, volume_id)
                    if volume["status"] != MANAGING:
                        done[volume_id] = volume
            return len(done) == len(volume_ids)

        try:
            wait_until(probe, timeout, "every volume to leave managing", 0.2)
        except AssertionError as error:
            left = sorted(set(volume_ids) - set(done))
            raise AssertionError(f"{error}: {len(left)} still managing: {left}") from None
        return done


# -- checks on the database -------------------------------------------------------------


def quota_usage(db: db_api.Database, project_id: str) -> dict[str, dict[str, int]]:
    """``{resource: {in_use, reserved, limit}}`` of a project, read from the database."""
    conf = startup.new_conf()
    conf([], project=None, default_config_files=[], default_config_dirs=[])
    return quota.usage(db, project_id, quota.DefaultLimits.from_conf(conf))


def user_messages(db: db_api.Database, volume_id: str) -> list[dict[str, Any]]:
    return messages_db.list_for(db, resource_uuid=volume_id)


@contextlib.contextmanager
def started(daemons: list[Daemon], db: db_api.Database) -> Iterator[list[Daemon]]:
    """Start ``daemons`` together, wait until all serve, stop them all afterwards."""
    problems: list[str] = []
    try:
        for daemon in daemons:
            daemon.start(wait=False)
        for daemon in daemons:
            daemon.wait_ready(db)
        yield daemons
    finally:
        problems = stop_all(daemons)
    if problems:
        raise AssertionError("\n".join(problems))
