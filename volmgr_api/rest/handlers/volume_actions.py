"""``POST volumes/{id}/action``: the one action volmgr serves, ``os-unmanage``."""

from volmgr_api.policies import manageable_volumes as policy
from volmgr_api.rest import faults
from volmgr_api.rest.handlers.volumes import find
from volmgr_api.rest.request import ApiRequest, Reply, validate
from volmgr_api.schemas import volume_actions as schema


def action(req: ApiRequest, volume_id: str) -> Reply:
    body = req.json_body(schema.ACTION)
    [name] = body
    if name not in schema.ACTIONS:
        raise faults.bad_request(
            f"There is no such action: {name[:40]}. Verify the request body and "
            "Content-Type header and try again."
        )
    validate(body, schema.UNMANAGE)
    return unmanage(req, volume_id)


def unmanage(req: ApiRequest, volume_id: str) -> Reply:
    """``{"os-unmanage": null}``: stop managing; the backend object stays (202)."""
    req.authorize(policy.UNMANAGE, {"project_id": req.ctxt.project_id})
    find(req, volume_id)
    req.api.unmanage(req.ctxt, volume_id)
    return Reply(202)
