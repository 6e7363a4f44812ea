"""Client of the volmgr-volume RPC interface, for the scheduler and the API.

API version history:

* 1.0 - manage_existing (cast), unmanage (cast), get_manageable_volumes (call).
* 1.1 - manage_existing_batch (cast): several manage_existing in one message.
* 1.2 - manage_existing_snapshot (cast), unmanage_snapshot (cast),
        get_manageable_snapshots (call).
* 1.3 - audit (call): check every managed volume against the backend.
* 1.4 - list_orphans (call): the backend's objects in managed form that no volume
        row knows.
* 1.5 - create_adoption_plan (call): plan the adoption of the backend's objects.
* 1.6 - create_adoption_job (call), run_adoption_job (cast): adoption jobs and their undo.
* 1.7 - manage_existing and manage_existing_batch may name a volume whose row asks
        for its snapshots too (``with_snapshots``): the service runs the chain flow.

``[upgrade_levels] volume`` caps the version sent; under a cap below 1.1 a batch
goes out as one ``manage_existing`` cast per request; under a cap below 1.2 the
snapshot methods raise SnapshotsNotSupported (a volume service of an older release
does not know them) before anything is sent; under a cap below 1.3 an audit is
refused (ServiceUnavailable: the services cannot audit yet), and under a cap below
1.4 ``list_orphans`` is refused (ServiceUnavailable) rather than sent to a service
that does not know it. The API refuses a chain request (InvalidInput, 400) under a
cap below 1.7 (:func:`check_chains`): a service of an older release would
run it as a single manage, which refuses a base with snapshots.
"""

from typing import Any

from volmgr_common import exception, rpc
from volmgr_common.adoption import PlanRequest
from volmgr_common.context import RequestContext
from volmgr_common.page_request import MANAGEABLE_DEFAULT_SORT, PageRequest

TOPIC = "volmgr-volume"
RPC_API_VERSION = "1.7"
UPGRADE_LEVEL = "volume"
"""This API's option in ``[upgrade_levels]``."""


class VolumeAPI:
    """Send requests to the volume service of one backend (``host@backend``)."""

    def __init__(
        self,
        messaging: rpc.Messaging,
        timeout: int | None = None,
        retry: int | None = None,
        plan_timeout: int | None = None,
    ) -> None:
        """``retry``: see :meth:`volmgr_common.rpc.Messaging.client` (None: no bound);
        ``plan_timeout``: how long ``create_adoption_plan`` waits (``[adoption]
        plan_timeout``; the client's own timeout when None)."""
        self.client = messaging.client(
            TOPIC, RPC_API_VERSION, timeout=timeout, retry=retry, upgrade_level=UPGRADE_LEVEL
        )
        self.plan_timeout = plan_timeout

    @staticmethod
    def _server(host: str) -> str:
        """The backend's RPC server name: the host without its ``#pool``."""
        return host.partition("#")[0]

    def manage_existing(self, ctxt: RequestContext, host: str, volume_id: str) -> None:
        """Cast (1.0): run the manage flow for a volume row already scheduled to ``host``."""
        cctxt = self.client.prepare(server=self._server(host), version="1.0")
        cctxt.cast(ctxt, "manage_existing", volume_id=volume_id)

    def manage_existing_batch(
        self, ctxt: RequestContext, host: str, manages: list[tuple[RequestContext, str]]
    ) -> None:
        """Cast (1.1): ``manage_existing`` for each ``(context, volume_id)``, in one message.

        Each request keeps its own context (its request id, user and project); the
        message's own context is ``ctxt``. Under a version cap below 1.1 (services of
        an older release still run), one 1.0 ``manage_existing`` cast per request.
        """
        if len(manages) == 1 or not self.client.can_send_version("1.1"):
            for context, volume_id in manages:
                self.manage_existing(context, host, volume_id)
            return
        cctxt = self.client.prepare(server=self._server(host), version="1.1")
        payload = [rpc.batch_entry(context, volume_id=volume_id) for context, volume_id in manages]
        cctxt.cast(ctxt, "manage_existing_batch", requests=payload)

    def unmanage(self, ctxt: RequestContext, host: str, volume_id: str) -> None:
        """Cast (1.0): let go of an ``unmanaging`` volume; the object stays on the backend."""
        cctxt = self.client.prepare(server=self._server(host), version="1.0")
        cctxt.cast(ctxt, "unmanage", volume_id=volume_id)

    def get_manageable_volumes(
        self,
        ctxt: RequestContext,
        host: str,
        page: PageRequest,
    ) -> list[dict[str, Any]]:
        """Call (1.0): one page of the objects on the backend and whether each can be managed.

        The page travels as the keywords ``marker``, ``limit``, ``offset``, ``sort_key``
        and ``sort_dir`` (sorted by ``reference`` unless it says otherwise).
        """
        cctxt = self.client.prepare(server=self._server(host), version="1.0")
        return cctxt.call(
            ctxt, "get_manageable_volumes", **page.rpc_kwargs(MANAGEABLE_DEFAULT_SORT)
        )

    def _snapshot_context(self, host: str) -> Any:
        """The 1.2 call context for ``host``; SnapshotsNotSupported under a lower cap."""
        if not self.client.can_send_version("1.2"):
            raise exception.SnapshotsNotSupported(
                backend=self._server(host),
                reason="its volume service runs a release without snapshots "
                "([upgrade_levels] volume is below 1.2)",
            )
        return self.client.prepare(server=self._server(host), version="1.2")

    def manage_existing_snapshot(self, ctxt: RequestContext, host: str, snapshot_id: str) -> None:
        """Cast (1.2): run the snapshot manage flow for a ``managing`` snapshot row of a
        volume on ``host``."""
        self._snapshot_context(host).cast(ctxt, "manage_existing_snapshot", snapshot_id=snapshot_id)

    def unmanage_snapshot(self, ctxt: RequestContext, host: str, snapshot_id: str) -> None:
        """Cast (1.2): let go of an ``unmanaging`` snapshot; the object stays."""
        self._snapshot_context(host).cast(ctxt, "unmanage_snapshot", snapshot_id=snapshot_id)

    def get_manageable_snapshots(
        self, ctxt: RequestContext, host: str, page: PageRequest
    ) -> list[dict[str, Any]]:
        """Call (1.2): one page of the backend's snapshot objects, each with its
        ``source_reference`` (the page travels as for ``get_manageable_volumes``)."""
        return self._snapshot_context(host).call(
            ctxt, "get_manageable_snapshots", **page.rpc_kwargs(MANAGEABLE_DEFAULT_SORT)
        )

    def audit(self, ctxt: RequestContext, host: str, timeout: int) -> dict[str, Any]:
        """Call (1.3): audit the backend ``host`` now; its summary (see
        ``volmgr_volume.audit.AuditSummary``). Waits up to ``timeout`` seconds."""
        if not self.client.can_send_version("1.3"):
            raise exception.ServiceUnavailable(
                host=self._server(host),
                reason="the volume services run a release without audits ([upgrade_levels] volume)",
            )
        cctxt = self.client.prepare(server=self._server(host), version="1.3", timeout=timeout)
        return cctxt.call(ctxt, "audit")

    def list_orphans(self, ctxt: RequestContext, host: str) -> list[dict[str, Any]]:
        """Call (1.4): the objects of ``host``'s backend in managed form that no volume
        row knows, each as ``ManagedObject.as_dict`` gives it, sorted by name."""
        if not self.client.can_send_version("1.4"):
            raise exception.ServiceUnavailable(
                host=host, reason="[upgrade_levels] volume caps RPC below 1.4: no orphan listing"
            )
        cctxt = self.client.prepare(server=self._server(host), version="1.4")
        return cctxt.call(ctxt, "list_orphans")

    def _adoption(self, host: str) -> Any:
        if not self.client.can_send_version("1.6"):
            raise exception.InvalidInput(
                reason=f"adoption jobs need volume services of RPC version 1.6 on {host} "
                "([upgrade_levels] volume caps it lower)"
            )
        return self.client.prepare(server=self._server(host), version="1.6")

    def create_adoption_job(
        self,
        ctxt: RequestContext,
        host: str,
        plan_id: str,
        project_id: str | None,
        strict: bool,
        max_in_flight: int | None,
    ) -> dict[str, Any]:
        """Call (1.6): apply the plan ``plan_id`` (of ``project_id``; None: any) on its
        backend's volume service; the new job, already running."""
        return self._adoption(host).call(
            ctxt,
            "create_adoption_job",
            plan_id=plan_id,
            project_id=project_id,
            strict=strict,
            max_in_flight=max_in_flight,
        )

    def run_adoption_job(self, ctxt: RequestContext, host: str, job_id: str) -> None:
        """Cast (1.6): run (or go on with) a running job on its backend's volume service."""
        self._adoption(host).cast(ctxt, "run_adoption_job", job_id=job_id)

    def create_adoption_plan(
        self, ctxt: RequestContext, host: str, plan_request: PlanRequest
    ) -> dict[str, Any]:
        """Call (1.5): make and store an adoption plan of the backend; ``{"id", "totals"}``.

        The items go to the database from the volume service, never through this
        answer. Under a version cap below 1.5, InvalidInput: the backend's service
        is of a release that cannot plan.
        """
        if not self.client.can_send_version("1.5"):
            raise exception.InvalidInput(
                reason="adoption plans need volume services of RPC version 1.5 "
                "([upgrade_levels] volume caps it lower)"
            )
        cctxt = self.client.prepare(
            server=self._server(host), version="1.5", timeout=self.plan_timeout
        )
        return cctxt.call(ctxt, "create_adoption_plan", request=plan_request.to_wire())


def check_chains(volume: VolumeAPI, host: str) -> None:
    """InvalidInput unless the volume services that ``volume`` talks to understand
    chain manages (1.7): sends nothing."""
    if not volume.client.can_send_version("1.7"):
        raise exception.InvalidInput(
            reason=f"adopting a volume with its snapshots needs volume services of RPC "
            f"version 1.7 on {VolumeAPI._server(host)} ([upgrade_levels] volume caps it lower)"
        )
