"""volmgr-api's manage-existing-snapshot flow: check, write the row, cast.

CheckSnapshotTarget → CreateSnapshotEntry → CastSnapshotManage. As in Cinder, a
snapshot goes straight to the volume service of its volume's backend (Cinder's
``manage_existing_snapshot`` does not pass the scheduler: the backend is the
volume's, nothing is left to choose). When the cast fails, the row is removed and
its quota given back (CreateSnapshotEntry's revert), and the caller gets the error
(503 when the bus is away). Once cast, the volume service runs its flow and, on
failure, sends the compensating ``manage_existing_snapshot_failed``.

Store keys (stable): ``context``, ``request`` (a :class:`SnapshotRequest`); provides
``backend`` (the volume service's name) and ``snapshot`` (the new SnapshotRecord).
"""

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow

from volmgr_api.flows.manage_existing import volume_service
from volmgr_common import exception, flows, hooks, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import quota, snapshot_creation
from volmgr_common.db import volumes as volumes_db
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.flows import VolmgrTask
from volmgr_common.manage_request import SnapshotRequest
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

CONTEXT = flows.CONTEXT
REQUEST = "request"
BACKEND = "backend"
SNAPSHOT = "snapshot"


class CheckSnapshotTarget(VolmgrTask):
    """The volume exists in the caller's own project (an administrator's too: the
    snapshot joins its volume's project, and a volume of another project is not
    found) and its backend's service is up (as Cinder's
    ``_get_service_by_host_cluster``). Reversion: nothing to undo."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(provides=BACKEND)
        self.conf = conf
        self.db = db

    def execute(self, context: RequestContext, request: SnapshotRequest) -> str:
        volume = volumes_db.get(self.db, request.volume_id, project_id=context.project_id)
        backend = volume["host"].partition("#")[0]
        service = volume_service(self.db, backend, self.conf.service_down_time)
        if not service["is_up"]:
            raise exception.ServiceUnavailable(host=backend, reason="no recent heartbeat")
        if service.get("disabled"):
            raise exception.ServiceUnavailable(host=backend, reason="the service is disabled")
        return str(service["backend"])


class CreateSnapshotEntry(VolmgrTask):
    """Write the ``managing`` row, holding one snapshot of quota (checks the volume is
    available and the reference not held). Reversion: remove the row, give back the
    quota, unless a volume service has claimed it meanwhile."""

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(provides=SNAPSHOT)
        self.conf = conf
        self.db = db

    def execute(self, context: RequestContext, request: SnapshotRequest) -> SnapshotRecord:
        new = snapshot_creation.NewSnapshot(
            volume_id=request.volume_id,
            project_id=context.project_id,
            user_id=context.user_id,
            reference=request.ref,
            name=request.name,
            description=request.description,
            metadata=request.metadata,
            request_id=context.request_id,
        )
        limits = quota.DefaultLimits.from_conf(self.conf)
        snapshot = snapshot_creation.create_managing(self.db, new, limits)
        hooks.point(hooks.AFTER_SNAPSHOT_ENTRY_CREATE, snapshot)
        return snapshot

    def revert(self, result: Any, **kwargs: Any) -> None:
        if self.nothing_to_undo(result):
            return
        if snapshot_creation.destroy_managing(self.db, result["id"]):
            LOG.warning("Snapshot %s: removed the row of a request that was not sent", result["id"])


class CastSnapshotManage(VolmgrTask):
    """Cast ``manage_existing_snapshot`` to the volume service. Reversion: none (the
    entry's revert removes the row)."""

    def __init__(self, volume: volume_rpcapi.VolumeAPI) -> None:
        super().__init__()
        self.volume = volume

    def execute(self, context: RequestContext, backend: str, snapshot: SnapshotRecord) -> None:
        with rpc.bus_unavailable_as_503():
            self.volume.manage_existing_snapshot(context, backend, snapshot["id"])


def get_flow(
    conf: cfg.ConfigOpts, db: db_api.Database, volume: volume_rpcapi.VolumeAPI
) -> linear_flow.Flow:
    """The API's manage-existing-snapshot flow, not yet run."""
    return linear_flow.Flow("api_manage_existing_snapshot").add(
        CheckSnapshotTarget(conf, db),
        CreateSnapshotEntry(conf, db),
        CastSnapshotManage(volume),
    )
