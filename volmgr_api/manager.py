"""volmgr-api's RPC endpoint: the API's operations for other services, and compensations.

Every method is a thin face over :class:`volmgr_api.api.API`; only whitelisted
exceptions leave it (see ``volmgr_common.rpc.remote_boundary``).
"""

from typing import Any

import oslo_messaging as messaging

from volmgr_api import rpcapi, validation
from volmgr_api.api import API
from volmgr_common import rpc
from volmgr_common.context import RequestContext
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.manage_request import SNAPSHOT_FIELDS, SNAPSHOT_REQUIRED_FIELDS
from volmgr_common.page_request import PageRequest


class ApiManager:
    """RPC endpoint of ``volmgr-api``."""

    target = messaging.Target(version=rpcapi.RPC_API_VERSION)

    def __init__(self, api: API) -> None:
        self._api = api

    @rpc.remote_boundary
    def manage_existing(self, ctxt: RequestContext, **fields: Any) -> VolumeRecord:
        """The fields of ``rpcapi.ApiAPI.manage_existing``, checked into a ManageRequest."""
        validation.request_project(ctxt)  # the caller is checked before its fields
        request = validation.manage_request(self._api.conf, fields)
        return self._api.manage_existing(ctxt, request)

    @rpc.remote_boundary
    def get_volume(self, ctxt: RequestContext, volume_id: str) -> VolumeRecord:
        return self._api.get_volume(ctxt, volume_id)

    @rpc.remote_boundary
    def list_volumes(
        self,
        ctxt: RequestContext,
        status: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[VolumeRecord]:
        # RPC 1.0 has always listed oldest first.
        page = PageRequest(marker, limit, sort=(("created_at", "asc"),))
        return self._api.list_volumes(ctxt, page, status=status)

    @rpc.remote_boundary
    def unmanage_volume(self, ctxt: RequestContext, volume_id: str) -> None:
        self._api.unmanage(ctxt, volume_id)

    @rpc.remote_boundary
    def delete_volume(self, ctxt: RequestContext, volume_id: str) -> None:
        self._api.delete_volume(ctxt, volume_id)

    @rpc.remote_boundary
    def get_manageable_volumes(
        self, ctxt: RequestContext, host: str, **page: Any
    ) -> list[dict[str, Any]]:
        return self._api.get_manageable_volumes(ctxt, host, PageRequest.from_rpc(**page))

    @rpc.remote_boundary
    def list_orphans(self, ctxt: RequestContext, host: str) -> list[dict[str, Any]]:
        return self._api.list_orphans(ctxt, host)

    @rpc.remote_boundary
    def readopt_orphan(
        self,
        ctxt: RequestContext,
        host: str,
        name: str,
        project_id: str | None = None,
        volume_type: str | None = None,
    ) -> VolumeRecord:
        return self._api.readopt(ctxt, host, name, project_id, volume_type)

    @rpc.remote_boundary
    def manage_existing_failed(
        self, ctxt: RequestContext, volume_id: str, reason: str, stage: str
    ) -> None:
        self._api.manage_existing_failed(ctxt, volume_id, reason, stage)

    @rpc.remote_boundary
    def manage_existing_snapshot(self, ctxt: RequestContext, **fields: Any) -> SnapshotRecord:
        """The fields of ``rpcapi.ApiAPI.manage_existing_snapshot``, checked into a
        SnapshotRequest."""
        validation.request_project(ctxt)  # the caller is checked before its fields
        validation.check_call_fields(
            "manage_existing_snapshot", fields, SNAPSHOT_FIELDS, SNAPSHOT_REQUIRED_FIELDS
        )
        request = validation.snapshot_request(self._api.conf, fields)
        return self._api.snapshots.manage(ctxt, request)

    @rpc.remote_boundary
    def get_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> SnapshotRecord:
        return self._api.snapshots.get(ctxt, snapshot_id)

    @rpc.remote_boundary
    def unmanage_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> None:
        self._api.snapshots.unmanage(ctxt, snapshot_id)

    @rpc.remote_boundary
    def manage_existing_snapshot_failed(
        self, ctxt: RequestContext, snapshot_id: str, reason: str
    ) -> None:
        self._api.snapshots.manage_failed(ctxt, snapshot_id, reason)
