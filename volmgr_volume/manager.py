"""volmgr-volume's RPC endpoint: runs manage flows and answers manageable listings.

The manager stays thin: it claims the volume row (so that a message delivered twice
runs one flow), builds the flow, runs it, and on failure casts the compensating
``manage_existing_failed`` to the API, which records the outcome.
"""

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import exception, notifications, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import run_flow
from volmgr_volume import rpcapi
from volmgr_volume.drivers.base import VolumeDriver
from volmgr_volume.flows import manage_existing

LOG = logging.getLogger(__name__)


def failure_reason(error: BaseException, ctxt: RequestContext) -> str:
    """The reason a user sees: our own errors verbatim, anything else generic."""
    if isinstance(error, exception.VolmgrException):
        return str(error)
    return f"Internal error in the volume service (request {ctxt.request_id})."


class VolumeManager:
    """RPC endpoint of ``volmgr-volume`` for one backend."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        messaging_: rpc.Messaging,
        driver: VolumeDriver,
        host: str,
        owner: str,
    ) -> None:
        self._conf = conf
        self._db = db
        self._driver = driver
        self._host = host
        self._owner = owner
        self._notifier = messaging_.notifier.prepare(publisher_id=f"volmgr.volume.{host}")
        self._api = api_rpcapi.ApiAPI(messaging_)

    @rpc.remote_boundary
    def manage_existing(self, ctxt: RequestContext, volume_id: str) -> None:
        volume = volumes_db.claim_flow(self._db, volume_id, self._owner)
        if volume is None:
            LOG.info("Volume %s is not waiting for a manage here; message ignored", volume_id)
            return
        self._run_manage_flow(ctxt, volume)

    def _run_manage_flow(self, ctxt: RequestContext, volume: dict[str, Any]) -> None:
        LOG.info(
            "Managing %s on %s as volume %s", volume["reference"], volume["host"], volume["id"]
        )
        try:
            flow = manage_existing.get_flow(self._conf, self._db, self._driver, self._notifier)
            run_flow(flow, {manage_existing.CONTEXT: ctxt, manage_existing.VOLUME: volume})
        except Exception as error:
            LOG.warning("Manage of volume %s failed and was reverted: %s", volume["id"], error)
            self._api.manage_existing_failed(
                ctxt, volume["id"], failure_reason(error, ctxt), stage="volume"
            )

    @rpc.remote_boundary
    def unmanage(self, ctxt: RequestContext, volume_id: str) -> None:
        try:
            volume = volumes_db.get(self._db, volume_id)
        except exception.VolumeNotFound:
            LOG.info("Volume %s is already gone; unmanage message ignored", volume_id)
            return
        if volume["status"] != volumes_db.UNMANAGING:
            LOG.info(
                "Volume %s is %s, not unmanaging; message ignored", volume_id, volume["status"]
            )
            return
        self._driver.unmanage(volume)
        removed = volumes_db.remove_unmanaged(self._db, volume_id)
        if removed is not None:
            LOG.info(
                "Volume %s unmanaged; the object stays as %s",
                volume_id,
                removed["provider_location"],
            )
            notifications.notify(self._notifier, ctxt, "unmanage.end", removed)

    @rpc.remote_boundary
    def get_manageable_volumes(
        self,
        ctxt: RequestContext,
        marker: str | None,
        limit: int,
        offset: int,
        sort_key: str,
        sort_dir: str,
    ) -> list[dict[str, Any]]:
        if sort_key not in ("reference", "size") or sort_dir not in ("asc", "desc"):
            raise exception.InvalidInput(
                reason="sort key must be reference or size, dir asc or desc"
            )
        if limit < 0 or offset < 0:
            raise exception.InvalidInput(reason="limit and offset must not be negative")
        managed = {
            v["provider_location"]: v["id"]
            for v in volumes_db.list_volumes(self._db, host=self._host, limit=10**9)
            if v["provider_location"]
        }
        return self._driver.list_manageable(managed, marker, limit, offset, sort_key, sort_dir)
