"""What volmgr-volume does for one backend's snapshots: manage flows, unmanage,
listing, recovery.

The same shape as :class:`volmgr_volume.worker.VolumeWorker`: a flow runs only for a
row it claimed (a message delivered twice, or racing a recovery scan, runs one
flow); a flow that fails has reverted its own work, and the worker puts back
whatever an earlier run of the request may have renamed, notes the reason on the
row and casts the compensating ``manage_existing_snapshot_failed`` to the API. A
flow that lost its row changes nothing. Recovery resumes from the database: rows
left ``managing`` (their message lost, or their process gone: a claim left
unrenewed for ``[recovery] stale_after`` seconds) and rows left ``unmanaging``.
"""

import threading

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import exception, message_field, notifications
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    snapshot_ownership,
    snapshot_record,
    snapshot_recovery,
    snapshot_transitions,
    snapshots,
)
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import run_flow
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import ManagedNames, VolumeDriver
from volmgr_volume.flows import manage_snapshot
from volmgr_volume.worker import failure_reason

LOG = logging.getLogger(__name__)


class SnapshotWorker:
    """Runs the snapshot requests of one backend (``backends``: its names, as the
    volume worker's)."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        api: api_rpcapi.ApiAPI,
        driver: VolumeDriver,
        backends: tuple[str, ...],
        owner: str,
        notifier: object,
    ) -> None:
        self.conf = conf
        self.db = db
        self.api = api
        self.driver = driver
        self.backends = backends
        self.owner = owner
        self.notifier = notifier
        self._flow = manage_snapshot.get_flow(conf, db, driver, notifier)
        self._recovered_once = False
        self._running: set[str] = set()
        self._running_lock = threading.Lock()

    def manage(self, ctxt: RequestContext, snapshot_id: str) -> None:
        """Run the manage flow of one snapshot request, if its row waits for one."""
        claimed = snapshot_ownership.claim_flow(self.db, snapshot_id, self.owner)
        if claimed is None:
            LOG.info("Snapshot %s is not waiting for a manage here; nothing to do", snapshot_id)
            return
        token = claimed["flow_owner"]
        with self._running_lock:
            self._running.add(token)
        try:
            self._run(ctxt, claimed)
        finally:
            with self._running_lock:
                self._running.discard(token)

    def _run(self, ctxt: RequestContext, snapshot: snapshot_record.ClaimedSnapshot) -> None:
        ctxt.update_store()
        try:
            volume = volumes_db.get(self.db, snapshot["volume_id"])
            if volume["status"] != snapshot_record.AVAILABLE:
                raise exception.InvalidVolume(
                    reason=f"volume {volume['id']} is {volume['status']}, not available"
                )
            store = {
                manage_snapshot.CONTEXT: ctxt,
                manage_snapshot.VOLUME: volume,
                manage_snapshot.SNAPSHOT: snapshot,
            }
            run_flow(self._flow, store)
        except exception.FlowOwnershipLost:
            LOG.warning("Snapshot %s: taken over by another process; left alone", snapshot["id"])
        except Exception as error:
            self._fail(ctxt, snapshot, error)

    def _fail(
        self, ctxt: RequestContext, snapshot: snapshot_record.ClaimedSnapshot, error: Exception
    ) -> None:
        """After a reverted flow: put back what an earlier run renamed, note the reason
        on the row and tell the API (which records ``error_managing``)."""
        reason = failure_reason(error, ctxt)
        if isinstance(error, exception.VolmgrException):
            LOG.warning("Manage of snapshot %s failed and was reverted: %s", snapshot["id"], reason)
        else:
            LOG.error("Manage of snapshot %s failed: %s", snapshot["id"], error, exc_info=True)
        try:
            self._put_back(snapshot)
            detail = message_field.detail_for(error)
            if not snapshot_recovery.record_failure(
                self.db, snapshot["id"], reason, snapshot["flow_owner"], detail.id
            ):
                raise exception.FlowOwnershipLost(volume_id=snapshot["id"])
            self._tell_api(ctxt, snapshot["id"], reason)
        except exception.FlowOwnershipLost:
            LOG.warning("Snapshot %s: no longer this flow's; failure not recorded", snapshot["id"])
        except Exception:
            # The row stays managing and owned: a later recovery scan resumes it.
            LOG.exception("Snapshot %s: the failure could not be recorded", snapshot["id"])

    def _tell_api(self, ctxt: RequestContext, snapshot_id: str, reason: str) -> None:
        """Cast the failure to the API. The reason is on the row already: when the cast
        cannot go (an ``[upgrade_levels] api`` below 1.1, the bus away), the API's
        recovery scan records ``error`` from it, so this is no error of its own."""
        try:
            self.api.manage_existing_snapshot_failed(ctxt, snapshot_id, reason)
        except (exception.SnapshotsNotSupported, exception.MessagingUnavailable) as unsent:
            LOG.warning(
                "Snapshot %s: failure recorded on its row; the API was not told (%s) and "
                "its recovery scan will finish it",
                snapshot_id,
                unsent,
            )

    def _put_back(self, snapshot: snapshot_record.ClaimedSnapshot) -> None:
        """Undo a rename an earlier run may have made (idempotent; fenced)."""
        try:
            volume = volumes_db.get(self.db, snapshot["volume_id"])
            manage_snapshot.put_back(self.db, self.driver, volume, snapshot)
        except exception.FlowOwnershipLost:
            raise
        except Exception as error:
            LOG.warning("Snapshot %s: nothing put back on the backend (%s)", snapshot["id"], error)

    def unmanage(self, ctxt: RequestContext, snapshot_id: str) -> None:
        """Let go of an ``unmanaging`` snapshot: the object stays under its name."""
        try:
            snapshot = snapshots.get(self.db, snapshot_id)
        except exception.SnapshotNotFound:
            LOG.info("Snapshot %s is already gone; nothing to unmanage", snapshot_id)
            return
        if snapshot["status"] != snapshot_record.UNMANAGING:
            LOG.info("Snapshot %s is %s; nothing to unmanage", snapshot_id, snapshot["status"])
            return
        self.driver.unmanage_snapshot(snapshot)
        removed = snapshot_transitions.remove_unmanaged(self.db, snapshot_id)
        if removed is not None:
            LOG.info(
                "Snapshot %s unmanaged; it stays as %s", snapshot_id, removed["provider_location"]
            )
            notifications.notify_snapshot(
                self.notifier, ctxt, "unmanage.end", removed, provenance=removed["provenance"]
            )

    def list_manageable(self, page: PageRequest) -> list[dict[str, object]]:
        managed = ManagedNames(
            volumes=volumes_db.managed_objects(self.db, self.backends),
            snapshots=snapshots.managed_objects(self.db, self.backends),
        )
        return self.driver.list_manageable_snapshots(managed, page)

    def renew_claims(self) -> None:
        """Renew the claims of the snapshot flows running in this process."""
        with self._running_lock:
            tokens = sorted(self._running)
        if tokens:
            snapshot_ownership.renew_claims(self.db, tokens)

    def recover(self) -> None:
        """Resume what this backend left ``managing`` or ``unmanaging`` (a periodic task).

        The first scan after start resumes every unclaimed request whatever its age;
        later scans those still for ``[recovery] stale_after`` seconds (their message
        was lost). A claim of another process left unrenewed that long is taken over
        and resumed. Rows whose flow noted a failure are left to the API's scan.
        """
        first, self._recovered_once = not self._recovered_once, True
        stale_after = self.conf.recovery.stale_after
        rows = snapshot_recovery.transitional(
            self.db,
            (snapshot_record.MANAGING, snapshot_record.UNMANAGING),
            backend=self.backends,
            still_for=None if first else stale_after,
            failed=False,
        )
        for row in rows:
            ctxt = get_admin_context(request_id=row["request_id"])
            owner = row["flow_owner"]
            if row["status"] == snapshot_record.UNMANAGING:
                self.unmanage(ctxt, row["id"])
            elif owner is None:
                LOG.warning("Resuming snapshot %s, whose manage message was lost", row["id"])
                self.manage(ctxt, row["id"])
            elif not self._is_running(owner) and snapshot_ownership.take_over_flow(
                self.db, row["id"], owner, stale_after
            ):
                LOG.warning("Resuming snapshot %s: its claim went unrenewed", row["id"])
                self.manage(ctxt, row["id"])

    def _is_running(self, token: str) -> bool:
        with self._running_lock:
            return token in self._running
