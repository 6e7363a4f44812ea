"""``GET messages`` and ``GET messages/{id}`` (3.3+): why requests failed.

As in Cinder, a 3.3 or 3.4 listing takes no parameters (any given is ignored) and
lists every message, newest first. From 3.5 the query holds ``marker``, ``limit``,
``offset``, ``sort`` (or ``sort_key``/``sort_dir``) and filters (``resource_uuid``,
``resource_type``, ``event_id``, ``request_id``, ``message_level``), checked by
:mod:`volmgr_api.rest.filters` (from 3.31 a user's unknown filter is a 400; before,
it matches nothing); the database filters, sorts and pages, and a full page
carries ``messages_links`` with the ``next`` page, as in Cinder.
"""

from volmgr_api.policies import messages as policy
from volmgr_api.rest import faults, filters
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import messages as views
from volmgr_api.rest.views.volumes import next_links
from volmgr_common.db.messages import SORT_KEYS
from volmgr_common.page_request import PageRequest

MESSAGES_PAGINATION = "3.5"


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    limit = req.conf.api.max_list_limit
    if not req.version.matches(MESSAGES_PAGINATION):
        messages = req.api.list_messages(req.ctxt, {}, PageRequest(limit=limit))
        return Reply(200, {"messages": [views.message(req, m) for m in messages]})
    found = filters.user_filters(
        req.ctxt, req.version, "message", params.filters(), strip_unknown=False
    )
    if "resource_type" in found:
        found["resource_type"] = found["resource_type"].upper()
    page = PageRequest(
        marker=params.get("marker"),
        limit=params.limit(limit),
        offset=params.offset(),
        sort=tuple(check_sort(params.sort("created_at"), SORT_KEYS, max_keys=len(SORT_KEYS))),
    )
    messages = req.api.list_messages(req.ctxt, found, page)
    body = {"messages": [views.message(req, m) for m in messages]}
    more = next_links(req, messages, page.limit or limit, "messages")
    if more:
        body["messages_links"] = more
    return Reply(200, body)


def show(req: ApiRequest, message_id: str) -> Reply:
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    if not is_uuid(message_id):
        raise faults.not_found(f"Message {message_id[:40]} could not be found.")
    return Reply(200, {"message": views.message(req, req.api.get_message(req.ctxt, message_id))})
