"""``os-audit``: audit a backend now (admin only).

``POST os-audit`` with ``{"audit": {"host": "host@backend"}}`` asks the backend's
volume service to check every volume it manages against the backend and answers,
once it is done, with the summary: how many volumes were checked, how many have
drift (by kind), how many drifts appeared and cleared, and the drifted volumes
(at most 1000 listed). A backend that is unknown or whose service is down is a
400, as for a manage.
"""

from volmgr_api.policies import audit as policy
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.schemas import audit as schema


def create(req: ApiRequest) -> Reply:
    """``POST os-audit``: 200 with ``{"audit": summary}``."""
    req.authorize(policy.AUDIT, {"project_id": req.ctxt.project_id})
    body = req.json_body(schema.AUDIT)
    summary = req.api.audit(req.ctxt, body["audit"]["host"])
    return Reply(200, {"audit": summary})
