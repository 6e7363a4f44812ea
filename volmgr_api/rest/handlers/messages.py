"""``GET messages`` and ``GET messages/{id}`` (3.3+): why requests failed.

Filters (``resource_uuid``, ``resource_type``, ``event_id``, ``request_id``,
``message_level``) from 3.3; ``marker``, ``limit`` and ``sort`` from 3.5. Messages
are listed newest first unless ``sort`` says otherwise, as in Cinder.
"""

from volmgr_api.policies import messages as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import messages as views
from volmgr_common.db.messages import FILTER_KEYS, SORT_KEYS
from volmgr_common.page_request import PageRequest

PAGING = ("marker", "limit", "sort", "sort_key", "sort_dir")


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    paging = req.version.matches("3.5")
    params = Params(req.webob.GET, FILTER_KEYS + (PAGING if paging else ()))
    filters = {key: params.get(key) or "" for key in FILTER_KEYS if key in params}
    if "resource_type" in filters:
        filters["resource_type"] = filters["resource_type"].upper()
    page = PageRequest(
        marker=params.get("marker"),
        limit=params.limit(req.conf.api.max_list_limit),
        sort=tuple(check_sort(params.sort("created_at"), SORT_KEYS, max_keys=len(SORT_KEYS))),
    )
    messages = req.api.list_messages(req.ctxt, filters, page)
    return Reply(200, {"messages": [views.message(req, m) for m in messages]})


def show(req: ApiRequest, message_id: str) -> Reply:
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    if not is_uuid(message_id):
        raise faults.not_found(f"Message {message_id[:40]} could not be found.")
    return Reply(200, {"message": views.message(req, req.api.get_message(req.ctxt, message_id))})
