"""Views of adoption plans and of their items."""

import datetime as dt
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from volmgr_api.rest.request import ApiRequest
from volmgr_api.rest.views import timestamp
from volmgr_api.rest.views.volumes import links

COLLECTION = "os-adoption-plans"


def _time(value: dt.datetime | None) -> str | None:
    return timestamp(value.isoformat()) if value is not None else None


def plan(req: ApiRequest, found: Mapping[str, Any]) -> dict[str, Any]:
    """One plan: what it covers, what it will do (``totals``) and whether it may still
    be applied (``status``: ready, applied or expired)."""
    return {
        "id": found["id"],
        "status": found["status"],
        "host": found["host"],
        "backend": found["backend"],
        "project_id": found["project_id"],
        "user_id": found["user_id"],
        "target_project_id": found["target_project_id"],
        "volume_type_id": found["volume_type_id"],
        "filters": found["filters"],
        "values": found["values"],
        "totals": found["totals"],
        "job_id": found["job_id"],
        "created_at": _time(found["created_at"]),
        "expires_at": _time(found["expires_at"]),
        "links": links(req, req.ctxt.project_id, COLLECTION, found["id"]),
    }


def item(found: Mapping[str, Any]) -> dict[str, Any]:
    """One object of a plan, its verdict and the fingerprint seen."""
    return {
        "position": found["position"],
        "source_name": found["source_name"],
        "reference": found["reference"],
        "size": found["size"],
        "verdict": found["verdict"],
        "reason": found["reason"],
        "volume_name": found["volume_name"],
        "fingerprint": found["fingerprint"],
    }


def items_links(
    req: ApiRequest, plan_id: str, items: Sequence[Mapping[str, Any]], limit: int
) -> list[dict[str, str]]:
    """A ``next`` link to the items after this page's last position, when the page is full."""
    if not items or len(items) < limit:
        return []
    params = dict(req.webob.GET.items())
    params["marker"] = str(items[-1]["position"])
    project = f"/{req.ctxt.project_id}" if req.project_in_url else ""
    href = f"{req.base_url}/v3{project}/{COLLECTION}/{plan_id}"
    return [{"rel": "next", "href": f"{href}?{urllib.parse.urlencode(params)}"}]
