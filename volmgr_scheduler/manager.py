"""volmgr-scheduler's RPC endpoint: place a managing volume on a backend that can take it.

The scheduler keeps no state per request: it records the chosen ``host#pool`` on
the row and casts to that backend's volume service. When no backend passes the
filters it casts ``manage_existing_failed`` to the API, which gives the quota back
and records the reason.
"""

from typing import Any

import oslo_messaging as messaging
import tenacity
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import exception, faults, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db import volumes as volumes_db
from volmgr_scheduler import filters, rpcapi
from volmgr_scheduler.host_manager import HostManager, PoolState
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


def _free(pool: PoolState) -> float:
    free = pool.capacity("free_capacity_gb")
    try:
        return float(free)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("inf")


class SchedulerManager:
    """RPC endpoint of ``volmgr-scheduler``."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        messaging_: rpc.Messaging,
        host_manager: HostManager,
    ) -> None:
        self._conf = conf
        self._db = db
        self._hosts = host_manager
        self._filters = filters.load_filters(conf.scheduler.enabled_filters)
        self._api = api_rpcapi.ApiAPI(messaging_)
        self._volume = volume_rpcapi.VolumeAPI(messaging_)

    @rpc.remote_boundary
    def update_service_capabilities(
        self, ctxt: RequestContext, host: str, capabilities: dict[str, Any]
    ) -> None:
        self._hosts.update(host, capabilities)

    @rpc.remote_boundary
    def manage_existing(
        self, ctxt: RequestContext, volume_id: str, request_spec: dict[str, Any]
    ) -> None:
        volume = self._load(volume_id)
        faults.check(self._conf, volume, "SchedulerReceive")
        if volume["status"] != volumes_db.MANAGING or volume["scheduled_at"]:
            LOG.info(
                "Volume %s is %s and %s; nothing to schedule",
                volume_id,
                volume["status"],
                "placed" if volume["scheduled_at"] else "not placed",
            )
            return
        try:
            pool = self.choose_pool(request_spec)
        except exception.NoValidBackend as error:
            LOG.warning("Volume %s cannot be placed: %s", volume_id, error)
            volumes_db.record_failure(self._db, volume_id, str(error))
            self._api.manage_existing_failed(ctxt, volume_id, str(error), stage="scheduler")
            return
        placed = volumes_db.update_if(
            self._db, volume_id, volumes_db.MANAGING, host=pool.host, scheduled_at=models.utcnow()
        )
        if placed:
            LOG.info("Volume %s placed on %s", volume_id, pool.host)
            self._volume.manage_existing(ctxt, pool.host, volume_id)

    def _load(self, volume_id: str) -> dict[str, Any]:
        """Read the row the API has just committed (retried briefly if not seen yet)."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(exception.VolumeNotFound),
            stop=tenacity.stop_after_attempt(self._conf.volume.flow_retry_attempts),
            wait=tenacity.wait_exponential(multiplier=0.05, max=1),
            reraise=True,
        )
        return retrying(volumes_db.get, self._db, volume_id)

    def choose_pool(self, request_spec: dict[str, Any]) -> PoolState:
        """The pool of the requested backend that passes every filter and has most room."""
        backend, _, pool_name = request_spec["host"].partition("#")
        pools = self._hosts.pool_states(backend)
        if not pools:
            raise exception.NoValidBackend(
                reason=f"backend {backend} reports no pools (is its volume service running?)"
            )
        if pool_name:
            pools = [p for p in pools if p.pool_name == pool_name]
            if not pools:
                raise exception.NoValidBackend(
                    reason=f"backend {backend} has no pool {pool_name!r}"
                )
        passing, reasons = [], []
        for pool in pools:
            reason = next((r for f in self._filters if (r := f.rejects(pool, request_spec))), None)
            if reason:
                reasons.append(reason)
            else:
                passing.append(pool)
        if not passing:
            raise exception.NoValidBackend(reason="; ".join(reasons) + ".")
        return max(passing, key=_free)
