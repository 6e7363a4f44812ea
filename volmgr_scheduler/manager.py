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
from volmgr_common import exception, flows, hooks, message_field, rpc
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import volume_ownership, volume_record, volume_recovery
from volmgr_common.db import volumes as volumes_db
from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler import rpcapi
from volmgr_scheduler.host_manager import HostManager
from volmgr_scheduler.placement import Placement
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


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
        self._placement = Placement(conf, host_manager)
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
        """Place the volume and cast to its backend; everything needed is in ``request_spec``."""
        self._schedule([(ctxt, volume_id, request_spec)])

    @rpc.remote_boundary
    def manage_existing_batch(self, ctxt: RequestContext, requests: list[dict[str, Any]]) -> None:
        """Several ``manage_existing``, each ``{"context", "volume_id", "request_spec"}``."""
        self._schedule(
            [
                (rpc.entry_context(request), request["volume_id"], request["request_spec"])
                for request in requests
            ]
        )

    def _schedule(self, requests: list[tuple[RequestContext, str, dict[str, Any]]]) -> None:
        """Place each volume and cast to its backend, one cast per backend.

        The rows are read only when something went wrong; the placements are one
        transaction of conditional updates, which a duplicate message or a volume
        no longer ``managing`` leaves unchanged.
        """
        chosen: list[tuple[RequestContext, str, str]] = []
        for ctxt, volume_id, request_spec in requests:
            ctxt.update_store()  # this thread's log lines carry the request's id
            try:
                if hooks.active():  # the row is read only for a registered hook
                    hooks.point(hooks.SCHEDULER_RECEIVE, self._load(volume_id))
                pool = self._placement.choose_pool(RequestSpec.from_wire(request_spec))
            except Exception as error:
                if self._waiting_for_placement(volume_id):
                    self._fail(ctxt, volume_id, error)
                continue
            chosen.append((ctxt, volume_id, pool.host))
        placed = self._place(chosen)
        by_backend: dict[str, list[tuple[RequestContext, str]]] = {}
        for (ctxt, volume_id, host), ok in zip(chosen, placed, strict=True):
            ctxt.update_store()
            ok = ok or (
                # The row was not visible yet when the update ran (it is now, if it exists).
                self._waiting_for_placement(volume_id)
                and volume_ownership.place(self._db, volume_id, host)
            )
            if ok:
                LOG.debug("Volume %s placed on %s", volume_id, host)
                by_backend.setdefault(host.partition("#")[0], []).append((ctxt, volume_id))
        for backend, manages in by_backend.items():
            self._volume.manage_existing_batch(get_admin_context(), backend, manages)

    def _place(self, chosen: list[tuple[RequestContext, str, str]]) -> list[bool]:
        """Record every placement in one transaction; if it raises, each alone.

        The transaction rolled back, so an error that came from one request fails
        that request only (an unavailable database fails them all, as it would alone).
        """
        try:
            return volume_ownership.place_many(self._db, [(v, host) for _, v, host in chosen])
        except flows.WHOLE_STEP_ERRORS:
            raise
        except Exception as error:
            if len(chosen) <= 1:
                raise
            LOG.warning("Placing %d volumes at once failed (%s); each alone", len(chosen), error)
        placed = []
        for ctxt, volume_id, host in chosen:
            ctxt.update_store()
            try:
                placed.append(volume_ownership.place(self._db, volume_id, host))
            except Exception as error:
                self._fail(ctxt, volume_id, error)
                placed.append(False)
        return placed

    def _waiting_for_placement(self, volume_id: str) -> bool:
        """True if the volume is ``managing`` and not placed; logs why not otherwise."""
        try:
            volume = self._load(volume_id)
        except exception.VolumeNotFound:
            LOG.info("Volume %s does not exist (any more); nothing to schedule", volume_id)
            return False
        if volume["status"] != volume_record.MANAGING or volume["scheduled_at"]:
            LOG.info(
                "Volume %s is %s and %s; nothing to schedule",
                volume_id,
                volume["status"],
                "placed" if volume["scheduled_at"] else "not placed",
            )
            return False
        return True

    def _fail(self, ctxt: RequestContext, volume_id: str, error: Exception) -> None:
        """Note why the volume cannot be placed and tell the API (compensation)."""
        if isinstance(error, exception.VolmgrException):
            reason = error.msg
            LOG.warning("Volume %s cannot be placed: %s", volume_id, reason)
        else:
            reason = f"Internal error in the scheduler (request {ctxt.request_id})."
            LOG.exception("Volume %s cannot be placed", volume_id)
        detail = message_field.detail_for(error)
        volume_recovery.record_failure(self._db, volume_id, reason, detail=detail.id)
        self._api.manage_existing_failed(ctxt, volume_id, reason, stage="scheduler")

    def _load(self, volume_id: str) -> volume_record.VolumeRecord:
        """Read the row the API has just committed (retried briefly if not seen yet)."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(exception.VolumeNotFound),
            stop=tenacity.stop_after_attempt(self._conf.scheduler.volume_read_attempts),
            wait=tenacity.wait_exponential(multiplier=0.05, max=1),
            reraise=True,
        )
        return retrying(volumes_db.get, self._db, volume_id)
