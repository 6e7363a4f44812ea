"""``GET os-services``: the volmgr services, filtered by host and binary (admin only)."""

from volmgr_api.policies import services as policy
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import services as views

# Cinder's binary names, so that a filter written for Cinder finds volmgr's services.
BINARY_ALIASES = {
    "cinder-api": "volmgr-api",
    "cinder-scheduler": "volmgr-scheduler",
    "cinder-volume": "volmgr-volume",
}


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("host", "binary"))
    services = req.api.list_services(req.ctxt)
    if "host" in params:
        services = [s for s in services if s["host"] == params.get("host")]
    if "binary" in params:
        binary = params.get("binary") or ""
        binary = BINARY_ALIASES.get(binary, binary)
        services = [s for s in services if s["binary"] == binary]
    return Reply(200, views.list_view(req, services))
