"""The service view of ``GET os-services``: binary, host, zone, status, state, ..."""

from typing import Any

from volmgr_api.rest.request import ApiRequest
from volmgr_api.rest.views import timestamp

VOLUME_BINARY = "volmgr-volume"


def service(req: ApiRequest, svc: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "binary": svc["binary"],
        "host": svc["host"],
        "zone": svc["availability_zone"],
        "status": "disabled" if svc["disabled"] else "enabled",
        "state": "up" if svc.get("is_up") else "down",
        "updated_at": timestamp(svc["last_heartbeat"]),
        "disabled_reason": svc["disabled_reason"],
    }
    if req.version.matches("3.7"):
        view["cluster"] = svc.get("cluster_name")
    if svc["binary"] == VOLUME_BINARY:
        view.update(replication_status="disabled", active_backend_id=None, frozen=False)
    return view


def list_view(req: ApiRequest, services: list[dict[str, Any]]) -> dict[str, Any]:
    return {"services": [service(req, svc) for svc in services]}
