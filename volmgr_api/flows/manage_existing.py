"""The API's manage-existing flow: validate, create the row, cast to the scheduler.

ExtractManageRequest → EntryCreate → ManageCast. EntryCreate charges one volume of
quota together with the row; a failure in a later service is compensated by
``manage_existing_failed`` (see ``volmgr_api.manager``).

Concurrent requests run the flow together (``API.manage_existing`` hands them to
a batcher, which runs ``run_flow_batch``): EntryCreate writes the rows of every
request of the batch in one transaction and ManageCast sends them to the
scheduler in one message, while each request still gets its own checks, row or
error, and revert.
"""

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_api import validation
from volmgr_common import cache, exception, flows, hooks, rpc
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import quota, volume_creation
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db
from volmgr_common.flows import VolmgrTask
from volmgr_common.manage_request import ManageRequest, RequestSpec
from volmgr_scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)

# Store keys.
CONTEXT = flows.CONTEXT
REQUEST = "request"
"""The caller's :class:`ManageRequest`."""
ACCEPTED = "accepted"
"""The :class:`AcceptedRequest` ExtractManageRequest makes of it."""
VOLUME = "volume"
VOLUME_BINARY = "volmgr-volume"


@dataclasses.dataclass(frozen=True)
class AcceptedRequest:
    """A manage request that passed every check, with who asked and what it resolved to."""

    request: ManageRequest
    project_id: str
    user_id: str | None
    request_id: str
    availability_zone: str
    volume_type: dict[str, Any]
    """The volume type's row: ``id``, ``name``, ``extra_specs``."""
    cluster_name: str | None = None
    """The cluster (``cluster@backend``) the named backend belongs to, if any."""

    @property
    def host(self) -> str:
        """Where the row is placed: the cluster of a member (keeping the pool), else as named.

        A cluster's members share one backend: its requests, claims and object keys
        are the cluster's, whichever name (the cluster's, a member's) the caller used.
        """
        if self.cluster_name is None:
            return self.request.host
        pool = self.request.host.partition("#")[2]
        return f"{self.cluster_name}#{pool}" if pool else self.cluster_name

    def new_volume(self) -> volume_creation.NewVolume:
        """The ``managing`` row to write (with its metadata and type name)."""
        request = self.request
        backend = self.host.partition("#")[0]
        values = {
            "project_id": self.project_id,
            "user_id": self.user_id,
            "display_name": request.name,
            "display_description": request.description,
            "host": self.host,
            "cluster_name": self.cluster_name,
            "availability_zone": self.availability_zone,
            "volume_type_id": self.volume_type["id"],
            "bootable": request.bootable,
            "reference": json.dumps(request.ref, sort_keys=True),
            "reference_key": volume_creation.reference_key(backend, request.ref),
            "request_id": self.request_id,
            "with_snapshots": request.with_snapshots,
        }
        if request.volume_id is not None:  # a re-adoption keeps the orphan's volume id
            values["id"] = request.volume_id
        return volume_creation.NewVolume(values, dict(request.metadata), self.volume_type["name"])

    def request_spec(self, volume_id: str) -> RequestSpec:
        """What the scheduler needs to place the row ``volume_id``."""
        return RequestSpec.for_manage(
            self.host, self.availability_zone, self.volume_type, volume_id
        )


def volume_service(db: db_api.Database, backend: str, down_time: int) -> dict[str, Any]:
    """The volume service (or cluster, see ``services.get_backend``) of ``backend``
    named in a request; BackendNotFound (400) if none."""
    try:
        return services_db.get_backend(db, backend, VOLUME_BINARY, down_time=down_time)
    except exception.ServiceNotFound:
        raise exception.BackendNotFound(host=backend) from None


def up_backend(db: db_api.Database, backend: str, down_time: int) -> str:
    """The backend (or cluster) whose volume service answers for ``backend``;
    BackendNotFound (400) if none, ServiceUnavailable when it has no recent heartbeat."""
    service = volume_service(db, backend, down_time)
    if not service["is_up"]:
        raise exception.ServiceUnavailable(host=backend, reason="no recent heartbeat")
    return str(service["backend"])


def check_usable(
    service: dict[str, Any], backend: str, zone: Any, down_time: int
) -> dict[str, Any]:
    """``service`` if it takes requests (enabled, up, in ``zone`` when one is named);
    ServiceUnavailable or InvalidInput saying why not."""
    if service["disabled"]:
        raise exception.ServiceUnavailable(
            host=backend,
            reason=f"disabled: {service['disabled_reason']}"
            if service["disabled_reason"]
            else "disabled",
        )
    if not service["is_up"]:
        raise exception.ServiceUnavailable(
            host=backend, reason=f"no heartbeat for more than {down_time}s"
        )
    service_zone = service["availability_zone"]
    if zone is not None and zone != service_zone:
        raise exception.InvalidInput(
            reason=f"{backend} is in availability zone {service_zone!r}, not {zone!r}"
        )
    return service


def resolve_volume_type(
    conf: cfg.ConfigOpts, db: db_api.Database, volume_type: Any
) -> dict[str, Any]:
    """The row of the volume type a request names (``[DEFAULT] default_volume_type``,
    made if missing, when it names none); InvalidVolumeType (400) for an unknown one."""
    if volume_type is None:
        return types_db.get_or_create(db, conf.default_volume_type)
    if not isinstance(volume_type, str) or not volume_type:
        raise exception.InvalidInput(reason="volume_type must be a type name or id")
    try:
        return types_db.get_by_name_or_id(db, volume_type)
    except exception.VolumeTypeNotFound:
        # A name in the body, not the URL's resource: 400 as Cinder answers.
        raise exception.InvalidVolumeType(
            reason=f"Cannot find requested '{volume_type}' volume type"
        ) from None


class ExtractManageRequest(VolmgrTask):
    """Check the caller and resolve type, zone and target. Reversion: nothing to undo.

    The request's own fields were checked where it arrived
    (``validation.manage_request``); what needs the database is checked here.
    """

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        services: cache.ShortLivedCache[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(provides=ACCEPTED)
        self.conf = conf
        self.db = db
        # Volume types and service rows read for one request answer the next second's
        # (``services``: the caller's, which it clears for a service it disables).
        self._types: cache.ShortLivedCache[dict[str, Any]] = cache.ShortLivedCache()
        self._services = services if services is not None else cache.ShortLivedCache()

    def execute(self, context: RequestContext, request: ManageRequest) -> AcceptedRequest:
        project_id = validation.request_project(context)
        service = self._check_service(request.backend, request.availability_zone)
        vtype = self._volume_type(request.volume_type)
        return AcceptedRequest(
            request=request,
            project_id=project_id,
            user_id=context.user_id,
            request_id=context.request_id,
            availability_zone=service["availability_zone"],
            volume_type=vtype,
            cluster_name=service["cluster_name"],
        )

    def _volume_type(self, volume_type: Any) -> dict[str, Any]:
        if volume_type is not None and not (isinstance(volume_type, str) and volume_type):
            return resolve_volume_type(self.conf, self.db, volume_type)  # refuses it
        key = volume_type if volume_type is not None else self.conf.default_volume_type
        return self._types.get(key, lambda: resolve_volume_type(self.conf, self.db, volume_type))

    def _check_service(self, backend: str, zone: Any) -> dict[str, Any]:
        """The service (or cluster, up when a member is) that ``backend`` names, if usable."""
        service = self._services.get(
            backend, lambda: volume_service(self.db, backend, self.conf.service_down_time)
        )
        return check_usable(service, backend, zone, self.conf.service_down_time)


class EntryCreate(VolmgrTask):
    """Write the ``managing`` row, charging one volume of quota with it.

    Reversion: remove the row and give its quota back, if it is still ``managing``
    and no scheduler placed it (a row a scheduler took runs on; one a later step
    marked ``error_managing`` stays as the record).
    """

    def __init__(self, conf: cfg.ConfigOpts, db: db_api.Database) -> None:
        super().__init__(provides=VOLUME)
        self.conf = conf
        self.db = db

    def execute(self, accepted: AcceptedRequest) -> dict[str, Any]:
        return self.alone(self.execute_batch([{ACCEPTED: accepted}]))

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One transaction writes every request's row (``create_managing_many``)."""
        new = [c[ACCEPTED].new_volume() for c in calls]
        written = volume_creation.create_managing_many(
            self.db, new, quota.DefaultLimits.from_conf(self.conf)
        )
        results: list[Any] = []
        for volume in written:
            if isinstance(volume, exception.VolmgrException):
                results.append(failure.Failure.from_exception(volume))
                continue
            try:
                hooks.point(hooks.AFTER_ENTRY_CREATE, volume)
            except Exception:
                # This task's revert is not given the row when its own execute fails.
                volume_creation.destroy_managing(self.db, volume["id"])
                results.append(failure.Failure())
                continue
            results.append(volume)
        return results

    def revert(self, result: Any, **kwargs: Any) -> None:
        if self.nothing_to_undo(result):
            return
        if volume_creation.destroy_managing(self.db, result["id"]):
            LOG.warning("Removed volume row %s of a manage request that failed", result["id"])


class ManageCast(VolmgrTask):
    """Cast the request to the scheduler.

    A broker that cannot be reached within ``[api] broker_retries`` makes the cast
    raise ``MessagingUnavailable`` (HTTP 503). Reversion: nothing to undo here;
    EntryCreate's revert removes the row, so a request its caller was refused leaves
    no row behind. (A process that dies between the two leaves a row never placed,
    which the API's recovery scan casts again.)
    """

    def __init__(self, db: db_api.Database, scheduler: scheduler_rpcapi.SchedulerAPI) -> None:
        super().__init__()
        self.db = db
        self.scheduler = scheduler

    def execute(
        self, context: RequestContext, volume: dict[str, Any], accepted: AcceptedRequest
    ) -> None:
        return self.alone(
            self.execute_batch([{CONTEXT: context, VOLUME: volume, ACCEPTED: accepted}])
        )

    def execute_batch(self, calls: Sequence[dict[str, Any]]) -> list[Any]:
        """One message to a scheduler for every request (a batch of one is the 1.0 cast)."""
        requests = [
            (c[CONTEXT], c[VOLUME]["id"], c[ACCEPTED].request_spec(c[VOLUME]["id"])) for c in calls
        ]
        with rpc.bus_unavailable_as_503():
            self.scheduler.manage_existing_batch(get_admin_context(), requests)
        return [None] * len(calls)


def get_flow(
    conf: cfg.ConfigOpts,
    db: db_api.Database,
    scheduler: scheduler_rpcapi.SchedulerAPI,
    services: cache.ShortLivedCache[dict[str, Any]] | None = None,
) -> linear_flow.Flow:
    """The API's manage-existing flow, not yet run (``services``: the cache of service
    rows its checks read through)."""
    return linear_flow.Flow("api_manage_existing").add(
        ExtractManageRequest(conf, db, services),
        EntryCreate(conf, db),
        ManageCast(db, scheduler),
    )
