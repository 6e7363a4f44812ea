"""``GET messages`` and ``GET messages/{id}`` (3.3+): why requests failed.

Filters (``resource_uuid``, ``resource_type``, ``event_id``, ``request_id``,
``message_level``) from 3.3; ``marker``, ``limit`` and ``sort`` from 3.5. Messages
are listed newest first unless ``sort`` says otherwise, as in Cinder.
"""

from typing import Any

from volmgr_api.policies import messages as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.views import messages as views
from volmgr_api.rest.wsgi import ApiRequest, Reply

FILTERS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")
PAGING = ("marker", "limit", "sort", "sort_key", "sort_dir")
SORT_KEYS = ("created_at", "id", "event_id", "resource_type", "resource_uuid", "message_level")


def _page(req: ApiRequest, params: Params, messages: list[dict[str, Any]]) -> list[dict]:
    pairs = check_sort(params.sort("created_at"), SORT_KEYS, max_keys=len(SORT_KEYS))
    for key, direction in reversed(pairs):
        messages.sort(key=lambda m, k=key: (m[k] or "", m["id"]), reverse=direction == "desc")
    marker = params.get("marker")
    if marker is not None:
        ids = [m["id"] for m in messages]
        if marker not in ids:
            raise faults.bad_request(f"Marker {marker[:40]} could not be found.")
        messages = messages[ids.index(marker) + 1 :]
    return messages[: params.limit(req.conf.api.max_list_limit)]


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, FILTERS + (PAGING if req.version.matches("3.5") else ()))
    messages = req.api.list_messages(req.ctxt)
    for key in FILTERS:
        if key in params:
            wanted = (params.get(key) or "").upper() if key == "resource_type" else params.get(key)
            messages = [m for m in messages if m[key] == wanted]
    messages = _page(req, params, messages)
    return Reply(200, {"messages": [views.message(req, m) for m in messages]})


def show(req: ApiRequest, message_id: str) -> Reply:
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    found = [m for m in req.api.list_messages(req.ctxt) if m["id"] == message_id]
    if not is_uuid(message_id) or not found:
        raise faults.not_found(f"Message {message_id[:40]} could not be found.")
    return Reply(200, {"message": views.message(req, found[0])})
