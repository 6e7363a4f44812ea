"""Daemon lifecycle: RPC server, heartbeat, periodic tasks, clean stop on SIGTERM.

A :class:`Service` registers itself in the services table, serves its RPC endpoints
with oslo.messaging's threading executor and runs periodic tasks in threads. A
member of a cluster serves the same endpoints under the cluster's name too (a
second server on the same topic), so that each message sent to the cluster is
taken by one of its members. On
SIGTERM or SIGINT, :func:`serve` stops taking new messages, waits for the requests
in progress to finish, then closes the connections. On SIGHUP it re-reads the
options marked mutable (``volmgr_common.conf.startup.reload_mutable``).

A periodic task that keeps failing (the scheduler away, the broker or the database
unavailable) says so in one line — what failed, why, when it runs again — repeated
with back-off: a failure is logged when the failures in a row reach 1, 2, 4, 8, …
and at least every ``[DEFAULT] periodic_retry_max_interval`` seconds; a task marked
``backoff`` also waits twice as long after each failure, up to that cap. One line
says when it works again. The traceback of an error that is not expected of a
sick infrastructure is logged once per streak of failures; the expected ones (a
volmgr error, a messaging error) need none.
"""

import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import oslo_messaging
from oslo_log import log as logging
from prometheus_client.registry import Collector

from volmgr_common import exception, rpc
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db

LOG = logging.getLogger(__name__)

# Failures of a periodic task that a sick infrastructure explains: one line, no traceback.
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (
    exception.VolmgrException,
    oslo_messaging.MessagingException,
)


@dataclass
class PeriodicTask:
    """A function called every ``interval`` seconds (first call at start if ``run_at_start``).

    With ``jitter``, a random number of seconds up to it is added to each wait, so
    that the services of many hosts do not run the task at the same moment.

    With ``backoff``, the wait after each failure in a row doubles, up to the
    service's ``retry_max_interval``; without, the task keeps its interval (the
    heartbeat must not fall silent longer than the failure lasts).
    """

    name: str
    interval: float
    function: Callable[[], None]
    run_at_start: bool = True
    backoff: bool = False
    jitter: float = 0.0

    def jittered(self, wait: float) -> float:
        """``wait`` plus this task's jitter, chosen at random."""
        return wait + random.uniform(0, self.jitter) if self.jitter > 0 else wait


@dataclass
class _Streak:
    """The failures in a row of one periodic task, and when its last line was logged."""

    failures: int = 0
    logged_at: float = 0.0

    def should_log(self, now: float, max_interval: float) -> bool:
        """Log the failures numbered 1, 2, 4, 8, … and at least every ``max_interval``."""
        power_of_two = self.failures & (self.failures - 1) == 0
        return power_of_two or now - self.logged_at >= max_interval


def _summary(error: BaseException) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


@dataclass
class Service:
    """One RPC service of a process: what it serves and what it does periodically."""

    binary: str
    topic: str
    host: str
    availability_zone: str
    endpoints: list[Any]
    messaging: rpc.Messaging
    db: db_api.Database
    report_interval: float
    periodic_tasks: list[PeriodicTask] = field(default_factory=list)
    on_start: Callable[[], None] | None = None
    # Threads of the RPC server's executor (None: ``[DEFAULT] executor_thread_pool_size``).
    executor_threads: int | None = None
    # Servers with start()/stop() (the REST API's HTTP server) that run beside the RPC
    # server: started after it, stopped before it.
    extra_servers: list[Any] = field(default_factory=list)
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # ``[DEFAULT] periodic_retry_max_interval``: the cap of a failing task's back-off.
    retry_max_interval: float = 60.0
    # The version of the RPC API its endpoint answers, recorded in the services table.
    rpc_version: str | None = None
    # The server name of the cluster this service is a member of (None: none).
    cluster: str | None = None
    # Prometheus collectors of this service's own, served with the daemon's metrics.
    metrics_collectors: list[Collector] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: list[Any] = []
        self.service_id: int | None = None

    def start(self) -> None:
        self.service_id = services_db.register(
            self.db,
            self.host,
            self.binary,
            self.topic,
            self.availability_zone,
            self.rpc_version,
            self.cluster,
        )
        if self.on_start is not None:
            self.on_start()
        names = [self.host] if self.cluster in (None, self.host) else [self.host, self.cluster]
        for name in names:
            server = self.messaging.server(self.topic, name, self.endpoints)
            server.start(override_pool_size=self.executor_threads)
            self._servers.append(server)
        self._start_extra_servers()
        heartbeat = PeriodicTask("heartbeat", self.report_interval, self._heartbeat, False)
        for task in [heartbeat, *self.periodic_tasks]:
            thread = threading.Thread(
                target=self._loop, args=(task,), name=f"{self.binary}-{task.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        cluster = f", cluster {self.cluster}" if self.cluster else ""
        LOG.info(
            "%s started on %s (topic %s%s, instance %s)",
            self.binary,
            self.host,
            self.topic,
            cluster,
            self.instance_id,
        )

    def _start_extra_servers(self) -> None:
        started: list[Any] = []
        try:
            for server in self.extra_servers:
                server.start()
                started.append(server)
        except Exception:
            for server in reversed(started):
                server.stop()
            self._stop_rpc_servers()
            raise

    def _stop_rpc_servers(self) -> None:
        # Each stop waits for its listener's poll to notice (up to 5 s in
        # oslo.messaging's rabbit driver): side by side, not one after another.
        all_at_once([server.stop for server in self._servers])
        all_at_once([server.wait for server in self._servers])
        self._servers.clear()

    def _heartbeat(self) -> None:
        assert self.service_id is not None
        services_db.heartbeat(self.db, self.service_id)

    def _loop(self, task: PeriodicTask) -> None:
        streak = _Streak()
        wait = 0.0 if task.run_at_start else task.jittered(task.interval)
        while not self._stop.wait(wait):
            wait = task.jittered(self._run_once(task, streak))

    def _run_once(self, task: PeriodicTask, streak: _Streak) -> float:
        """Run ``task`` once; returns the seconds to wait before its next run."""
        try:
            task.function()
        except Exception as error:
            streak.failures += 1
            wait = task.interval
            if task.backoff:
                wait = min(
                    max(self.retry_max_interval, task.interval), task.interval * 2**streak.failures
                )
            self._log_failure(task, streak, error, wait)
            return wait
        if streak.failures:
            LOG.info("Periodic task %s works again after %d failures", task.name, streak.failures)
            streak.failures = 0
        return task.interval

    def _log_failure(
        self, task: PeriodicTask, streak: _Streak, error: Exception, wait: float
    ) -> None:
        now = time.monotonic()
        expected = isinstance(error, EXPECTED_FAILURES)
        if not streak.should_log(now, self.retry_max_interval):
            LOG.debug("Periodic task %s failed again: %s", task.name, _summary(error))
            return
        streak.logged_at = now
        LOG.warning(
            "Periodic task %s failed (%d in a row): %s; next attempt in %.0fs",
            task.name,
            streak.failures,
            _summary(error),
            wait,
            exc_info=not expected and streak.failures == 1,  # the unexpected: once a streak
        )

    def stop(self) -> None:
        """Stop taking messages, let handlers in progress finish, stop periodic tasks."""
        self._stop.set()
        for server in reversed(self.extra_servers):
            server.stop()
        self._stop_rpc_servers()
        for thread in self._threads:
            thread.join(timeout=60)  # a recovery flow in progress finishes
        LOG.info("%s on %s stopped", self.binary, self.host)


# How long stopping may take, unless the caller says (``[DEFAULT] graceful_shutdown_timeout``).
STOP_TIMEOUT = 10.0


def serve(
    services: Sequence[Service],
    cleanup: Callable[[], None],
    on_reload: Callable[[], None] | None = None,
    stop_timeout: float = STOP_TIMEOUT,
) -> bool:
    """Start ``services``, block until SIGTERM/SIGINT, then stop them and ``cleanup``.

    SIGHUP calls ``on_reload`` (re-reading the mutable options) in the main loop,
    never inside the signal handler; the services keep running.

    Stopping (every service, then ``cleanup``) gets ``stop_timeout`` seconds in all.
    Returns False when it did not finish in that time: the caller should exit
    without waiting for the threads still stuck (see ``_bounded``).
    """
    stopping = threading.Event()
    reloading = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        LOG.info("Received %s, stopping", signal.Signals(signum).name)
        stopping.set()
        # A second signal while stopping must not cut the clean stop short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _on_hangup(_signum: int, _frame: Any) -> None:
        reloading.set()

    previous = {
        signum: signal.signal(signum, handler)
        for signum, handler in (
            (signal.SIGTERM, _on_signal),
            (signal.SIGINT, _on_signal),
            (signal.SIGHUP, _on_hangup),
        )
    }
    started: list[Service] = []

    def stop_everything() -> None:
        all_at_once([service.stop for service in reversed(started)])
        cleanup()

    try:
        for service in services:
            service.start()
            started.append(service)
        while not stopping.wait(0.5):
            if reloading.is_set():
                reloading.clear()
                if on_reload is not None:
                    on_reload()
    finally:
        stopped = _bounded(stop_everything, stop_timeout)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return stopped


def _in_thread(call: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    """Start ``call`` in a daemon thread; an error it raises goes to ``errors``, for the
    caller to raise again in its own thread."""

    def run() -> None:
        try:
            call()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def all_at_once(calls: Sequence[Callable[[], object]]) -> None:
    """Run ``calls`` side by side, each in a thread, and wait for all of them; raise
    the first error any of them raised."""
    if len(calls) <= 1:
        for call in calls:
            call()
        return
    errors: list[BaseException] = []
    for thread in [_in_thread(call, errors) for call in calls]:
        thread.join()
    if errors:
        raise errors[0]


def _bounded(stop: Callable[[], None], timeout: float) -> bool:
    """Run ``stop`` for at most ``timeout`` seconds; False if it was given up.

    Stopping waits for oslo.messaging: an RPC server's ``wait`` closes its listener
    connection and the transport cleanup waits for the reply poller, and either can
    sit in a broker read or a reconnect loop long after every message was handled (a
    broker that closed the connections, or went away, while stopping). Nothing is lost
    by not waiting: every flow is persisted step by step and resumes or reverts at the
    next start. ``stop`` runs in a daemon thread so the process can still exit.
    """
    errors: list[BaseException] = []
    stopper = _in_thread(stop, errors)
    stopper.join(timeout)
    if errors:
        raise errors[0]
    if stopper.is_alive():
        LOG.warning(
            "Stopping took over %.0fs (graceful_shutdown_timeout); exiting without waiting "
            "for the rest",
            timeout,
        )
        return False
    return True
