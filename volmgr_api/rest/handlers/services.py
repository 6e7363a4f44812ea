"""``os-services``: list the volmgr services; disable and enable one (admin only).

``GET os-services`` filters by host and binary. ``PUT os-services/disable``,
``disable-log-reason`` and ``enable`` answer as Cinder does (``host``, ``binary``,
``status``, ``disabled``, ``disabled_reason``), so that ``cinder service-disable``
and ``openstack volume service set`` work. A disabled volume service takes no new
manages. The service is named in the body; one that does not exist is 404, as in
Cinder: it is the resource the request changes, not a reference to another one.
"""

from jsonschema.protocols import Validator

from volmgr_api.policies import services as policy
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import services as views
from volmgr_api.schemas import services as schema

# Cinder's binary names, so that a filter written for Cinder finds volmgr's services.
BINARY_ALIASES = {
    "cinder-api": "volmgr-api",
    "cinder-scheduler": "volmgr-scheduler",
    "cinder-volume": "volmgr-volume",
}


def volmgr_binary(binary: str) -> str:
    """volmgr's name of a binary given by its Cinder name or its own."""
    return BINARY_ALIASES.get(binary, binary)


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    binary = params.get("binary")
    if binary is not None:
        binary = volmgr_binary(binary)
    services = req.api.list_services(req.ctxt, binary=binary, host=params.get("host"))
    return Reply(200, views.list_view(req, services))


def _set_status(req: ApiRequest, validator: Validator, disabled: bool) -> Reply:
    req.authorize(policy.UPDATE, {"project_id": req.ctxt.project_id})
    body = req.json_body(validator)
    given_binary = body.get("binary") or body["service"]
    service = req.api.set_service_status(
        req.ctxt,
        body["host"],
        volmgr_binary(given_binary),
        disabled,
        body.get("disabled_reason"),
    )
    return Reply(200, views.status_change(service, given_binary, body.get("service", "")))


def disable(req: ApiRequest) -> Reply:
    """``PUT os-services/disable``: the service takes no new work; no reason recorded."""
    return _set_status(req, schema.ENABLE_AND_DISABLE, disabled=True)


def disable_log_reason(req: ApiRequest) -> Reply:
    """``PUT os-services/disable-log-reason``: disable, recording ``disabled_reason``."""
    return _set_status(req, schema.DISABLE_LOG_REASON, disabled=True)


def enable(req: ApiRequest) -> Reply:
    """``PUT os-services/enable``: the service takes work again; its reason is cleared."""
    return _set_status(req, schema.ENABLE_AND_DISABLE, disabled=False)
