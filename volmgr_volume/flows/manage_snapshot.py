"""The volume manager's manage-existing-snapshot flow and its tasks.

NotifySnapshotStart → RecordSnapshotIdentity → ChargeSnapshotGigabytes →
ManageSnapshot → FinishSnapshot: the shape of the volume flow
(:mod:`volmgr_volume.flows.manage_existing`), for one snapshot of an available
volume. When a task fails, the tasks before it revert in reverse order, each
undoing only its own work; the worker then notes the failure on the row and tells
the API (``manage_existing_snapshot_failed``), which records it.

The driver's rename and every put-back run fenced by the flow's ownership token
(:func:`snapshot_ownership.fenced`), and the database steps are conditional on it:
a flow whose row was taken over changes nothing and ends with FlowOwnershipLost.
A snapshot's quota is charged once, with its size recorded on the row in the same
transaction: ``snapshots`` when the API wrote the row, its gigabytes here (unless
``[quota] no_snapshot_gb_quota``), before anything is renamed.

Store keys (stable): ``context``, ``volume`` (the parent's VolumeRecord),
``snapshot`` (the ClaimedSnapshot).
"""

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow

from volmgr_common import exception, flows, hooks, notifications, provenance
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import quota, snapshot_identity, snapshot_ownership, snapshot_transitions
from volmgr_common.db.snapshot_record import AVAILABLE, ClaimedSnapshot
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.flows import VolmgrTask
from volmgr_volume.drivers.base import BackendObject, VolumeDriver, size_in_gib

LOG = logging.getLogger(__name__)

# Store keys.
CONTEXT = flows.CONTEXT
VOLUME = "volume"
SNAPSHOT = "snapshot"
FOUND = "found"
SIZE = "size"
PROVIDER_LOCATION = "provider_location"


class _Task(VolmgrTask):
    """A snapshot task: knows the config and passes its hook point (its name) first."""

    def __init__(self, conf: cfg.ConfigOpts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conf = conf

    def _hook_point(self, snapshot: ClaimedSnapshot) -> None:
        hooks.point(self.name, snapshot)


class NotifySnapshotStart(_Task):
    """Send ``snapshot.manage_existing.start``. Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, notifier: Any) -> None:
        super().__init__(conf)
        self.bus_notifier = notifier

    def execute(self, context: RequestContext, snapshot: ClaimedSnapshot) -> None:
        self._hook_point(snapshot)
        notifications.notify_snapshot(self.bus_notifier, context, "manage_existing.start", snapshot)


class RecordSnapshotIdentity(_Task):
    """Ask the driver whether the reference names a snapshot of the volume's object,
    and record that object's identity (and provenance) on the row before anything is
    renamed: a live volume or snapshot row that holds the same object refuses it.
    Reversion: nothing to undo (a failed manage frees the identity key)."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=FOUND)
        self.db = db
        self.driver = driver

    def execute(self, volume: VolumeRecord, snapshot: ClaimedSnapshot) -> BackendObject:
        self._hook_point(snapshot)
        found = self.driver.describe_snapshot(volume, snapshot, snapshot["reference"])
        backend = snapshot["host"].partition("#")[0]
        origin = provenance.record(snapshot, backend, found.identity, found.name, found.size_bytes)
        snapshot_identity.record_identity(
            self.db, snapshot["id"], backend, found.identity, snapshot["flow_owner"], origin
        )
        return found


class ChargeSnapshotGigabytes(_Task):
    """Record the snapshot's size and charge its gigabytes, once, together.
    Reversion: give back what this flow charged."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(conf, provides=SIZE)
        self.db = db

    def execute(self, snapshot: ClaimedSnapshot, found: BackendObject) -> int:
        self._hook_point(snapshot)
        size = size_in_gib(found.size_bytes or 0)
        charged = snapshot_transitions.charge_gigabytes(
            self.db,
            snapshot["id"],
            snapshot["flow_owner"],
            size,
            not self.conf.quota.no_snapshot_gb_quota,
            quota.DefaultLimits.from_conf(self.conf),
        )
        if not charged:
            raise exception.FlowOwnershipLost(volume_id=snapshot["id"])
        return size

    def revert(self, result: Any, snapshot: ClaimedSnapshot, **kwargs: Any) -> None:
        if self.nothing_to_undo(result):
            return
        if snapshot_transitions.uncharge_gigabytes(self.db, snapshot["id"], snapshot["flow_owner"]):
            LOG.warning("Snapshot %s: gave back its gigabytes", snapshot["id"])


def put_back(
    db: db_api.Database,
    driver: VolumeDriver,
    volume: VolumeRecord,
    snapshot: ClaimedSnapshot,
    identity: str | None = None,
) -> None:
    """Put the snapshot object back under its original name while the flow owns the
    row (only the object whose identity was recorded), clearing the row's provider
    location in the same fenced step. Raises FlowOwnershipLost, touching nothing,
    when the row is no longer the flow's."""
    snapshot_ownership.fenced(
        db,
        snapshot["id"],
        snapshot["flow_owner"],
        lambda: driver.undo_manage_snapshot(
            volume, snapshot, snapshot["reference"], identity=identity
        ),
        lambda _: {"provider_location": None},
    )


class ManageSnapshot(_Task):
    """Let the driver give the snapshot object its managed name, fenced (the name is
    recorded on the row in the same transaction). Reversion: the driver puts it back
    under its original name, fenced too; this runs even when execute failed, since a
    driver may fail after the rename, and the put-back is idempotent."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=PROVIDER_LOCATION)
        self.db = db
        self.driver = driver

    def execute(self, volume: VolumeRecord, snapshot: ClaimedSnapshot, found: BackendObject) -> str:
        self._hook_point(snapshot)

        def rename() -> str:
            location = self.driver.manage_snapshot(
                volume, snapshot, snapshot["reference"], identity=found.identity
            )
            hooks.point(hooks.MANAGE_SNAPSHOT_AFTER, snapshot)
            return location

        return snapshot_ownership.fenced(
            self.db,
            snapshot["id"],
            snapshot["flow_owner"],
            rename,
            lambda location: {"provider_location": location},
        )

    def revert(
        self,
        result: Any,
        volume: VolumeRecord,
        snapshot: ClaimedSnapshot,
        found: BackendObject | None = None,
        **kwargs: Any,
    ) -> None:
        LOG.warning("Snapshot %s: putting it back as %s", snapshot["id"], snapshot["reference"])
        try:
            put_back(self.db, self.driver, volume, snapshot, found.identity if found else None)
        except exception.FlowOwnershipLost:
            LOG.debug("Snapshot %s: no longer this flow's; nothing put back", snapshot["id"])
        except Exception:
            LOG.exception("Snapshot %s: could not undo the manage on the backend", snapshot["id"])


class FinishSnapshot(_Task):
    """Mark the snapshot ``available`` and send ``.end``. Reversion: last task, none."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, notifier: Any) -> None:
        super().__init__(conf)
        self.db = db
        self.bus_notifier = notifier

    def execute(
        self,
        context: RequestContext,
        snapshot: ClaimedSnapshot,
        size: int,
        provider_location: str,
    ) -> None:
        self._hook_point(snapshot)
        token = snapshot["flow_owner"]
        if not snapshot_transitions.finish_manage(
            self.db, snapshot["id"], token, provider_location
        ):
            raise exception.FlowOwnershipLost(volume_id=snapshot["id"])
        finished = dict(
            snapshot, status=AVAILABLE, volume_size=size, provider_location=provider_location
        )
        notifications.notify_snapshot(self.bus_notifier, context, "manage_existing.end", finished)
        LOG.info(
            "Snapshot %s of volume %s is available: %s GiB, managed as %s",
            snapshot["id"],
            snapshot["volume_id"],
            size,
            provider_location,
        )


def get_flow(
    conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, notifier: Any
) -> linear_flow.Flow:
    """The manage-existing-snapshot flow of the volume manager, not yet run."""
    return linear_flow.Flow("volume_manage_existing_snapshot").add(
        NotifySnapshotStart(conf, notifier),
        RecordSnapshotIdentity(conf, db, driver),
        ChargeSnapshotGigabytes(conf, db),
        ManageSnapshot(conf, db, driver),
        FinishSnapshot(conf, db, notifier),
    )
