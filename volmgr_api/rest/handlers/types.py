"""``GET types`` and ``GET types/{id}``: the volume types a manage request may name.

``is_public`` filters the list; ``is_public=None`` (what python-cinderclient sends)
lists every type. From 3.52 ``extra_specs`` (a dict, written as Cinder reads it:
``{'volume_backend_name': 'files'}``) keeps the types that have every pair; a caller
who may not see extra specs gets none, as in Cinder, rather than a list that ignores
the filter.
"""

import ast
from typing import Any

from volmgr_api.policies import volume_types as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import types as views

EXTRA_SPECS_FILTER = "3.52"


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    extra = ("extra_specs",) if req.version.matches(EXTRA_SPECS_FILTER) else ()
    params = Params(req.webob.GET, ("is_public", *extra))
    types = req.api.list_types(req.ctxt)
    is_public_value = params.get("is_public")
    if is_public_value is not None and is_public_value.lower() != "none":
        is_public = params.boolean("is_public")
        types = [t for t in types if bool(t["is_public"]) == is_public]
    if "extra_specs" in params:
        wanted = _extra_specs(params.get("extra_specs") or "")
        if not req.allows(policy.EXTRA_SPECS, {"project_id": req.ctxt.project_id}):
            types = []
        types = [t for t in types if wanted.items() <= dict(t["extra_specs"]).items()]
    return Reply(200, {"volume_types": [views.volume_type(req, t) for t in types]})


def _extra_specs(text: str) -> dict[str, str]:
    """The ``extra_specs`` filter: a dict of strings in Python or JSON notation."""
    try:
        value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise faults.bad_request("extra_specs must be a dict of strings, e.g. {'key': 'value'}.")
    return value


def show(req: ApiRequest, type_id: str) -> Reply:
    """One type, by id (or, for convenience, by name)."""
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    found = [t for t in req.api.list_types(req.ctxt) if type_id in (t["id"], t["name"])]
    if not found:
        raise faults.not_found(f"Volume type {type_id[:40]} could not be found.")
    return Reply(200, {"volume_type": views.volume_type(req, found[0])})
