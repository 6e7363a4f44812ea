"""The running services of a functional test and the handles a test drives them with.

``Stack`` is what the ``stack`` fixture (see ``conftest.py``) yields: the API,
scheduler and volume services of volmgr-all, started in this process on one
in-memory broker and one SQLite file, plus an ``ApiAPI`` client, a notification
listener and helpers that read what a user would see (volume rows, quota usage,
user messages, files on the backend).
"""

import collections
import concurrent.futures
import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import oslo_messaging as messaging
from kombu.transport import memory
from oslo_config import cfg

from volmgr_api import manager as api_manager
from volmgr_api import rpcapi as api_rpcapi
from volmgr_api import service as api_service
from volmgr_common import context, rpc, service
from volmgr_common.db import api as db_api
from volmgr_common.db import messages as messages_db
from volmgr_common.db import quota, volume_record
from volmgr_common.db import volumes as volumes_db
from volmgr_scheduler import manager as scheduler_manager
from volmgr_scheduler import service as scheduler_service
from volmgr_volume import manager as volume_manager
from volmgr_volume import service as volume_service

PROJECT = "project-a"
GIB = 1024**3
WAIT_SECONDS = 10.0
CONTENT = b"volmgr functional test data"


def reset_memory_broker() -> None:
    """Forget every queue, exchange and binding of kombu's process-wide memory broker."""
    memory.Channel.queues.clear()
    memory.Channel.events.clear()
    memory.Transport.global_state.clear()


class NotificationCollector:
    """Notification listener endpoint that keeps what it hears, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def _record(self, priority: str, publisher_id: str, event_type: str, payload: Any) -> None:
        with self._changed:
            self.events.append(
                {
                    "priority": priority,
                    "publisher_id": publisher_id,
                    "event_type": event_type,
                    "payload": payload,
                }
            )
            self._changed.notify_all()

    def info(
        self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: Any
    ) -> None:
        self._record("INFO", publisher_id, event_type, payload)

    def error(
        self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: Any
    ) -> None:
        self._record("ERROR", publisher_id, event_type, payload)

    def for_volume(self, volume_id: str) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e["payload"].get("volume_id") == volume_id]

    def event_types(self, volume_id: str) -> list[str]:
        return [e["event_type"] for e in self.for_volume(volume_id)]

    def counts(self, volume_id: str) -> collections.Counter[str]:
        """How often each event was heard about ``volume_id``. (The listener's workers
        may record two deliveries in either order, so tests compare counts.)"""
        return collections.Counter(self.event_types(volume_id))

    def wait_for(
        self, volume_id: str, event_type: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        """The first ``event_type`` notification about ``volume_id`` (waits for it)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.for_volume(volume_id):
                    if event["event_type"] == event_type:
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no {event_type} for {volume_id}; got {self.event_types(volume_id)}"
                    )
                self._changed.wait(remaining)


@dataclasses.dataclass
class Stack:
    """Running services and the handles a test drives them with."""

    conf: cfg.ConfigOpts
    db: db_api.Database
    messaging: rpc.Messaging
    listener: Any
    services: list[service.Service]
    api: api_rpcapi.ApiAPI
    ctxt: context.RequestContext
    files: Path
    notifications: NotificationCollector

    @classmethod
    def start_all(cls, conf: cfg.ConfigOpts, db: db_api.Database) -> "Stack":
        """Start the listener, then the API, scheduler and file volume service."""
        msg = rpc.Messaging(conf, publisher="volmgr-functional")
        collector = NotificationCollector()
        listener = messaging.get_notification_listener(
            msg.notification_transport,
            [messaging.Target(topic="notifications")],
            [collector],
            executor="threading",
        )
        listener.start()
        stack = cls(
            conf=conf,
            db=db,
            messaging=msg,
            listener=listener,
            services=[],
            api=api_rpcapi.ApiAPI(msg, timeout=int(WAIT_SECONDS)),
            ctxt=context.RequestContext(user_id="user-a", project_id=PROJECT, roles=["member"]),
            files=Path(conf.file_backend.directory),
            notifications=collector,
        )
        try:
            for build in (api_service.build, scheduler_service.build, volume_service.build):
                stack.start(build(conf, db, msg))
        except BaseException:
            stack.stop()
            raise
        return stack

    def start(self, svc: service.Service) -> service.Service:
        svc.start()
        self.services.append(svc)
        return svc

    def stop(self) -> None:
        """Stop every service and the listener (side by side), then close the transports."""

        def stop_listener() -> None:
            self.listener.stop()
            self.listener.wait()

        with concurrent.futures.ThreadPoolExecutor(len(self.services) + 1) as pool:
            futures = [pool.submit(svc.stop) for svc in self.services]
            futures.append(pool.submit(stop_listener))
            for future in futures:
                future.result()
        self.messaging.cleanup()

    # -- the services' endpoints, for delivering a message by hand ---------------------

    @property
    def backend(self) -> str:
        """``host@backend`` of the file-backed volume service."""
        return volume_service.backend_host(self.conf)

    def endpoint(self, binary: str, host: str | None = None) -> Any:
        for svc in self.services:
            if svc.binary == binary and (host is None or svc.host == host):
                return svc.endpoints[0]
        raise LookupError(f"no {binary} service on {host}")

    def api_manager(self) -> api_manager.ApiManager:
        return self.endpoint(api_service.BINARY)

    def scheduler_manager(self) -> scheduler_manager.SchedulerManager:
        return self.endpoint(scheduler_service.BINARY)

    def volume_manager(self, host: str | None = None) -> volume_manager.VolumeManager:
        return self.endpoint(volume_service.BINARY, host or self.backend)

    # -- requests ----------------------------------------------------------------------

    def manage(self, source_name: str, **kwargs: Any) -> dict[str, Any]:
        """Ask the API (over RPC) to manage ``source_name`` on the file backend."""
        host = kwargs.pop("host", self.backend)
        ref = kwargs.pop("ref", {"source-name": source_name})
        return self.api.manage_existing(self.ctxt, host, ref, **kwargs)

    def wait_terminal(self, volume_id: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The volume once it has left ``managing``."""
        deadline = time.monotonic() + timeout
        while True:
            volume = volumes_db.get(self.db, volume_id)
            if volume["status"] != volume_record.MANAGING:
                return volume
            if time.monotonic() > deadline:
                raise AssertionError(f"volume {volume_id} still managing after {timeout}s")
            time.sleep(0.01)

    # -- what a user sees --------------------------------------------------------------

    def usage(self, project_id: str = PROJECT) -> dict[str, tuple[int, int]]:
        """``{resource: (in_use, reserved)}`` of every resource the project has."""
        values = quota.usage(self.db, project_id, quota.DefaultLimits.from_conf(self.conf))
        return {r: (u["in_use"], u["reserved"]) for r, u in values.items()}

    def in_use(self, project_id: str = PROJECT) -> dict[str, int]:
        """``{resource: in_use}`` of the resources in use, checking nothing is reserved."""
        usage = self.usage(project_id)
        assert {r: reserved for r, (_, reserved) in usage.items() if reserved} == {}
        return {r: in_use for r, (in_use, _) in usage.items() if in_use}

    def messages(self, volume_id: str) -> list[dict[str, Any]]:
        return messages_db.list_for(self.db, resource_uuid=volume_id)

    def volumes(self) -> list[dict[str, Any]]:
        return volumes_db.list_volumes(self.db)

    def listing(self) -> list[str]:
        return sorted(path.name for path in self.files.iterdir())


def make_file(path: Path, size: int, content: bytes = CONTENT) -> None:
    """A sparse file of ``size`` bytes that starts with ``content``."""
    with open(path, "wb") as image:
        image.write(content[:size])
        image.truncate(size)


def head(path: Path) -> bytes:
    """The first bytes of a (large, sparse) file, where ``make_file`` wrote."""
    with open(path, "rb") as image:
        return image.read(len(CONTENT))
