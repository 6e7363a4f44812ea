"""The volume type view of ``GET types``; extra specs only where policy allows."""

from typing import Any

from volmgr_api.policies import volume_types as policy
from volmgr_api.rest.request import ApiRequest


def volume_type(req: ApiRequest, vtype: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": vtype["id"],
        "name": vtype["name"],
        "description": vtype["description"],
        "is_public": vtype["is_public"],
        "os-volume-type-access:is_public": vtype["is_public"],
        "qos_specs_id": None,
    }
    if req.allows(policy.EXTRA_SPECS, {"project_id": req.ctxt.project_id}):
        view["extra_specs"] = dict(vtype["extra_specs"])
    return view
