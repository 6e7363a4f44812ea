"""Daemon lifecycle: RPC server, heartbeat, periodic tasks, clean stop on SIGTERM.

A :class:`Service` registers itself in the services table, serves its RPC endpoints
with oslo.messaging's threading executor and runs periodic tasks in threads. On
SIGTERM or SIGINT, :func:`serve` stops taking new messages, waits for the requests
in progress to finish, then closes the connections.
"""

import signal
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from oslo_log import log as logging

from volmgr_common import rpc
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db

LOG = logging.getLogger(__name__)


@dataclass
class PeriodicTask:
    """A function called every ``interval`` seconds (first call at start if ``run_at_start``)."""

    name: str
    interval: float
    function: Callable[[], None]
    run_at_start: bool = True


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

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self.service_id: int | None = None

    def start(self) -> None:
        self.service_id = services_db.register(
            self.db, self.host, self.binary, self.topic, self.availability_zone
        )
        if self.on_start is not None:
            self.on_start()
        self._server = self.messaging.server(self.topic, self.host, self.endpoints)
        self._server.start(override_pool_size=self.executor_threads)
        self._start_extra_servers()
        heartbeat = PeriodicTask("heartbeat", self.report_interval, self._heartbeat, False)
        for task in [heartbeat, *self.periodic_tasks]:
            thread = threading.Thread(
                target=self._loop, args=(task,), name=f"{self.binary}-{task.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        LOG.info("%s started on %s (topic %s)", self.binary, self.host, self.topic)

    def _start_extra_servers(self) -> None:
        started: list[Any] = []
        try:
            for server in self.extra_servers:
                server.start()
                started.append(server)
        except Exception:
            for server in reversed(started):
                server.stop()
            self._server.stop()
            self._server.wait()
            raise

    def _heartbeat(self) -> None:
        assert self.service_id is not None
        services_db.heartbeat(self.db, self.service_id)

    def _loop(self, task: PeriodicTask) -> None:
        if task.run_at_start:
            self._run_once(task)
        while not self._stop.wait(task.interval):
            self._run_once(task)

    @staticmethod
    def _run_once(task: PeriodicTask) -> None:
        try:
            task.function()
        except Exception:
            LOG.exception("Periodic task %s failed; it runs again in %ss", task.name, task.interval)

    def stop(self) -> None:
        """Stop taking messages, let handlers in progress finish, stop periodic tasks."""
        self._stop.set()
        for server in reversed(self.extra_servers):
            server.stop()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        for thread in self._threads:
            thread.join(timeout=60)  # a recovery flow in progress finishes
        LOG.info("%s on %s stopped", self.binary, self.host)


def serve(services: Sequence[Service], cleanup: Callable[[], None]) -> None:
    """Start ``services``, block until SIGTERM/SIGINT, then stop them and ``cleanup``."""
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        LOG.info("Received %s, stopping", signal.Signals(signum).name)
        stopping.set()
        # A second signal while stopping must not cut the clean stop short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
        while not stopping.wait(1.0):
            pass
    finally:
        for service in reversed(started):
            service.stop()
        cleanup()
