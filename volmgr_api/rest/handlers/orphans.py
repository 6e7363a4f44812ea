"""``os-orphans``: the objects of a backend in managed form that no volume knows, and
their re-adoption (admin only).

``GET os-orphans?host=host@backend`` lists them, sorted by name, with what the
backend says of each (``name``, ``volume_id``, ``identity``, ``size``,
``size_bytes``, ``original_name``, ``project_id``, ``marks``). ``POST
os-orphans/action`` with ``{"os-readopt": {"host", "name"[, "project_id"][,
"volume_type"]}}`` re-adopts one under the volume id its name carries and its
original project, without renaming it: 202 with the new volume (``creating``, as a
manage). No orphan of that name is 404, a name a volume already holds 409, an
orphan whose project is neither recorded nor given 400.
"""

from volmgr_api.policies import orphans as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import volumes as volume_views
from volmgr_api.schemas import orphans as schema

VIEW_KEYS = (
    "name",
    "volume_id",
    "identity",
    "size",
    "size_bytes",
    "original_name",
    "project_id",
    "marks",
)


def index(req: ApiRequest) -> Reply:
    """``GET os-orphans?host=...``: 200 with ``{"orphans": [...]}``."""
    req.authorize(policy.LIST, {"project_id": req.ctxt.project_id})
    host = Params(req.webob.GET, None).get("host")
    if not host:
        raise faults.bad_request("Host field is missing.")
    orphans = req.api.list_orphans(req.ctxt, host)
    return Reply(200, {"orphans": [{key: o.get(key) for key in VIEW_KEYS} for o in orphans]})


def action(req: ApiRequest) -> Reply:
    """``POST os-orphans/action`` (``os-readopt``): 202 with the re-adopted volume."""
    req.authorize(policy.READOPT, {"project_id": req.ctxt.project_id})
    body = req.json_body(schema.READOPT)["os-readopt"]
    volume = req.api.readopt(
        req.ctxt, body["host"], body["name"], body.get("project_id"), body.get("volume_type")
    )
    return Reply(202, {"volume": volume_views.detail(req, volume)})
