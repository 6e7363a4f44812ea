"""``os-volume-manage`` and ``manageable_volumes`` (3.8+): manage, and list manageable objects.

A listing takes ``host`` (or ``cluster``), ``marker``, ``limit``, ``offset`` and one
sort key (``reference`` or ``size``; by default ``reference`` descending, as in
Cinder); as in Cinder, any other query parameter is ignored.

``cluster`` (3.16+ to manage, 3.17+ to list) names a cluster of volume services,
``cluster@backend`` (``[DEFAULT] cluster`` of its members), instead of one
``host@backend``; any live member answers. Either name is resolved the same way
(``services.get_backend``): a member's own host leads to its cluster, and a
service outside any cluster is its own.
"""

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from volmgr_api import validation
from volmgr_api.policies import manageable_volumes as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, check_sort
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import manageable
from volmgr_api.rest.views import volumes as volume_views
from volmgr_api.schemas import parameter_types
from volmgr_api.schemas import volume_manage as schema
from volmgr_common import exception
from volmgr_common.page_request import MANAGEABLE_SORT_KEYS, PageRequest

SOURCE_NAME = "source-name"


def one_of_host_cluster(host: Any, cluster: Any, cluster_allowed: bool) -> tuple[str, str]:
    """The backend named and whether it was named as a ``Host`` or a ``Cluster``."""
    if not cluster_allowed:
        if not host:
            raise faults.bad_request("Host field is missing.")
        return host, "Host"
    if bool(host) == bool(cluster):
        raise faults.bad_request("One and only one of cluster and host must be set.")
    return (host, "Host") if host else (cluster, "Cluster")


@contextlib.contextmanager
def named_as(kind: str) -> Iterator[None]:
    """Cinder's wording for an unknown backend: "Cluster 'x' not found" when a cluster
    was named."""
    try:
        yield
    except exception.BackendNotFound as error:
        raise exception.BackendNotFound(kind=kind, host=error.kwargs.get("host")) from None


def create(req: ApiRequest) -> Reply:
    """``POST os-volume-manage`` (and ``POST manageable_volumes``): 202 with the volume."""
    req.authorize(policy.MANAGE, {"project_id": req.ctxt.project_id})
    volume = req.json_body(schema.validator(req.version, req.conf))["volume"]
    host, kind = one_of_host_cluster(
        volume.get("host"), volume.get("cluster"), req.version.matches("3.16")
    )
    validation.request_project(req.ctxt)
    request = validation.manage_request(
        req.conf,
        {
            "host": host,
            "ref": volume["ref"],
            "name": volume.get("name"),
            "description": volume.get("description"),
            "volume_type": volume.get("volume_type"),
            "availability_zone": volume.get("availability_zone"),
            "metadata": volume.get("metadata"),
            "bootable": parameter_types.to_bool(volume.get("bootable", False)),
            "with_snapshots": volume.get("with_snapshots", False),
        },
    )
    with named_as(kind):
        created = req.api.manage_existing(req.ctxt, request)
    return Reply(202, {"volume": volume_views.detail(req, created)})


def _marker(text: str | None) -> str | None:
    """The source-name a marker names: given plainly, or as a reference in JSON."""
    if text is None:
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, dict) and isinstance(decoded.get(SOURCE_NAME), str):
        return decoded[SOURCE_NAME]
    return text


def listing_request(req: ApiRequest) -> tuple[str, str, PageRequest]:
    """The backend a manageable listing names, how (``Host``/``Cluster``), and its page."""
    cluster_allowed = req.version.matches("3.17")
    params = Params(req.webob.GET, None)
    cluster = params.get("cluster") if cluster_allowed else None
    host, kind = one_of_host_cluster(params.get("host"), cluster, cluster_allowed)
    page = PageRequest(
        marker=_marker(params.get("marker")),
        limit=params.limit(req.conf.api.max_list_limit),
        offset=params.offset(),
        sort=tuple(check_sort(params.sort("reference"), MANAGEABLE_SORT_KEYS)),
    )
    return host, kind, page


def _listing(req: ApiRequest, detailed: bool) -> Reply:
    req.authorize(policy.LIST_MANAGEABLE, {"project_id": req.ctxt.project_id})
    host, kind, page = listing_request(req)
    with named_as(kind):
        entries = req.api.get_manageable_volumes(req.ctxt, host, page)
    return Reply(200, manageable.list_view(entries, detailed))


def index(req: ApiRequest) -> Reply:
    """``GET os-volume-manage`` / ``manageable_volumes``: reference, size, safe_to_manage."""
    return _listing(req, detailed=False)


def detail(req: ApiRequest) -> Reply:
    """``GET .../detail``: adds reason_not_safe, cinder_id and extra_info."""
    return _listing(req, detailed=True)
