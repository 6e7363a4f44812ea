"""Backend states the scheduler decides on: capabilities, pools, heartbeats.

Capabilities arrive by fanout from every volume service and are kept in memory; a
scheduler that has not heard from a backend yet reads the last report the service
stored in the database, so a freshly started scheduler can decide at once. The
service row (heartbeat, disabled) read for a backend serves the requests of the
next second too (:mod:`volmgr_common.cache`).

A cluster (``cluster@backend``) is one backend: its members report under the
cluster's name, and it is up while any enabled member is
(``services.get_backend``).
"""

import dataclasses
import threading
import time
from typing import Any

from oslo_config import cfg

from volmgr_common import cache, exception
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db

VOLUME_BINARY = "volmgr-volume"


@dataclasses.dataclass
class PoolState:
    """What one pool of a backend reported, plus the service's health."""

    backend: str
    pool_name: str
    availability_zone: str
    service_up: bool
    service_disabled: bool
    capabilities: dict[str, Any]

    @property
    def host(self) -> str:
        return f"{self.backend}#{self.pool_name}"

    def capacity(self, key: str) -> float | str | None:
        return self.capabilities.get(key)


class HostManager:
    """Keeps the newest capability report of every backend."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        self._conf = conf
        self._db = db
        self._reports: dict[str, tuple[float, dict[str, Any]]] = {}
        self._services: cache.ShortLivedCache[dict[str, Any]] = cache.ShortLivedCache()
        self._lock = threading.Lock()

    def update(self, backend: str, capabilities: dict[str, Any]) -> None:
        with self._lock:
            self._reports[backend] = (time.monotonic(), capabilities)

    def _fresh_report(self, backend: str) -> dict[str, Any] | None:
        with self._lock:
            received = self._reports.get(backend)
        if received and time.monotonic() - received[0] <= self._conf.scheduler.capability_max_age:
            return received[1]
        return None

    def _service(self, backend: str) -> dict[str, Any]:
        """The backend's service row, read at most once per ``cache.ROW_TTL``."""
        return self._services.get(
            backend,
            lambda: services_db.get_backend(
                self._db, backend, VOLUME_BINARY, down_time=self._conf.service_down_time
            ),
        )

    def pool_states(self, backend: str) -> list[PoolState]:
        """Every pool of ``backend``; empty if the service is unknown or reports nothing."""
        try:
            service = self._service(backend)
        except exception.ServiceNotFound:
            return []
        capabilities = self._fresh_report(backend) or service["capabilities"] or {}
        zone = capabilities.get("availability_zone") or service["availability_zone"]
        common = {k: v for k, v in capabilities.items() if k != "pools"}
        return [
            PoolState(
                backend=backend,
                pool_name=pool["pool_name"],
                availability_zone=zone,
                service_up=service["is_up"],
                service_disabled=service["disabled"],
                capabilities={**common, **pool},
            )
            for pool in capabilities.get("pools", [])
        ]
