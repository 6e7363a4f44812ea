"""Client of the volmgr-api RPC interface, for other services and for volmgr itself.

API version history:

* 1.0 - manage_existing, get_volume, list_volumes (calls);
        manage_existing_failed (cast, compensation from scheduler and volume).
"""

from typing import Any

from volmgr_common import rpc
from volmgr_common.context import RequestContext

TOPIC = "volmgr-api"
RPC_API_VERSION = "1.0"


class ApiAPI:
    """Talk to any volmgr-api worker."""

    def __init__(self, messaging: rpc.Messaging, timeout: int | None = None) -> None:
        self.client = messaging.client(TOPIC, RPC_API_VERSION, timeout=timeout)

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
    ) -> dict[str, Any]:
        """Call (1.0): bring the object ``ref`` on ``host`` (``host@backend[#pool]``) under
        management; returns the new volume in status ``managing``."""
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(
            ctxt,
            "manage_existing",
            host=host,
            ref=ref,
            name=name,
            description=description,
            volume_type=volume_type,
            availability_zone=availability_zone,
            metadata=metadata,
            bootable=bootable,
        )

    def get_volume(self, ctxt: RequestContext, volume_id: str) -> dict[str, Any]:
        """Call (1.0): one volume of the caller's project (any project for an admin)."""
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(ctxt, "get_volume", volume_id=volume_id)

    def list_volumes(
        self,
        ctxt: RequestContext,
        status: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]:
        """Call (1.0): the caller's volumes, oldest first, paged by ``marker``."""
        cctxt = self.client.prepare(version="1.0")
        return cctxt.call(ctxt, "list_volumes", status=status, limit=limit, marker=marker)

    def manage_existing_failed(
        self, ctxt: RequestContext, volume_id: str, reason: str, stage: str
    ) -> None:
        """Cast (1.0): compensation. A later stage failed and undid its own work; the API
        gives back the quota it charged and records ``error_managing`` with ``reason``."""
        cctxt = self.client.prepare(version="1.0")
        cctxt.cast(ctxt, "manage_existing_failed", volume_id=volume_id, reason=reason, stage=stage)
