"""What volmgr-api does for snapshots, behind its REST handlers and RPC endpoint.

Each method takes the caller's request context; a caller who is not an admin sees
and changes only its own project's snapshots (and manages snapshots only of its own
project's volumes). Policies are checked by the faces before they get here.
"""

import functools
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import managed, validation
from volmgr_api.flows import manage_existing
from volmgr_api.flows import manage_snapshot as flow
from volmgr_api.scope import listing_scope, project_scope
from volmgr_common import notifications, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import snapshot_record, snapshot_transitions, snapshots
from volmgr_common.flows import run_flow
from volmgr_common.manage_request import SnapshotRequest
from volmgr_common.page_request import PageRequest
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

SnapshotRecord = snapshot_record.SnapshotRecord


class SnapshotAPI:
    """The snapshot operations of volmgr-api."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        volume: volume_rpcapi.VolumeAPI,
        notifier: Any,
    ) -> None:
        self.conf = conf
        self.db = db
        self.volume = volume
        self.notifier = notifier
        self._flow = flow.get_flow(conf, db, volume)
        self._snapshots = managed.ManagedKind(
            noun="snapshot",
            db=db,
            get=snapshots.get,
            start_unmanage=snapshot_transitions.start_unmanage,
            delete_failed=snapshot_transitions.delete_failed,
            notify=functools.partial(notifications.notify_snapshot, notifier),
            send_unmanage=volume.unmanage_snapshot,
        )

    def manage(self, ctxt: RequestContext, request: SnapshotRequest) -> SnapshotRecord:
        """Accept a request to manage an existing snapshot; returns the new snapshot in
        status ``managing`` (the volume service then runs the flow)."""
        project_scope(ctxt)
        values = run_flow(self._flow, {flow.CONTEXT: ctxt, flow.REQUEST: request})
        snapshot: SnapshotRecord = values[flow.SNAPSHOT]
        LOG.info(
            "Accepted manage of snapshot %s of volume %s as %s",
            request.ref,
            request.volume_id,
            snapshot["id"],
        )
        return snapshot

    def get(self, ctxt: RequestContext, snapshot_id: str) -> SnapshotRecord:
        return snapshots.get(self.db, snapshot_id, project_id=project_scope(ctxt))

    def list_snapshots(
        self,
        ctxt: RequestContext,
        page: PageRequest,
        all_projects: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SnapshotRecord]:
        """A page of snapshots (at most ``[api] max_list_limit``), Cinder's order."""
        page = page.capped(self.conf.api.max_list_limit)
        scope = listing_scope(ctxt, all_projects)
        return snapshots.list_snapshots(self.db, page, project_id=scope, filters=filters)

    def count_snapshots(
        self,
        ctxt: RequestContext,
        all_projects: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> int:
        """How many snapshots :meth:`list_snapshots` would give in all its pages."""
        scope = listing_scope(ctxt, all_projects)
        return snapshots.count_snapshots(self.db, project_id=scope, filters=filters)

    def unmanage(self, ctxt: RequestContext, snapshot_id: str) -> None:
        """Stop managing: the row goes, the object stays under its managed name. The
        record of a failed manage is removed instead (as its delete would)."""
        self._snapshots.unmanage(ctxt, snapshot_id)

    def delete(self, ctxt: RequestContext, snapshot_id: str) -> None:
        """Remove the record of a failed manage (``error``); never touches the backend."""
        self._snapshots.delete(ctxt, snapshot_id)

    def get_manageable(
        self, ctxt: RequestContext, host: Any, page: PageRequest
    ) -> list[dict[str, Any]]:
        """The snapshot objects of a backend and whether each can be managed."""
        backend, _pool = validation.parse_host(host)
        backend = manage_existing.up_backend(self.db, backend, self.conf.service_down_time)
        with rpc.bus_unavailable_as_503():
            return self.volume.get_manageable_snapshots(ctxt, backend, page)

    def manage_failed(self, ctxt: RequestContext, snapshot_id: str, reason: str) -> None:
        """Compensation: release the snapshot's quota, record ``error_managing``, tell
        the user; handling it twice equals once."""
        snapshot = snapshot_transitions.fail_manage(self.db, snapshot_id, reason, ctxt.request_id)
        if snapshot is None:
            LOG.info("Snapshot %s: failure already recorded or moot", snapshot_id)
            return
        LOG.warning("Snapshot %s is error_managing: %s", snapshot_id, reason)
        notifications.notify_snapshot(
            self.notifier, ctxt, "manage_existing.error", snapshot, error=True, reason=reason
        )
