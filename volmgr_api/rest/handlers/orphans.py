"""``os-orphans``: the objects of a backend in managed form that no volume knows, and
their re-adoption (admin only).

``GET os-orphans?host=host@backend`` lists the orphans that the last audit of the
backend found (periodic, or ``POST os-audit``) and that no volume row knows now,
with what the backend said of each (``name``, ``volume_id``, ``identity``,
``size``, ``size_bytes``, ``original_name``, ``project_id``, ``marks``,
``released_at``: when a user's unmanage let it go, as its release mark says, else
null) and when audits first and last saw it (``first_seen_at``, ``last_seen_at``). It is paged as
the other listings are: ``limit`` (at most ``[api] max_list_limit``), ``marker``
(an orphan's name), ``offset``, ``sort`` (or ``sort_key``/``sort_dir``) by
``name`` (the default, ascending), ``volume_id``, ``size_bytes``,
``first_seen_at`` or ``last_seen_at``; a full page carries ``orphans_links`` with
the ``next`` page. A bad limit, offset, sort or marker, or any other parameter, is
a 400. ``POST
os-orphans/action`` with ``{"os-readopt": {"host", "name"[, "project_id"][,
"volume_type"]}}`` re-adopts one under the volume id its name carries and its
original project, without renaming it: 202 with the new volume (``creating``, as a
manage). No orphan of that name is 404, a name a volume already holds 409, an
orphan whose project is neither recorded nor given 400.
"""

from typing import Any

from volmgr_api.policies import orphans as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import PAGING, Params, check_sort
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import volumes as volume_views
from volmgr_api.schemas import orphans as schema
from volmgr_common.db.backend_orphans import DEFAULT_SORT, SORT_KEYS
from volmgr_common.notifications import ORPHAN_KEYS
from volmgr_common.page_request import PageRequest

# What a volume.orphan notification says of an orphan, and when the audits saw it.
VIEW_KEYS = (*ORPHAN_KEYS, "first_seen_at", "last_seen_at")
COLLECTION = "os-orphans"


def index(req: ApiRequest) -> Reply:
    """``GET os-orphans?host=...``: 200 with ``{"orphans": [...]}`` (and
    ``orphans_links`` after a full page)."""
    req.authorize(policy.LIST, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("host", *PAGING))
    host = params.get("host")
    if not host:
        raise faults.bad_request("Host field is missing.")
    limit = req.conf.api.max_list_limit
    default_key, default_dir = DEFAULT_SORT
    page = PageRequest(
        marker=params.get("marker"),
        limit=params.limit(limit),
        offset=params.offset(),
        sort=tuple(
            check_sort(params.sort(default_key, default_dir), SORT_KEYS, max_keys=len(SORT_KEYS))
        ),
    )
    orphans = req.api.list_audited_orphans(req.ctxt, host, page)
    body: dict[str, Any] = {"orphans": [{key: o.get(key) for key in VIEW_KEYS} for o in orphans]}
    more = volume_views.next_links(req, orphans, page.limit or limit, COLLECTION, "name")
    if more:
        body["orphans_links"] = more
    return Reply(200, body)


def action(req: ApiRequest) -> Reply:
    """``POST os-orphans/action`` (``os-readopt``): 202 with the re-adopted volume."""
    req.authorize(policy.READOPT, {"project_id": req.ctxt.project_id})
    body = req.json_body(schema.READOPT)["os-readopt"]
    volume = req.api.readopt(
        req.ctxt, body["host"], body["name"], body.get("project_id"), body.get("volume_type")
    )
    return Reply(202, {"volume": volume_views.detail(req, volume)})
