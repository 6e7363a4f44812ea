"""The volume manager's manage-existing flow and its tasks.

NotifyStart → PrepareForQuotaReservation → QuotaReserve → ManageExisting →
QuotaCommit → OnFinish. When a task fails, the tasks before it revert in reverse
order, each undoing only its own side effect; the manager then tells the API, which
records the failure (see ``volmgr_volume.manager``).
"""

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow

from volmgr_common import exception, faults, notifications, quota
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import VolmgrTask
from volmgr_volume.drivers.base import VolumeDriver

LOG = logging.getLogger(__name__)

# Store keys.
CONTEXT = "context"
VOLUME = "volume"
SIZE = "size"
RESERVATION = "reservation_id"
PROVIDER_LOCATION = "provider_location"

# What QuotaReserve provides when the row already holds its gigabytes.
ALREADY_COMMITTED = "already-committed"


class _Task(VolmgrTask):
    """A manager task: knows the config (for fault injection) and checks faults first."""

    def __init__(self, conf: cfg.ConfigOpts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conf = conf

    def _fault_point(self, volume: dict[str, Any]) -> None:
        faults.check(self.conf, volume, self.name)


class NotifyStart(_Task):
    """Send ``volume.manage_existing.start``. Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, notifier: Any) -> None:
        super().__init__(conf)
        self.bus_notifier = notifier

    def execute(self, context: RequestContext, volume: dict[str, Any]) -> None:
        self._fault_point(volume)
        notifications.notify(self.bus_notifier, context, "manage_existing.start", volume)


class PrepareForQuotaReservation(_Task):
    """Ask the driver for the object's size in whole GiB. Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=SIZE)
        self.driver = driver

    def execute(self, volume: dict[str, Any]) -> int:
        self._fault_point(volume)
        size = self.driver.get_size(volume, volume["reference"])
        LOG.info("Volume %s: backend object is %s GiB", volume["id"], size)
        return size


class QuotaReserve(_Task):
    """Reserve the gigabytes. Reversion: roll the reservation back."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(conf, provides=RESERVATION)
        self.db = db

    def execute(self, volume: dict[str, Any], size: int) -> str | None:
        self._fault_point(volume)
        if size == 0:
            return None
        if volume["held_gigabytes"]:
            # A resumed flow: an earlier run of this request already committed the size.
            return ALREADY_COMMITTED
        deltas = quota.volume_deltas(volume["volume_type"], gigabytes=size)
        return quota.reserve(
            self.db,
            volume["project_id"],
            deltas,
            quota.DefaultLimits.from_conf(self.conf),
            volume_id=volume["id"],
        )

    def revert(self, result: Any, volume: dict[str, Any], **kwargs: Any) -> None:
        if self.nothing_to_undo(result) or result in (None, ALREADY_COMMITTED):
            return
        LOG.warning("Volume %s: rolling back quota reservation %s", volume["id"], result)
        quota.rollback(self.db, result)


class ManageExisting(_Task):
    """Let the driver give the object its managed name.

    Reversion: the driver puts the object back under its original name, exactly as
    it was; nothing is ever deleted. This runs even when execute itself failed,
    since a driver may fail after the rename: ``undo_manage`` is idempotent.
    """

    def __init__(self, conf: cfg.ConfigOpts, driver: VolumeDriver) -> None:
        super().__init__(conf, provides=PROVIDER_LOCATION)
        self.driver = driver

    def execute(self, volume: dict[str, Any]) -> str:
        self._fault_point(volume)
        location = self.driver.manage(volume, volume["reference"])
        faults.check(self.conf, volume, "ManageExisting.after")
        return location

    def revert(self, result: Any, volume: dict[str, Any], **kwargs: Any) -> None:
        LOG.warning(
            "Volume %s: putting backend object back as %s", volume["id"], volume["reference"]
        )
        try:
            self.driver.undo_manage(volume, volume["reference"])
        except Exception:
            LOG.exception("Volume %s: could not undo the manage on the backend", volume["id"])


class QuotaCommit(_Task):
    """Commit the reservation and record the size on the row.

    Reversion: a compensating negative commit of what this volume holds.
    """

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(conf)
        self.db = db

    def execute(self, volume: dict[str, Any], size: int, reservation_id: str | None) -> None:
        self._fault_point(volume)
        if reservation_id == ALREADY_COMMITTED:
            return
        if reservation_id is None:
            volumes_db.update_if(self.db, volume["id"], volumes_db.MANAGING, size=0)
            return
        if not volumes_db.commit_gigabytes(self.db, volume["id"], reservation_id, size):
            # A resumed flow: an earlier run already committed this volume's size.
            quota.rollback(self.db, reservation_id)

    def revert(self, result: Any, volume: dict[str, Any], **kwargs: Any) -> None:
        if self.nothing_to_undo(result):
            return
        if volumes_db.uncommit_gigabytes(self.db, volume["id"]):
            LOG.warning("Volume %s: gave back the committed gigabytes", volume["id"])


class OnFinish(_Task):
    """Mark the volume ``available`` and send ``.end``. Reversion: last task, none."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database, notifier: Any) -> None:
        super().__init__(conf)
        self.db = db
        self.bus_notifier = notifier

    def execute(
        self, context: RequestContext, volume: dict[str, Any], size: int, provider_location: str
    ) -> None:
        self._fault_point(volume)
        if not volumes_db.finish_manage(self.db, volume["id"], provider_location):
            raise exception.InvalidStatus(
                volume_id=volume["id"], status="no longer managing", expected="managing"
            )
        # What the row now holds (QuotaCommit recorded the size), without reading it back.
        finished = dict(
            volume,
            status=volumes_db.AVAILABLE,
            size=size,
            provider_location=provider_location,
        )
        notifications.notify(self.bus_notifier, context, "manage_existing.end", finished)
        LOG.info(
            "Volume %s is available: %s GiB as %s",
            volume["id"],
            finished["size"],
            provider_location,
        )


def get_flow(
    conf: cfg.ConfigOpts, db: db_api.Database, driver: VolumeDriver, notifier: Any
) -> linear_flow.Flow:
    """The manage-existing flow of the volume manager, not yet run."""
    return linear_flow.Flow("volume_manage_existing").add(
        NotifyStart(conf, notifier),
        PrepareForQuotaReservation(conf, driver),
        QuotaReserve(conf, db),
        ManageExisting(conf, driver),
        QuotaCommit(conf, db),
        OnFinish(conf, db, notifier),
    )
