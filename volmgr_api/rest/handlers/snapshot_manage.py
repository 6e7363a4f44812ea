"""``os-snapshot-manage`` and ``manageable_snapshots`` (3.8+): manage a snapshot, and
list the snapshot objects of a backend.

A manage body is ``{"snapshot": {"volume_id", "ref", "name", "description",
"metadata"}}``; the answer is 202 with the snapshot (status ``creating`` while it is
being managed), as Cinder's. A listing takes what the volumes' takes (``host`` or,
from 3.17, ``cluster``; ``marker``, ``limit``, ``offset``, ``sort``) and gives each
entry's ``source_reference``: the object it is a snapshot of.
"""

from volmgr_api import validation
from volmgr_api.policies import snapshots as policy
from volmgr_api.rest.handlers.volume_manage import listing_request, named_as
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import snapshots as views
from volmgr_api.schemas import snapshot_manage as schema


def create(req: ApiRequest) -> Reply:
    """``POST os-snapshot-manage`` (and ``POST manageable_snapshots``): 202 with the
    snapshot."""
    req.authorize(policy.MANAGE, {"project_id": req.ctxt.project_id})
    snapshot = req.json_body(schema.validator(req.conf))["snapshot"]
    validation.request_project(req.ctxt)
    request = validation.snapshot_request(req.conf, snapshot)
    created = req.api.snapshots.manage(req.ctxt, request)
    return Reply(202, {"snapshot": views.detail(req, created)})


def _listing(req: ApiRequest, detailed: bool) -> Reply:
    req.authorize(policy.LIST_MANAGEABLE, {"project_id": req.ctxt.project_id})
    host, kind, page = listing_request(req)
    with named_as(kind):
        entries = req.api.snapshots.get_manageable(req.ctxt, host, page)
    return Reply(200, views.manageable_view(entries, detailed))


def index(req: ApiRequest) -> Reply:
    """``GET os-snapshot-manage``: reference, size, safe_to_manage, source_reference."""
    return _listing(req, detailed=False)


def detail(req: ApiRequest) -> Reply:
    """``GET .../detail``: adds reason_not_safe, cinder_id and extra_info."""
    return _listing(req, detailed=True)
