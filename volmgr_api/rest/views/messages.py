"""The user message view of ``GET messages`` (microversion 3.3 and later)."""

from typing import Any

from volmgr_api.rest.request import ApiRequest
from volmgr_api.rest.views import timestamp
from volmgr_api.rest.views.volumes import links

COLLECTION = "messages"


def message(req: ApiRequest, msg: dict[str, Any]) -> dict[str, Any]:
    """One message. volmgr keeps messages until an operator removes them, so there is no
    expiry to promise: ``guaranteed_until`` is null."""
    return {
        "id": msg["id"],
        "event_id": msg["event_id"],
        "user_message": msg["user_message"],
        "message_level": msg["message_level"],
        "resource_type": msg["resource_type"],
        "resource_uuid": msg["resource_uuid"],
        "request_id": msg["request_id"],
        "created_at": timestamp(msg["created_at"]),
        "guaranteed_until": None,
        "links": links(req, req.ctxt.project_id, COLLECTION, msg["id"]),
    }
