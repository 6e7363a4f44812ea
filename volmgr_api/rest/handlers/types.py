"""``GET types`` and ``GET types/{id}``: the volume types a manage request may name.

As in Cinder, a user who is not an administrator lists public types only; an
administrator lists them all unless ``is_public`` (``None`` means all, as
python-cinderclient sends it) says which. Filters (``is_public``, ``extra_specs``;
an administrator may name any column, ``name`` among them) are checked by
:mod:`volmgr_api.rest.filters`, generalized from 3.52; sort, marker, offset and
limit are applied in SQL, newest first by default. Who may not read extra specs
finds no type by them. ``GET types/{id}`` takes an id,
``default`` (the default type) or a name.
"""

from typing import Any

from oslo_utils import strutils

from volmgr_api.policies import volume_types as policy
from volmgr_api.rest import faults, filters
from volmgr_api.rest.params import Params, check_sort
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import types as views
from volmgr_common.db.volume_types import COLUMNS
from volmgr_common.page_request import PageRequest

TYPE_FILTER = "3.52"


def _is_public(text: str | None) -> bool | None:
    """Cinder's ``_parse_is_public``: None for none/None/absent, else a boolean (400)."""
    if text is None or text.lower() == "none":
        return None
    try:
        return strutils.bool_from_string(text, strict=True)
    except ValueError as error:
        raise faults.bad_request(f"Invalid is_public filter [{text[:40]}]") from error


def _filters(req: ApiRequest, params: Params) -> dict[str, Any] | None:
    """The filters of the listing; None when it must be empty: a caller who may not
    read extra specs matches no type by them (as in Cinder, which neither ignores
    such a filter nor tells what it would have matched)."""
    found: dict[str, Any] = filters.user_filters(
        req.ctxt, req.version, "volume_type", params.filters(), generalized_since=TYPE_FILTER
    )
    found.pop("is_public", None)
    is_public = _is_public(params.get("is_public")) if req.ctxt.is_admin else True
    if is_public is not None:
        found["is_public"] = is_public
    if "extra_specs" in found:
        if not req.allows(policy.EXTRA_SPECS, {"project_id": req.ctxt.project_id}):
            return None
        found["extra_specs"] = filters.literal(found["extra_specs"])
    return found


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    page = PageRequest(
        params.get("marker"),
        params.limit(req.conf.api.max_list_limit),
        params.offset(),
        tuple(check_sort(params.sort("created_at", "desc"), COLUMNS, max_keys=len(COLUMNS))),
    )
    wanted = _filters(req, params)
    types = [] if wanted is None else req.api.list_types(req.ctxt, wanted, page)
    return Reply(200, {"volume_types": [views.volume_type(req, t) for t in types]})


def show(req: ApiRequest, type_id: str) -> Reply:
    """One type, by id, ``default`` or name."""
    req.authorize(policy.GET, {"project_id": req.ctxt.project_id})
    wanted = req.conf.default_volume_type if type_id == "default" else type_id
    return Reply(200, {"volume_type": views.volume_type(req, req.api.get_type(req.ctxt, wanted))})
