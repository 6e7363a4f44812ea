"""``snapshots``: list (summary and detail), show, delete a failed manage, and the one
action, ``os-unmanage``.

Listings as Cinder's: newest first unless ``sort`` (or ``sort_key``/``sort_dir``)
says otherwise, after ``marker``, ``offset`` and ``limit``; filters ``status``
(Cinder's status names), ``volume_id``, ``name`` and ``metadata`` (3.22), checked per
microversion as Cinder checks them (:mod:`volmgr_api.rest.filters`: a member's
unknown filter is dropped before 3.31, a 400 from it; an administrator's matches
nothing); an admin's ``all_tenants`` lists every project's. A delete removes only
the record of a failed manage (status ``error``); any other status is 400 (unmanage
it instead). From 3.45 ``with_count`` adds ``count``, how many snapshots match in
all pages (one SQL count).
"""

from volmgr_api.policies import snapshots as policy
from volmgr_api.rest import faults, filters
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply, validate
from volmgr_api.rest.views import snapshots as views
from volmgr_api.schemas import volume_actions as actions
from volmgr_common.db import snapshots as snapshots_db
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.page_request import PageRequest

NOT_FILTERS = ("all_tenants", "with_count")
WITH_COUNT = "3.45"
"""From this version ``with_count`` adds ``count``: how many match in all pages."""
ADDED_FILTERS = (("3.22", "metadata"),)
"""Filters that came with a microversion (dropped from older requests before 3.31)."""


def _filters(req: ApiRequest, params: Params) -> dict[str, object]:
    """The filters of a snapshot listing, typed; 400 for one the caller may not use."""
    found: dict[str, object] = dict(
        filters.user_filters(
            req.ctxt, req.version, "snapshot", params.filters(NOT_FILTERS), ADDED_FILTERS
        )
    )
    if "status" in found:
        found["status"] = views.internal_status(str(found["status"]))
    if "metadata" in found:
        found["metadata"] = filters.literal(str(found["metadata"]))
    return found


def _list(req: ApiRequest, detailed: bool) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    limit = params.limit(req.conf.api.max_list_limit)
    sort = check_sort(
        params.sort("created_at", "desc"),
        snapshots_db.SORT_KEYS,
        max_keys=len(snapshots_db.SORT_KEYS),
    )
    marker = params.get("marker")
    if marker is not None and not is_uuid(marker):
        raise faults.not_found(f"Snapshot {marker[:40]} could not be found.")
    page = PageRequest(marker, limit, params.offset(), tuple(sort))
    wanted = _filters(req, params)
    all_projects = bool(req.ctxt.is_admin and params.boolean("all_tenants"))
    found = req.api.snapshots.list_snapshots(req.ctxt, page, all_projects, wanted)
    count = None
    if req.version.matches(WITH_COUNT) and params.boolean("with_count"):
        count = req.api.snapshots.count_snapshots(req.ctxt, all_projects, wanted)
    return Reply(200, views.list_view(req, found, limit, detailed, count))


def index(req: ApiRequest) -> Reply:
    """``GET snapshots``: each snapshot's summary."""
    return _list(req, detailed=False)


def detail(req: ApiRequest) -> Reply:
    """``GET snapshots/detail``: each snapshot with its extended attributes."""
    return _list(req, detailed=True)


def find(req: ApiRequest, snapshot_id: str) -> SnapshotRecord:
    if not is_uuid(snapshot_id):
        raise faults.not_found(f"Snapshot {snapshot_id[:40]} could not be found.")
    return req.api.snapshots.get(req.ctxt, snapshot_id)


def show(req: ApiRequest, snapshot_id: str) -> Reply:
    """``GET snapshots/{id}``."""
    snapshot = find(req, snapshot_id)
    req.authorize(policy.GET, {"project_id": snapshot["project_id"]})
    return Reply(200, {"snapshot": views.detail(req, snapshot)})


def delete(req: ApiRequest, snapshot_id: str) -> Reply:
    """``DELETE snapshots/{id}``: remove the record of a failed manage (202)."""
    snapshot = find(req, snapshot_id)
    req.authorize(policy.DELETE, {"project_id": snapshot["project_id"]})
    req.api.snapshots.delete(req.ctxt, snapshot_id)
    return Reply(202)


def action(req: ApiRequest, snapshot_id: str) -> Reply:
    """``POST snapshots/{id}/action``: ``{"os-unmanage": null}`` stops managing the
    snapshot; the backend object stays under its managed name (202)."""
    body = req.json_body(actions.ACTION)
    [name] = body
    if name not in actions.ACTIONS:
        raise faults.bad_request(
            f"There is no such action: {name[:40]}. Verify the request body and "
            "Content-Type header and try again."
        )
    validate(body, actions.UNMANAGE)
    req.authorize(policy.UNMANAGE, {"project_id": req.ctxt.project_id})
    find(req, snapshot_id)
    req.api.snapshots.unmanage(req.ctxt, snapshot_id)
    return Reply(202)
