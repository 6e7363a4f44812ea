"""Plumbing of the benchmarks: throwaway vhosts and databases, daemons, /proc readings.

Everything here is loopback-only (RabbitMQ and PostgreSQL on 127.0.0.1) and every
resource it makes is registered on a :class:`Cleanup`, which undoes it in reverse
order at the end of a run — also after a failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tests.local_files import free_port as free_port
from tests.local_files import write_config as write_config

RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
PG_ADMIN_CONNINFO = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO_ROOT = Path(__file__).resolve().parents[1]


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# -- cleanup ----------------------------------------------------------------------------


class Cleanup:
    """Undo actions run last-in first-out; each runs once, errors are reported, not raised."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, action: Callable[[], None]) -> None:
        self._actions.append((what, action))

    def run(self) -> None:
        while self._actions:
            what, action = self._actions.pop()
            try:
                action()
            except Exception as error:  # cleanup must go on
                print(f"cleanup: {what} failed: {error}", file=sys.stderr)


@contextlib.contextmanager
def cleanup_on_exit() -> Iterator[Cleanup]:
    """A :class:`Cleanup` run at the end of the block; SIGTERM/SIGHUP end the block too."""
    cleanup = Cleanup()

    def _interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield cleanup
    finally:
        # A second Ctrl-C during cleanup would leave things behind: ignore it.
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cleanup.run()
        finally:
            signal.signal(signal.SIGINT, old_int)
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def temp_dir(cleanup: Cleanup, prefix: str, keep: bool = False) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if not keep:
        cleanup.push(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    return path


# -- RabbitMQ and PostgreSQL ------------------------------------------------------------


def _rabbitmqctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise BenchError("rabbitmqctl is not installed: the benchmark needs a local RabbitMQ")
    result = subprocess.run(
        [ctl, "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")


def make_vhost(cleanup: Cleanup, prefix: str = "volmgr-bench-") -> str:
    """A throwaway vhost on the local broker (deleted by ``cleanup``); returns its URL."""
    name = unique(prefix)
    _rabbitmqctl("add_vhost", name)
    cleanup.push(f"delete vhost {name}", lambda: _rabbitmqctl("delete_vhost", name))
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"{RABBIT_URL}{name}"


def make_pg_database(cleanup: Cleanup) -> str:
    """A throwaway PostgreSQL database (dropped by ``cleanup``); returns its SQLAlchemy URL."""
    import psycopg

    name = unique("volmgr_bench_")

    def execute(statement: str) -> None:
        with psycopg.connect(PG_ADMIN_CONNINFO, autocommit=True) as connection:
            connection.execute(statement)

    try:
        execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        raise BenchError(f"PostgreSQL at 127.0.0.1:5432 does not answer: {error}") from error
    cleanup.push(
        f"drop database {name}", lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )
    return PG_URL_TEMPLATE.format(name=name)


# -- config and processes ---------------------------------------------------------------


def bin_path(script: str) -> str:
    path = os.path.join(os.path.dirname(sys.executable), script)
    if not os.path.exists(path):
        raise BenchError(f"{path} does not exist: install volmgr into this venv (pip install -e .)")
    return path


def run_manage(config_file: Path, *args: str) -> str:
    """``volmgr-manage --config-file F ARGS``; raises BenchError unless it exits 0."""
    result = subprocess.run(
        [bin_path("volmgr-manage"), "--config-file", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"volmgr-manage {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


@dataclass
class Process:
    """A child process in its own session, stopped with SIGTERM (SIGKILL as a last resort)."""

    name: str
    argv: list[str]
    out_file: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    stop_timeout: float = STOP_TIMEOUT

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not started"
        return self.proc.pid

    def start(self, cleanup: Cleanup) -> Process:
        self.out_file.parent.mkdir(parents=True, exist_ok=True)
        env = dict(self.env if self.env is not None else os.environ)
        # ``python -m bench.*`` children find this checkout wherever they start.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        with self.out_file.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        cleanup.push(f"stop {self.name}", self.stop)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.out_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        proc = self.proc
        if proc is None or self.exit_code is not None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            self.exit_code = proc.wait(timeout=STOP_TIMEOUT)


@dataclass
class Daemon(Process):
    """A volmgr daemon run from its console script with one config file."""

    log_file: Path = field(default_factory=Path)
    binary: str = ""
    service_host: str = ""

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the daemon logged that it serves its topic."""
        marker = f"{self.binary} started on {self.service_host} "
        deadline = time.monotonic() + timeout
        while marker not in self.log_text():
            if not self.alive():
                raise BenchError(f"{self.name} exited while starting:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not start within {timeout:.0f}s")
            time.sleep(0.1)


def make_daemon(binary: str, home: Path, sections: Mapping[str, Mapping[str, Any]]) -> Daemon:
    config = write_config(home / f"{binary}.conf", sections)
    host = str(sections["DEFAULT"]["host"])
    if binary == "volmgr-volume":
        host = f"{host}@{sections['volume']['backend_name']}"
    return Daemon(
        name=binary,
        argv=[bin_path(binary), "--config-file", str(config)],
        out_file=home / f"{binary}.out",
        log_file=Path(str(sections["DEFAULT"]["log_file"])),
        binary=binary,
        service_host=host,
    )


def python_module(name: str, module: str, args: list[str], out_file: Path) -> Process:
    """A ``python -m module args`` child of the running interpreter."""
    return Process(name=name, argv=[sys.executable, "-m", module, *args], out_file=out_file)


# -- the REST API of a run --------------------------------------------------------------


class NoauthRest:
    """JSON calls to a volmgr-api started with ``auth_strategy = noauth``, as an admin
    of ``project``; each waits at most ``timeout`` seconds for its answer."""

    def __init__(self, port: int, project: str, timeout: float) -> None:
        self.base = f"http://127.0.0.1:{port}/v3/{project}"
        self.headers = {
            "X-Auth-Token": f"admin:{project}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.timeout = timeout

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (POST ``body`` when given); the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=self.headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            return json.load(answer)


# -- /proc readings ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # After the command: state is fields[0]; utime and stime are fields 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_by_command() -> dict[str, float]:
    """CPU seconds used so far by every process, summed by command name.

    Includes exited children of running processes (cutime/cstime) so that short-lived
    PostgreSQL backends are counted under their postmaster.
    """
    totals: dict[str, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rpartition(")")[2].split()
        used = sum(int(v) for v in fields[11:15]) / CLK_TCK
        totals[comm] = totals.get(comm, 0.0) + used
    return totals


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- looking at messages on the wire -----------------------------------------------------


class Tap:
    """A private queue bound to an exchange: copies of the messages sent to some keys.

    Used to measure the real size of a message body as RabbitMQ carries it. The
    queue is exclusive and goes away with the connection.
    """

    def __init__(self, url: str, exchange: str, routing_keys: list[str]) -> None:
        import kombu

        self._connection = kombu.Connection(url.replace("rabbit://", "amqp://"))
        self._channel = self._connection.channel()
        self.sizes: dict[str, list[int]] = {key: [] for key in routing_keys}
        self._queues = []
        for key in routing_keys:
            queue = kombu.Queue(
                unique("bench-tap-"),
                exchange=kombu.Exchange(exchange, type="topic", passive=True),
                routing_key=key,
                exclusive=True,
                auto_delete=True,
                channel=self._channel,
            )
            queue.declare()
            self._queues.append(queue)

    def collect(self, want: int = 1, timeout: float = 3.0) -> dict[str, list[int]]:
        """Take what reached the tap until every key has ``want`` messages or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for queue in self._queues:
                for _ in range(10_000):
                    message = queue.get(no_ack=True)
                    if message is None:
                        break
                    key = message.delivery_info["routing_key"]
                    self.sizes.setdefault(key, []).append(len(message.body))
            if all(len(sizes) >= want for sizes in self.sizes.values()):
                break
            time.sleep(0.05)
        return self.sizes

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.release()
