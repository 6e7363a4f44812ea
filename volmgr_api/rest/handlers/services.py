"""``GET os-services``: the volmgr services, filtered by host and binary (admin only).

As in Cinder, ``host`` and ``binary`` are the only filters and any other query
parameter is ignored; the database applies them.
"""

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
    params = Params(req.webob.GET, None)
    binary = params.get("binary")
    if binary is not None:
        binary = BINARY_ALIASES.get(binary, binary)
    services = req.api.list_services(req.ctxt, binary=binary, host=params.get("host"))
    return Reply(200, views.list_view(req, services))
