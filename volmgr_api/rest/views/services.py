"""The service views of ``os-services``: the listing (binary, host, zone, status, state,
...; ``cluster`` from 3.7, a volume service's ``backend_state`` from 3.49) and the
answer to a disable or enable."""

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
        if req.version.matches("3.49"):
            view["backend_state"] = backend_state(svc)
    return view


def backend_state(svc: dict[str, Any]) -> str | None:
    """The backend's state from its last capability report (3.49): the report's
    ``backend_state``, ``up`` when the driver names none (as Cinder); None before any
    report."""
    capabilities = svc.get("capabilities")
    if capabilities is None:
        return None
    return str(capabilities.get("backend_state", "up"))


def status_change(svc: dict[str, Any], binary: str, service: str) -> dict[str, Any]:
    """The answer of ``PUT os-services/disable|disable-log-reason|enable``, as Cinder's:
    ``binary`` (and ``service``) as the caller named them."""
    return {
        "host": svc["host"],
        "binary": binary,
        "service": service,
        "status": "disabled" if svc["disabled"] else "enabled",
        "disabled": svc["disabled"],
        "disabled_reason": svc["disabled_reason"],
    }


def list_view(req: ApiRequest, services: list[dict[str, Any]]) -> dict[str, Any]:
    return {"services": [service(req, svc) for svc in services]}
