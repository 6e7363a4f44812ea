"""``os-adoption-plans``: plan the adoption of a backend, list, show (items paged), delete.

``POST`` checks the body, has the backend's volume service read the backend and
store the plan, and answers 200 with the plan and its totals (a plan that covers
nothing is a valid plan). ``GET os-adoption-plans/{id}`` shows the plan with one
page of its items by position: ``marker`` (the last position seen), ``limit``
(at most 1000) and ``verdict`` (``manage`` or ``skip``).
"""

from volmgr_api import adoption
from volmgr_api.policies import adoption as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import DB_MAX_INT, Params, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import adoption_plans as views
from volmgr_api.rest.views.volumes import next_links
from volmgr_api.schemas import adoption_plan as schema
from volmgr_api.schemas import parameter_types


def create(req: ApiRequest) -> Reply:
    req.authorize(policy.CREATE_PLAN, {"project_id": req.ctxt.project_id})
    body = req.json_body(schema.validator(req.conf))["plan"]
    fields = dict(body, bootable=parameter_types.to_bool(body.get("bootable") or False))
    if isinstance(body.get("filters"), dict):
        filters = {key: value for key, value in body["filters"].items() if value is not None}
        if "safe_only" in filters:
            filters["safe_only"] = parameter_types.to_bool(filters["safe_only"])
        fields["filters"] = filters
    plan = req.api.adoption.create_plan(req.ctxt, fields)
    return Reply(200, {"plan": views.plan(req, plan)})


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL_PLANS, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("marker", "limit"))
    limit = params.limit(req.conf.api.max_list_limit)
    marker = params.get("marker")
    if marker is not None and not is_uuid(marker):
        raise faults.bad_request(f"Marker {marker[:40]} could not be found.")
    plans = req.api.adoption.list_plans(req.ctxt, marker, limit)
    body: dict = {"plans": [views.plan(req, plan) for plan in plans]}
    more = next_links(req, plans, limit, views.COLLECTION)
    if more:
        body["plans_links"] = more
    return Reply(200, body)


def _position(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) > DB_MAX_INT:
        raise faults.bad_request("marker must be the position of an item (an integer >= 0).")
    return int(text)


def show(req: ApiRequest, plan_id: str) -> Reply:
    req.authorize(policy.GET_PLAN, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("marker", "limit", "verdict"))
    if not is_uuid(plan_id):
        raise faults.not_found(f"Adoption plan {plan_id[:40]} could not be found.")
    limit = params.limit(adoption.MAX_ITEMS_PAGE)
    found = req.api.adoption.get_plan(req.ctxt, plan_id)
    items = req.api.adoption.plan_items(
        req.ctxt, plan_id, _position(params.get("marker")), limit, params.get("verdict")
    )
    body: dict = {"plan": dict(views.plan(req, found), items=[views.item(i) for i in items])}
    more = views.items_links(req, plan_id, items, limit)
    if more:
        body["items_links"] = more
    return Reply(200, body)


def delete(req: ApiRequest, plan_id: str) -> Reply:
    req.authorize(policy.DELETE_PLAN, {"project_id": req.ctxt.project_id})
    if not is_uuid(plan_id):
        raise faults.not_found(f"Adoption plan {plan_id[:40]} could not be found.")
    req.api.adoption.delete_plan(req.ctxt, plan_id)
    return Reply(202, None)
