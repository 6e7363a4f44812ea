"""The snapshot views of Cinder v3: a snapshot, a page of them, the manageable ones.

Internal statuses are shown as Cinder shows a snapshot's (``managing`` →
``creating``, ``error_managing`` → ``error``, ``error_managing_deleting`` →
``deleting``; ``unmanaging`` as is), the same mapping as volumes'. A size not known
yet is 0. Fields that later microversions add: ``group_snapshot_id`` (3.14),
``user_id`` (3.41), ``consumes_quota`` (3.65); the extended attributes
(``os-extended-snapshot-attributes:project_id`` and ``:progress``) are shown where
the policy allows, as Cinder's extension shows them.
"""

from typing import Any

from volmgr_api.policies import snapshots as policy
from volmgr_api.rest.request import ApiRequest
from volmgr_api.rest.views import timestamp
from volmgr_api.rest.views.volumes import STATUS_MAP, links, next_links
from volmgr_common.db.snapshot_record import MANAGING, SnapshotRecord

COLLECTION = "snapshots"
FILTER_MAP = {shown: internal for internal, shown in STATUS_MAP.items()}
MANAGEABLE_SUMMARY_KEYS = ("reference", "size", "safe_to_manage", "source_reference")
MANAGEABLE_DETAIL_KEYS = (
    *MANAGEABLE_SUMMARY_KEYS,
    "reason_not_safe",
    "cinder_id",
    "extra_info",
)


def status(snapshot: SnapshotRecord) -> str:
    return STATUS_MAP.get(snapshot["status"], snapshot["status"])


def internal_status(shown: str) -> str:
    """The internal status a Cinder status filter names."""
    return FILTER_MAP.get(shown, shown)


def _size(snapshot: SnapshotRecord) -> int:
    if snapshot["status"] == MANAGING or snapshot["volume_size"] is None:
        return 0
    return snapshot["volume_size"]


def detail(req: ApiRequest, snapshot: SnapshotRecord, extended: bool = True) -> dict[str, Any]:
    """A snapshot as Cinder's view shows it at the request's version; ``extended``: with
    the extended attributes (a show and a detailed listing, not a summary listing)."""
    view: dict[str, Any] = {
        "id": snapshot["id"],
        "created_at": timestamp(snapshot["created_at"]),
        "updated_at": timestamp(snapshot["updated_at"]),
        "name": snapshot["name"],
        "description": snapshot["description"],
        "volume_id": snapshot["volume_id"],
        "status": status(snapshot),
        "size": _size(snapshot),
        "metadata": dict(snapshot["metadata"]),
        "links": links(req, req.ctxt.project_id, COLLECTION, snapshot["id"]),
    }
    if req.version.matches("3.14"):
        view["group_snapshot_id"] = None
    if req.version.matches("3.41"):
        view["user_id"] = snapshot["user_id"]
    if req.version.matches("3.65"):
        view["consumes_quota"] = snapshot["consumes_quota"]
    if extended and req.allows(policy.EXTENDED_ATTRIBUTES, {"project_id": snapshot["project_id"]}):
        view["os-extended-snapshot-attributes:project_id"] = snapshot["project_id"]
        view["os-extended-snapshot-attributes:progress"] = snapshot["progress"]
    return view


def list_view(
    req: ApiRequest,
    snapshots: list[SnapshotRecord],
    limit: int,
    detailed: bool,
    count: int | None = None,
) -> dict[str, Any]:
    """A page of snapshots with Cinder's ``snapshots_links`` when the page is full;
    ``count`` (3.45+, asked with ``with_count``) is how many match in all pages."""
    collection = f"{COLLECTION}/detail" if detailed else COLLECTION
    result: dict[str, Any] = {"snapshots": [detail(req, s, detailed) for s in snapshots]}
    more = next_links(req, snapshots, limit, collection)
    if more:
        result["snapshots_links"] = more
    if count is not None:
        result["count"] = count
    return result


def manageable_view(entries: list[dict[str, Any]], detailed: bool) -> dict[str, Any]:
    """``{"manageable-snapshots": [...]}``: summary or detail."""
    keys = MANAGEABLE_DETAIL_KEYS if detailed else MANAGEABLE_SUMMARY_KEYS
    return {"manageable-snapshots": [{key: entry.get(key) for key in keys} for entry in entries]}
