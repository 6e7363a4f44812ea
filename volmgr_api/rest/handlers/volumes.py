"""``volumes``: list (summary and detail), summary totals (3.12+), show, delete.

The API lists volumes oldest first; the database applies the Cinder filters (status,
name, bootable, project_id, metadata and, from 3.65, ``consumes_quota``: whether the
volume holds quota, false for the records of failed manages), so ``limit`` and
``marker`` keep their meaning; ``offset`` skips matching volumes after the marker.
From 3.45 ``with_count`` adds how many volumes match in all pages (counted by reading
them page by page); from 3.36 the summary lists the distinct metadata values.
"""

import itertools
import json
from collections.abc import Iterator
from typing import Any

from volmgr_api.policies import volumes as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, check_sort, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import volumes as views
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest

LIST_PARAMS = (
    "all_tenants", "project_id", "name", "status", "bootable", "metadata",
    "marker", "limit", "offset", "sort", "sort_key", "sort_dir",
)  # fmt: skip
SORT_KEYS = ("created_at",)


VERSIONED_PARAMS = (
    ("3.4", "glance_metadata"),
    ("3.10", "group_id"),
    ("3.45", "with_count"),
    ("3.65", "consumes_quota"),
)
"""List parameters and the first microversion that accepts each."""


def _allowed_params(req: ApiRequest) -> tuple[str, ...]:
    extra = tuple(name for first, name in VERSIONED_PARAMS if req.version.matches(first))
    return LIST_PARAMS + extra


def _bootable(req: ApiRequest, params: Params) -> bool:
    """Before 3.2 Cinder took any bootable value as true."""
    return params.boolean("bootable") if req.version.matches("3.2") else True


def _metadata(params: Params) -> dict[str, str]:
    try:
        value = json.loads(params.get("metadata") or "{}")
    except ValueError as error:
        raise faults.bad_request("metadata must be a JSON object of strings.") from error
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise faults.bad_request("metadata must be a JSON object of strings.")
    return value


def _all_projects(req: ApiRequest, params: Params) -> bool:
    """An admin's ``all_tenants``: list every project's volumes."""
    return bool(req.ctxt.is_admin and params.boolean("all_tenants"))


def _filters(req: ApiRequest, params: Params) -> dict[str, Any] | None:
    """The filters the database applies; None when no volume can match."""
    filters: dict[str, Any] = {}
    if "name" in params:
        filters["name"] = params.get("name")
    if "bootable" in params:
        filters["bootable"] = _bootable(req, params)
    if "metadata" in params:
        filters["metadata"] = _metadata(params)
    if "consumes_quota" in params:
        filters["consumes_quota"] = params.boolean("consumes_quota")
    if _all_projects(req, params) and "project_id" in params:
        filters["project_id"] = params.get("project_id")
    if params.get("glance_metadata") or params.get("group_id"):
        return None  # volmgr volumes carry no image metadata and belong to no group
    return filters


def _scan(
    req: ApiRequest,
    params: Params,
    status: str | None,
    marker: str | None,
    filters: dict[str, Any] | None = None,
) -> Iterator[VolumeRecord]:
    """Every volume the caller may list after ``marker``, read page by page."""
    page_size = req.conf.api.max_list_limit
    all_projects = _all_projects(req, params)
    while True:
        page = req.api.list_volumes(
            req.ctxt,
            PageRequest(marker, page_size),
            status=status,
            all_projects=all_projects,
            filters=filters,
        )
        yield from page
        if len(page) < page_size:
            return
        marker = page[-1]["id"]


def _matching(
    req: ApiRequest, params: Params, marker: str | None, filters: dict[str, Any]
) -> Iterator[VolumeRecord]:
    """Every volume after ``marker`` that the status and the filters select."""
    status = params.get("status")
    return _scan(req, params, views.internal_status(status) if status else None, marker, filters)


def _select(req: ApiRequest, params: Params, limit: int) -> tuple[list[VolumeRecord], int | None]:
    """One page of volumes, and how many match in all when ``with_count`` asks (3.45)."""
    if check_sort(params.sort("created_at", "asc"), SORT_KEYS) != [("created_at", "asc")]:
        raise faults.bad_request("Volumes are listed oldest first only (sort=created_at:asc).")
    page = PageRequest(params.get("marker"), limit, params.offset())
    if page.marker is not None and not is_uuid(page.marker):
        raise faults.bad_request("marker must be the id (a UUID) of a volume.")
    with_count = params.boolean("with_count")
    filters = _filters(req, params)
    if filters is None:
        return [], 0 if with_count else None
    count = sum(1 for _ in _matching(req, params, None, filters)) if with_count else None
    if limit == 0:
        return [], count
    scan = _matching(req, params, page.marker, filters)
    return list(itertools.islice(scan, page.offset, page.offset + limit)), count


def _list(req: ApiRequest, detailed: bool) -> Reply:
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, _allowed_params(req))
    limit = params.limit(req.conf.api.max_list_limit)
    volumes, count = _select(req, params, limit)
    return Reply(200, views.list_view(req, volumes, limit, detailed, count))


def index(req: ApiRequest) -> Reply:
    """``GET volumes``: id, name and links of each volume."""
    return _list(req, detailed=False)


def detail(req: ApiRequest) -> Reply:
    """``GET volumes/detail``: the full view of each volume."""
    return _list(req, detailed=True)


def summary(req: ApiRequest) -> Reply:
    """``GET volumes/summary`` (3.12+): how many volumes, how many GiB."""
    req.authorize(policy.GET_ALL, {"project_id": req.ctxt.project_id})
    params = Params(req.webob.GET, ("all_tenants",))
    all_projects = _all_projects(req, params)
    count, total = req.api.volume_summary(req.ctxt, all_projects=all_projects)
    summary: dict[str, Any] = {"total_count": count, "total_size": total}
    if req.version.matches("3.36"):
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
