"""``GET os-quota-sets/{project_id}[?usage=True]``: a project's limits, and usage."""

from volmgr_api import validation
from volmgr_api.policies import quotas as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import quotas as views


def show(req: ApiRequest, target_project_id: str) -> Reply:
    """The quota set of ``target_project_id``: the caller's own, any project's for an admin."""
    params = Params(req.webob.GET, ("usage",))
    with_usage = params.boolean("usage")
    if not validation.PROJECT_ID.match(target_project_id):
        raise faults.bad_request("The project id is not valid.")
    req.authorize(policy.SHOW, {"project_id": target_project_id})
    usage = req.api.quota_usage(req.ctxt, target_project_id)
    return Reply(200, views.quota_set(target_project_id, usage, with_usage))
