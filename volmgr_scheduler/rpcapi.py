"""Client of the volmgr-scheduler RPC interface, for the API and the volume services.

API version history:

* 1.0 - manage_existing (cast), update_service_capabilities (fanout cast).
* 1.1 - manage_existing_batch (cast): several manage_existing in one message.

``[upgrade_levels] scheduler`` caps the version sent; under a cap below 1.1 a
batch goes out as one ``manage_existing`` cast per request.
"""

from typing import Any

from volmgr_common import rpc
from volmgr_common.context import RequestContext
from volmgr_common.manage_request import RequestSpec

TOPIC = "volmgr-scheduler"
RPC_API_VERSION = "1.1"
UPGRADE_LEVEL = "scheduler"
"""This API's option in ``[upgrade_levels]``."""


class SchedulerAPI:
    """Send requests to the schedulers (any one of them; capability reports to all)."""

    def __init__(self, messaging: rpc.Messaging, retry: int | None = None) -> None:
        """``retry``: see :meth:`volmgr_common.rpc.Messaging.client` (None: no bound)."""
        self.client = messaging.client(
            TOPIC, RPC_API_VERSION, retry=retry, upgrade_level=UPGRADE_LEVEL
        )

    def manage_existing(
        self, ctxt: RequestContext, volume_id: str, request_spec: RequestSpec
    ) -> None:
        """Cast (1.0): place a ``managing`` volume row on a backend that passes the filters."""
        cctxt = self.client.prepare(version="1.0")
        cctxt.cast(
            ctxt, "manage_existing", volume_id=volume_id, request_spec=request_spec.to_wire()
        )

    def manage_existing_batch(
        self, ctxt: RequestContext, requests: list[tuple[RequestContext, str, RequestSpec]]
    ) -> None:
        """Cast (1.1): ``manage_existing`` for each ``(context, volume_id, request_spec)``.

        One message for all; each request keeps its own context (its request id,
        user and project); the message's own context is ``ctxt``. Under a version cap
        below 1.1 (services of an older release still run), one 1.0 ``manage_existing``
        cast per request.
        """
        if len(requests) == 1 or not self.client.can_send_version("1.1"):
            for request in requests:
                self.manage_existing(*request)
            return
        cctxt = self.client.prepare(version="1.1")
        payload = [
            rpc.batch_entry(context, volume_id=volume_id, request_spec=spec.to_wire())
            for context, volume_id, spec in requests
        ]
        cctxt.cast(ctxt, "manage_existing_batch", requests=payload)

    def update_service_capabilities(
        self, ctxt: RequestContext, host: str, capabilities: dict[str, Any]
    ) -> None:
        """Fanout cast (1.0): a volume service's latest capabilities, to every scheduler."""
        cctxt = self.client.prepare(fanout=True, version="1.0")
        cctxt.cast(ctxt, "update_service_capabilities", host=host, capabilities=capabilities)
