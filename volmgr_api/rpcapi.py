"""Client of the volmgr-api RPC interface, for other services and for volmgr itself.

API version history:

* 1.0 - manage_existing, get_volume, list_volumes, unmanage_volume, delete_volume,
        get_manageable_volumes (calls); manage_existing_failed (cast, the
        compensation that the scheduler and the volume services send).
* 1.1 - manage_existing_snapshot, get_snapshot, unmanage_snapshot (calls);
        manage_existing_snapshot_failed (cast, the volume service's compensation).

* 1.2 - list_orphans, readopt_orphan (calls; administrators only): the objects of
        a backend in managed form that no volume knows, and their re-adoption.
* 1.3 - manage_existing takes ``with_snapshots``: adopt the object with the
        snapshots built on it (a chain) in one request.

``[upgrade_levels] api`` caps the version sent: a 1.1 method under a lower cap
raises SnapshotsNotSupported before anything is sent; under a cap below 1.2 the
orphan calls are refused (ServiceUnavailable) rather than sent to an API that
lacks them; under a cap below 1.3 a manage ``with_snapshots`` is refused
(InvalidInput, 400) rather than sent without its snapshots.
"""

from typing import Any

from volmgr_common import exception, rpc
from volmgr_common.context import RequestContext
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.manage_request import ManageRequest, SnapshotRequest
from volmgr_common.page_request import MANAGEABLE_DEFAULT_SORT, PageRequest

TOPIC = "volmgr-api"
RPC_API_VERSION = "1.3"
UPGRADE_LEVEL = "api"
"""This API's option in ``[upgrade_levels]``."""


class ApiAPI:
    """Talk to any volmgr-api worker."""

    def __init__(self, messaging: rpc.Messaging, timeout: int | None = None) -> None:
        self.client = messaging.client(
            TOPIC, RPC_API_VERSION, timeout=timeout, upgrade_level=UPGRADE_LEVEL
        )

    def manage_existing(
        self,
        ctxt: RequestContext,
        host: str,
        ref: dict[str, Any],
        name: str | None = None,
        description: str | None = None,
        volume_type: str | None = None,
        availability_zone: str | None = None,
        metadata: dict[str, str] | None = None,
        bootable: bool = False,
        with_snapshots: bool = False,
    ) -> VolumeRecord:
        """Call (1.0): bring the object ``ref`` on ``host`` (``host@backend[#pool]``)
        under management; returns the new volume in status ``managing``. With
        ``with_snapshots`` (1.3) the snapshots built on it are adopted with it."""
        request = ManageRequest(
            host=host,
            ref=ref,
            name=name,
            description=description,
            volume_type=volume_type,
            availability_zone=availability_zone,
            metadata=metadata if metadata is not None else {},
            bootable=bootable,
            with_snapshots=with_snapshots,
        )
        return self.manage(ctxt, request)

    def manage(self, ctxt: RequestContext, request: ManageRequest) -> VolumeRecord:
        """Call (1.0): ``manage_existing`` of a :class:`ManageRequest`; 1.3 for a chain
        (``with_snapshots``), refused under a lower cap (InvalidInput, nothing sent)."""
        version = "1.0"
        if request.with_snapshots:
            version = "1.3"
            if not self.client.can_send_version(version):
                raise exception.InvalidInput(
                    reason="adopting a volume with its snapshots needs volmgr-api of RPC "
                    "version 1.3 ([upgrade_levels] api caps it lower)"
                )
        cctxt = self.client.prepare(version=version)
        return cctxt.call(ctxt, "manage_existing", **request.to_wire())

    def get_volume(self, ctxt: RequestContext, volume_id: str) -> VolumeRecord:
        """Call (1.0): one volume of the caller's project (any project for an admin)."""
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(ctxt, "get_volume", volume_id=volume_id)

    def list_volumes(
        self, ctxt: RequestContext, page: PageRequest, status: str | None = None
    ) -> list[VolumeRecord]:
        """Call (1.0): the caller's volumes, oldest first, after the page's marker.

        The 1.0 call carries the page's ``marker`` and ``limit`` only.
        """
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(ctxt, "list_volumes", status=status, limit=page.limit, marker=page.marker)

    def unmanage_volume(self, ctxt: RequestContext, volume_id: str) -> None:
        """Call (1.0): stop managing a volume; the backend object stays where it is."""
        self.client.prepare(version="1.0").call(ctxt, "unmanage_volume", volume_id=volume_id)

    def delete_volume(self, ctxt: RequestContext, volume_id: str) -> None:
        """Call (1.0): remove the record of a failed manage (never touches the backend)."""
        self.client.prepare(version="1.0").call(ctxt, "delete_volume", volume_id=volume_id)

    def get_manageable_volumes(
        self,
        ctxt: RequestContext,
        host: str,
        page: PageRequest,
    ) -> list[dict[str, Any]]:
        """Call (1.0): one page of the objects on ``host@backend`` and whether each can be
        managed; the page travels as ``marker``, ``limit``, ``offset``, ``sort_key`` and
        ``sort_dir``."""
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(
            ctxt,
            "get_manageable_volumes",
            host=host,
            **page.rpc_kwargs(MANAGEABLE_DEFAULT_SORT),
        )

    def manage_existing_failed(
        self, ctxt: RequestContext, volume_id: str, reason: str, stage: str
    ) -> None:
        """Cast (1.0): compensation. A later stage failed and undid its own work; the API
        gives back the quota it charged and records ``error_managing`` with ``reason``."""
        cctxt = self.client.prepare(version="1.0")
        cctxt.cast(ctxt, "manage_existing_failed", volume_id=volume_id, reason=reason, stage=stage)

    def _snapshots(self) -> Any:
        """The 1.1 call context; SnapshotsNotSupported under a lower cap."""
        if not self.client.can_send_version("1.1"):
            raise exception.SnapshotsNotSupported(
                backend="volmgr-api", reason="[upgrade_levels] api is below 1.1"
            )
        return self.client.prepare(version="1.1")

    def manage_existing_snapshot(
        self,
        ctxt: RequestContext,
        volume_id: str,
        ref: dict[str, Any],
        name: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> SnapshotRecord:
        """Call (1.1): bring the snapshot object ``ref`` of volume ``volume_id`` under
        management; returns the new snapshot in status ``managing``."""
        request = SnapshotRequest(volume_id, ref, name, description, metadata or {})
        return self._snapshots().call(ctxt, "manage_existing_snapshot", **request.to_wire())

    def get_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> SnapshotRecord:
        """Call (1.1): one snapshot of the caller's project (any project for an admin)."""
        return self._snapshots().call(ctxt, "get_snapshot", snapshot_id=snapshot_id)

    def unmanage_snapshot(self, ctxt: RequestContext, snapshot_id: str) -> None:
        """Call (1.1): stop managing a snapshot; the object stays where it is."""
        self._snapshots().call(ctxt, "unmanage_snapshot", snapshot_id=snapshot_id)

    def manage_existing_snapshot_failed(
        self, ctxt: RequestContext, snapshot_id: str, reason: str
    ) -> None:
        """Cast (1.1): compensation. The volume service failed the snapshot's manage and
        undid its own work; the API releases its quota and records ``error_managing``."""
        self._snapshots().cast(
            ctxt, "manage_existing_snapshot_failed", snapshot_id=snapshot_id, reason=reason
        )

    def _orphan_client(self, host: str) -> Any:
        """A client prepared for 1.2, or ServiceUnavailable under a lower cap."""
        if not self.client.can_send_version("1.2"):
            raise exception.ServiceUnavailable(
                host=host, reason="[upgrade_levels] api caps RPC below 1.2: no orphan calls"
            )
        return self.client.prepare(version="1.2")

    def list_orphans(self, ctxt: RequestContext, host: str) -> list[dict[str, Any]]:
        """Call (1.2): the objects of ``host@backend`` in managed form that no volume
        knows, with what the backend says of each (administrators only)."""
        return self._orphan_client(host).call(ctxt, "list_orphans", host=host)

    def readopt_orphan(
        self,
        ctxt: RequestContext,
        host: str,
        name: str,
        project_id: str | None = None,
        volume_type: str | None = None,
    ) -> VolumeRecord:
        """Call (1.2): re-adopt the orphan ``name`` of ``host`` under its volume id and
        original project (``project_id`` when the backend records none), without a
        rename; returns the new volume in status ``managing`` (administrators only)."""
        return self._orphan_client(host).call(
            ctxt,
            "readopt_orphan",
            host=host,
            name=name,
            project_id=project_id,
            volume_type=volume_type,
        )
