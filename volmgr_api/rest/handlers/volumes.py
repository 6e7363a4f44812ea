"""``volumes``: list (summary and detail), summary totals (3.12+), show, delete.

Listings as Cinder lists them: newest first (``created_at``, then ``id``, both
descending) unless ``sort`` (or ``sort_key``/``sort_dir``) names other keys; the
filters are Cinder's, checked per microversion by :mod:`volmgr_api.rest.filters`;
filters, sort, ``marker``, ``offset`` and ``limit`` all go into one SQL statement.
From 3.45 ``with_count`` adds how many volumes match in all pages (one SQL count);
from 3.36 the summary lists the distinct metadata values.
"""

from typing import Any

from volmgr_api.policies import volumes as policy
from volmgr_api.rest import faults, filters
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import volumes as views
from volmgr_common import exception
from volmgr_common.db import volume_filters
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest

ADDED_FILTERS = (
    ("3.4", "glance_metadata"),
    ("3.10", "group_id"),
    ("3.60", "created_at"),
    ("3.60", "updated_at"),
    ("3.65", "consumes_quota"),
)
"""Filters that came with a microversion (dropped from older requests before 3.31)."""
NOT_FILTERS = ("all_tenants", "with_count")
BOOTABLE_STRICT = "3.2"
WITH_COUNT = "3.45"
SUMMARY_METADATA = "3.36"


def _bootable(req: ApiRequest, text: str) -> bool:
    """From 3.2 a boolean or 400; before, Cinder took anything but 'false' as true."""
    if not req.version.matches(BOOTABLE_STRICT):
        return text not in ("False", "false", "FALSE") and bool(text)
    try:
        return volume_filters.typed_value(volume_filters.COLUMNS["bootable"], text)
    except exception.InvalidInput as error:
        raise faults.bad_request(f"'bootable = {text[:40]}'") from error


def _typed(req: ApiRequest, key: str, text: str) -> Any:
    """A filter's value as the database compares it."""
    if key in volume_filters.TIME_FILTERS:
        return filters.time_comparisons(key, text)
    if key == "bootable":
        return _bootable(req, text)
    if key == "status":
        return views.internal_status(text)
    if key in ("metadata", "glance_metadata"):
        return filters.literal(text)
    return text


def query_filters(req: ApiRequest, params: Params) -> dict[str, Any]:
    """The filters of a volume listing, typed; 400 for a filter the caller may not use."""
    found = filters.user_filters(
        req.ctxt, req.version, "volume", params.filters(NOT_FILTERS), ADDED_FILTERS
    )
    return {key: _typed(req, key, text) for key, text in found.items()}


def _all_projects(req: ApiRequest, params: Params) -> bool:
    """An admin's ``all_tenants``: list every project's volumes."""
    return bool(req.ctxt.is_admin and params.boolean("all_tenants"))


def _page(req: ApiRequest, params: Params, limit: int) -> PageRequest:
    sort = check_sort(
        params.sort("created_at", "desc"),
        volume_filters.SORT_KEYS,
        max_keys=len(volume_filters.SORT_KEYS),
    )
    marker = params.get("marker")
    if marker is not None and not is_uuid(marker):
        raise faults.not_found(f"Volume {marker[:40]} could not be found.")
    return PageRequest(marker, limit, params.offset(), tuple(sort))


def _list(req: ApiRequest, detailed: bool) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    limit = params.limit(req.conf.api.max_list_limit)
    page = _page(req, params, limit)
    all_projects = _all_projects(req, params)
    wanted = query_filters(req, params)
    volumes: list[VolumeRecord] = req.api.list_volumes(
        req.ctxt, page, all_projects=all_projects, filters=wanted
    )
    count = None
    if req.version.matches(WITH_COUNT) and params.boolean("with_count"):
        count, _size = req.api.volume_summary(req.ctxt, all_projects=all_projects, filters=wanted)
    return Reply(200, views.list_view(req, volumes, limit, detailed, count))


def index(req: ApiRequest) -> Reply:
    """``GET volumes``: id, name and links of each volume."""
    return _list(req, detailed=False)


def detail(req: ApiRequest) -> Reply:
    """``GET volumes/detail``: the full view of each volume."""
    return _list(req, detailed=True)


def summary(req: ApiRequest) -> Reply:
    """``GET volumes/summary`` (3.12+): how many volumes, how many GiB (of those that
    pass the listing's filters)."""
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, None)
    all_projects = _all_projects(req, params)
    count, total = req.api.volume_summary(
        req.ctxt, all_projects=all_projects, filters=query_filters(req, params)
    )
    summary: dict[str, Any] = {"total_count": count, "total_size": total}
    if req.version.matches(SUMMARY_METADATA):
        summary["metadata"] = req.api.volume_metadata_values(req.ctxt, all_projects)
    return Reply(200, {"volume-summary": summary})


def find(req: ApiRequest, volume_id: str) -> VolumeRecord:
    if not is_uuid(volume_id):
        raise faults.not_found(f"Volume {volume_id} could not be found.")
    return req.api.get_volume(req.ctxt, volume_id)


def show(req: ApiRequest, volume_id: str) -> Reply:
    """``GET volumes/{id}``."""
    volume = find(req, volume_id)
    req.authorize(policy.GET, {"project_id": volume["project_id"]})
    return Reply(200, {"volume": views.detail(req, volume)})


def delete(req: ApiRequest, volume_id: str) -> Reply:
    """``DELETE volumes/{id}``: remove the record of a failed manage (202)."""
    Params(req.webob.GET, ("cascade", "force"))
    volume = find(req, volume_id)
    req.authorize(policy.DELETE, {"project_id": volume["project_id"]})
    req.api.delete_volume(req.ctxt, volume_id)
    return Reply(202)
