"""A RabbitMQ node of the fault suite's own, which a test may stop and start again.

The broker every other test uses is not restarted (its clients would all be
disturbed). This node runs the same RabbitMQ server binary as the current user,
with its own node name, ports, data and logs under a directory of the suite, and
its own Erlang cookie (``HOME`` points there for the node and for ``rabbitmqctl``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.local_files import free_port

SERVER_CANDIDATES = ("/usr/lib/rabbitmq/bin/rabbitmq-server",)
CTL_CANDIDATES = ("/usr/lib/rabbitmq/bin/rabbitmqctl",)
START_TIMEOUT = 90.0

HOW_TO_GET_RABBITMQ = (
    "the broker-restart test runs a RabbitMQ node of its own: install the RabbitMQ "
    "server (Debian: apt-get install rabbitmq-server)"
)


class BrokerSetupError(Exception):
    """The private node cannot be started here; the message says why."""


def _find(candidates: tuple[str, ...], name: str) -> str:
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found is None:
        raise BrokerSetupError(f"{name} not found; {HOW_TO_GET_RABBITMQ}")
    return found


class PrivateBroker:
    """One RabbitMQ node: :meth:`start`, :meth:`stop`, :meth:`restart`."""

    def __init__(self, base_dir: Path) -> None:
        self.dir = base_dir
        self.node = f"volmgr-ft-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.server = _find(SERVER_CANDIDATES, "rabbitmq-server")
        self.ctl = _find(CTL_CANDIDATES, "rabbitmqctl")
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return dict(
            os.environ,
            HOME=str(self.dir),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.dir / "log"),
            RABBITMQ_PID_FILE=str(self.dir / "node.pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq"),
        )

    def ctl_run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.ctl, "-n", self.node, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = {self.port}\n")
        log = (self.dir / "server.out").open("ab")
        self.proc = subprocess.Popen(
            [self.server], env=self._env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.dir
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # await_startup fails at once while the node is not registered yet
            waited = self.ctl_run("await_startup", "--timeout", "10")
            if waited.returncode == 0 or time.monotonic() > deadline or self.proc.poll():
                break
            time.sleep(0.5)
        if waited.returncode != 0 or not self._accepts():
            tail = (self.dir / "server.out").read_text(errors="replace")[-2000:]
            self.kill()
            raise BrokerSetupError(
                f"RabbitMQ node {self.node} did not start: {waited.stderr.strip()}\n{tail}"
            )

    def _accepts(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the node as an operator would (``rabbitmqctl stop``) and wait for it."""
        if self.proc is None:
            return
        self.ctl_run("stop")
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None
        # The Erlang VM outlives the start script when it is killed: stop it by name.
        self.ctl_run("stop", timeout=30)

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1
