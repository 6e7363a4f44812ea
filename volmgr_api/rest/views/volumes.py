"""The volume view of Cinder v3: summary, detail, lists with their ``next`` links.

Internal statuses are shown as Cinder shows them (``managing`` → ``creating``,
``error_managing`` → ``error``, ``error_managing_deleting`` → ``deleting``), and a
status filter is read back the same way. Fields that later microversions add are
added by :func:`versioned_fields` (see ``microversion.py`` for the history). A size not known
yet is shown as 0, as Cinder shows it while it manages a volume.
"""

import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from volmgr_api.policies import audit as audit_policy
from volmgr_api.policies import volumes as policy
from volmgr_api.rest.request import ApiRequest
from volmgr_api.rest.views import timestamp
from volmgr_common.db import volume_record

STATUS_MAP = {
    volume_record.MANAGING: "creating",
    volume_record.ERROR_MANAGING: "error",
    volume_record.DELETING: "deleting",
}
FILTER_MAP = {shown: internal for internal, shown in STATUS_MAP.items()}
COLLECTION = "volumes"
SERVICE_NAMESPACE = uuid.UUID("5c0b4b5e-7a43-4f0e-9d8a-6f1c3b2a9e10")
"""Namespace of the ``service_uuid`` of a volume: one UUID per backend ``host@backend``."""
PROVENANCE_ATTRIBUTE = "os-vol-provenance-attr:provenance"
"""Where the volume's object came from (volmgr_common.provenance); null for a volume
managed before volmgr recorded provenance, or whose manage failed before it."""
DRIFT_ATTRIBUTE = "os-vol-drift-attr:drift"
"""What the last audit found different on the backend (volmgr_common.drift): kind,
expected, found and since; null while the object matches its record."""


def status(volume: volume_record.VolumeRecord) -> str:
    return STATUS_MAP.get(volume["status"], volume["status"])


def size(volume: volume_record.VolumeRecord) -> int:
    """The size in GiB: 0 while the volume is being managed, as Cinder shows it, and
    for a failed manage whose size the backend never reported."""
    if volume["status"] == volume_record.MANAGING or volume["size"] is None:
        return 0
    return volume["size"]


def internal_status(shown: str) -> str:
    """The internal status a Cinder status filter names."""
    return FILTER_MAP.get(shown, shown)


def links(req: ApiRequest, project_id: str | None, collection: str, item_id: str) -> list[dict]:
    """Cinder's self and bookmark links; with the project id only when the request's URL
    had one (3.67 made it optional)."""
    base = req.base_url
    project = f"/{project_id}" if req.project_in_url else ""
    return [
        {"rel": "self", "href": f"{base}/v3{project}/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base}{project}/{collection}/{item_id}"},
    ]


def summary(req: ApiRequest, volume: volume_record.VolumeRecord) -> dict[str, Any]:
    return {
        "id": volume["id"],
        "name": volume["name"],
        "links": links(req, req.ctxt.project_id, COLLECTION, volume["id"]),
    }


def detail(req: ApiRequest, volume: volume_record.VolumeRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": volume["id"],
        "status": status(volume),
        "size": size(volume),
        "availability_zone": volume["availability_zone"],
        "created_at": timestamp(volume["created_at"]),
        "updated_at": timestamp(volume["updated_at"]),
        "name": volume["name"],
        "description": volume["description"],
        "volume_type": volume["volume_type"],
        "snapshot_id": None,
        "source_volid": None,
        "metadata": dict(volume["metadata"]),
        "links": links(req, req.ctxt.project_id, COLLECTION, volume["id"]),
        "user_id": volume["user_id"],
        "bootable": str(bool(volume["bootable"])).lower(),
        "encrypted": False,
        "replication_status": None,
        "consistencygroup_id": None,
        "multiattach": False,
        "attachments": [],
    }
    target = {"project_id": volume["project_id"]}
    if req.ctxt.is_admin:
        view["migration_status"] = None
    if req.allows(policy.TENANT_ATTRIBUTE, target):
        view["os-vol-tenant-attr:tenant_id"] = volume["project_id"]
    if req.allows(policy.HOST_ATTRIBUTE, target):
        view["os-vol-host-attr:host"] = volume["host"]
        view["os-vol-mig-status-attr:migstat"] = None
        view["os-vol-mig-status-attr:name_id"] = None
    if req.allows(policy.PROVENANCE_ATTRIBUTE, target):
        # Extension attributes are not versioned (as in Cinder): shown from 3.0.
        view[PROVENANCE_ATTRIBUTE] = volume["provenance"]
    if req.allows(audit_policy.DRIFT_ATTRIBUTE, target):
        view[DRIFT_ATTRIBUTE] = volume["drift"]
    view.update(versioned_fields(req, volume))
    return view


def service_uuid(host: str) -> str:
    """The UUID that stands for the volume service of ``host`` (``host@backend[#pool]``):
    the same for every volume of one backend, as Cinder's ``service_uuid``."""
    return str(uuid.uuid5(SERVICE_NAMESPACE, host.partition("#")[0]))


def versioned_fields(req: ApiRequest, volume: volume_record.VolumeRecord) -> dict[str, Any]:
    """The detail fields of microversions after 3.0, at the request's version.

    volmgr exports no targets, so it cannot tell whether a host needs to lock around
    one: ``shared_targets`` is unknown, shown as Cinder shows an unknown value (true
    before 3.69, null from 3.69). Volumes are never encrypted, so the
    ``encryption_key_id`` of 3.64 is never shown; no volume is in a cluster.
    """
    fields: dict[str, Any] = {}
    is_admin = req.ctxt.is_admin
    if req.version.matches("3.13"):
        fields["group_id"] = None
    if is_admin and req.version.matches("3.21"):
        fields["provider_id"] = volume["backend_identity"]
    if req.version.matches("3.48"):
        fields["shared_targets"] = None if req.version.matches("3.69") else True
        fields["service_uuid"] = service_uuid(volume["host"])
    if is_admin and req.version.matches("3.61"):
        fields["cluster_name"] = None
    if req.version.matches("3.63"):
        fields["volume_type_id"] = volume["volume_type_id"]
    if req.version.matches("3.65"):
        fields["consumes_quota"] = volume["consumes_quota"]
    return fields


def next_links(
    req: ApiRequest,
    items: Sequence[Mapping[str, Any]],
    limit: int,
    collection: str,
    marker_key: str = "id",
) -> list[dict[str, str]]:
    """Cinder's ``volumes_links``: a ``next`` link when the page is full, whose marker
    is the last item's ``marker_key``."""
    if not items or len(items) < limit:
        return []
    params = dict(req.webob.GET.items())
    params["marker"] = items[-1][marker_key]
    project = f"/{req.ctxt.project_id}" if req.project_in_url else ""
    href = f"{req.base_url}/v3{project}/{collection}"
    return [{"rel": "next", "href": f"{href}?{urllib.parse.urlencode(params)}"}]


def list_view(
    req: ApiRequest,
    volumes: list[volume_record.VolumeRecord],
    limit: int,
    detailed: bool,
    count: int | None = None,
) -> dict[str, Any]:
    """A page of volumes; ``count`` (3.45+, asked with ``with_count``) is how many match
    in all pages."""
    build = detail if detailed else summary
    collection = f"{COLLECTION}/detail" if detailed else COLLECTION
    result: dict[str, Any] = {"volumes": [build(req, v) for v in volumes]}
    more = next_links(req, volumes, limit, collection)
    if more:
        result["volumes_links"] = more
    if count is not None and req.version.matches("3.45"):
        result["count"] = count
    return result
