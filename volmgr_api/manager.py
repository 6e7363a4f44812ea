"""volmgr-api's RPC endpoint: manage requests from other services, and compensations.

``manage_existing`` runs the API flow and answers with the new ``managing`` volume.
``manage_existing_failed`` is the compensation a later stage sends: it gives back
the quota the API charged and records ``error_managing``, a user message and an
error notification — once, however often the message arrives.
"""

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import rpcapi
from volmgr_api.flows import manage_existing
from volmgr_common import exception, notifications, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import run_flow
from volmgr_scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


class ApiManager:
    """RPC endpoint of ``volmgr-api``."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(
        self, conf: cfg.ConfigOpts, db: db_api.Database, messaging_: rpc.Messaging, host: str
    ) -> None:
        self._conf = conf
        self._db = db
        self._scheduler = scheduler_rpcapi.SchedulerAPI(messaging_)
        self._notifier = messaging_.notifier.prepare(publisher_id=f"volmgr.api.{host}")

    @rpc.remote_boundary
    def manage_existing(
        self,
        ctxt: RequestContext,
        host: Any,
        ref: Any,
        name: Any = None,
        description: Any = None,
        volume_type: Any = None,
        availability_zone: Any = None,
        metadata: Any = None,
        bootable: Any = False,
    ) -> dict[str, Any]:
        store = {
            manage_existing.CONTEXT: ctxt,
            "host": host,
            "ref": ref,
            "name": name,
            "description": description,
            "volume_type": volume_type,
            "availability_zone": availability_zone,
            "metadata": metadata,
            "bootable": bootable,
        }
        flow = manage_existing.get_flow(self._conf, self._db, self._scheduler)
        volume = run_flow(flow, store)[manage_existing.VOLUME]
        LOG.info("Accepted manage of %s on %s as volume %s", ref, host, volume["id"])
        return volume

    @rpc.remote_boundary
    def get_volume(self, ctxt: RequestContext, volume_id: str) -> dict[str, Any]:
        return volumes_db.get(self._db, volume_id, project_id=self._project_scope(ctxt))

    @rpc.remote_boundary
    def list_volumes(
        self,
        ctxt: RequestContext,
        status: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]:
        max_limit = self._conf.api.max_list_limit
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise exception.InvalidInput(reason="limit must be a non-negative integer")
        return volumes_db.list_volumes(
            self._db,
            project_id=self._project_scope(ctxt),
            status=status,
            limit=min(limit if limit is not None else max_limit, max_limit),
            marker=marker,
        )

    @rpc.remote_boundary
    def manage_existing_failed(
        self, ctxt: RequestContext, volume_id: str, reason: str, stage: str
    ) -> None:
        volume = volumes_db.fail_manage(
            self._db, volume_id, reason, f"MANAGE_EXISTING_{stage.upper()}_FAILED", ctxt.request_id
        )
        if volume is None:
            LOG.info("Volume %s: failure from %s already recorded or moot", volume_id, stage)
            return
        LOG.warning("Volume %s is error_managing (%s stage): %s", volume_id, stage, reason)
        notifications.notify(
            self._notifier,
            ctxt,
            "manage_existing.error",
            volume,
            error=True,
            reason=reason,
            stage=stage,
        )

    @staticmethod
    def _project_scope(ctxt: RequestContext) -> str | None:
        """None (every project) for an admin, otherwise the caller's project."""
        if ctxt.is_admin:
            return None
        if not ctxt.project_id:
            raise exception.InvalidInput(reason="the request context names no project")
        return ctxt.project_id
