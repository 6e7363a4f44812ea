"""volmgr-volume's RPC endpoint: a thin face over :class:`VolumeWorker` and its batcher."""

from typing import Any

import oslo_messaging as messaging

from volmgr_common import exception, rpc
from volmgr_common.adoption import PlanRequest
from volmgr_common.batching import Batcher
from volmgr_common.context import RequestContext
from volmgr_common.page_request import PageRequest
from volmgr_volume import rpcapi
from volmgr_volume.adoption import AdoptionRunner
from volmgr_volume.audit import Auditor
from volmgr_volume.planner import Planner
from volmgr_volume.snapshot_worker import SnapshotWorker
from volmgr_volume.worker import VolumeWorker

ManageBatcher = Batcher[tuple[RequestContext, str], None]
"""Runs ``(context, volume_id)`` manage requests in batches (``VolumeWorker.manage_many``)."""


class VolumeManager:
    """RPC endpoint of ``volmgr-volume`` for one backend."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(
        self,
        worker: VolumeWorker,
        batcher: ManageBatcher,
        snapshots: SnapshotWorker,
        auditor: Auditor,
        planner: Planner,
        adoption: AdoptionRunner,
    ) -> None:
        self._worker = worker
        self._batcher = batcher
        self._snapshots = snapshots
        self._auditor = auditor
        self._planner = planner
        self._adoption = adoption

    @rpc.remote_boundary
    def manage_existing(self, ctxt: RequestContext, volume_id: str) -> None:
        self._batcher.submit((ctxt, volume_id))

    @rpc.remote_boundary
    def manage_existing_batch(self, ctxt: RequestContext, requests: list[dict[str, Any]]) -> None:
        """Several ``manage_existing`` at once, each ``{"context", "volume_id"}``."""
        items = [(rpc.entry_context(request), request["volume_id"]) for request in requests]
        for outcome in self._batcher.submit_all(items):
            if isinstance(outcome, BaseException):
                raise outcome

    @rpc.remote_boundary
    def unmanage(self, ctxt: RequestContext, volume_id: str) -> None:
        self._worker.unmanage(ctxt, volume_id)

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
        return self._worker.list_manageable(_page(marker, limit, offset, sort_key, sort_dir))

    @rpc.remote_boundary
    def manage_existing_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> None:
        self._snapshots.manage(ctxt, snapshot_id)

    @rpc.remote_boundary
    def unmanage_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> None:
        self._snapshots.unmanage(ctxt, snapshot_id)

    @rpc.remote_boundary
    def get_manageable_snapshots(
        self,
        ctxt: RequestContext,
        marker: str | None,
        limit: int,
        offset: int,
        sort_key: str,
        sort_dir: str,
    ) -> list[dict[str, Any]]:
        return self._snapshots.list_manageable(_page(marker, limit, offset, sort_key, sort_dir))

    @rpc.remote_boundary
    def audit(self, ctxt: RequestContext) -> dict[str, Any]:
        """Audit the backend now (1.3); the summary of what was found."""
        return self._auditor.run(ctxt).as_dict()

    @rpc.remote_boundary
    def list_orphans(self, ctxt: RequestContext) -> list[dict[str, Any]]:
        """The backend's objects in managed form that no volume row knows (1.4)."""
        return self._worker.list_orphans()

    @rpc.remote_boundary
    def create_adoption_job(
        self,
        ctxt: RequestContext,
        plan_id: str,
        project_id: str | None,
        strict: bool,
        max_in_flight: int | None,
    ) -> dict[str, Any]:
        if not isinstance(strict, bool):
            raise exception.InvalidInput(reason="strict must be true or false")
        return self._adoption.create_job(ctxt, plan_id, project_id, strict, max_in_flight)

    @rpc.remote_boundary
    def run_adoption_job(self, ctxt: RequestContext, job_id: str) -> None:
        self._adoption.start(job_id)

    @rpc.remote_boundary
    def create_adoption_plan(self, ctxt: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """Make and store an adoption plan of this backend (1.5); its id and totals."""
        plan = self._planner.plan(PlanRequest.from_wire(request))
        return {"id": plan["id"], "totals": plan["totals"]}


def _page(marker: str | None, limit: int, offset: int, sort_key: str, sort_dir: str) -> PageRequest:
    """The page a listing call asked for; InvalidInput for a negative or odd limit/offset."""
    if not isinstance(limit, int) or not isinstance(offset, int) or limit < 0 or offset < 0:
        raise exception.InvalidInput(reason="limit and offset must be non-negative integers")
    return PageRequest.from_rpc(marker, limit, offset, sort_key, sort_dir)
