"""``GET types`` and ``GET types/{id}``: the volume types a manage request may name.

``is_public`` filters the list; ``is_public=None`` (what python-cinderclient sends)
lists every type.
"""

from volmgr_api.policies import volume_types as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import types as views


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("is_public",))
    types = req.api.list_types(req.ctxt)
    is_public_value = params.get("is_public")
    if is_public_value is not None and is_public_value.lower() != "none":
        is_public = params.boolean("is_public")
        types = [t for t in types if bool(t["is_public"]) == is_public]
    return Reply(200, {"volume_types": [views.volume_type(req, t) for t in types]})


def show(req: ApiRequest, type_id: str) -> Reply:
    """One type, by id (or, for convenience, by name)."""
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    found = [t for t in req.api.list_types(req.ctxt) if type_id in (t["id"], t["name"])]
    if not found:
        raise faults.not_found(f"Volume type {type_id[:40]} could not be found.")
    return Reply(200, {"volume_type": views.volume_type(req, found[0])})
