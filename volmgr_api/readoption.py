"""What the API checks before it re-adopts an orphan, and the request it makes of it.

An orphan (``volmgr_volume.orphans``) is re-adopted under the volume id its name
carries and for the project it was managed for, read from the backend's mark (a
file's ``user.volmgr.origin`` attribute; the fake driver's record) or, when the
backend records none (LVM, a file system without user extended attributes), given
by the admin. The re-adoption is an ordinary manage request — same flows, quota,
double-manage guard, reverts and recovery — whose reference is the orphan's managed
name and whose volume id is fixed: the drivers then claim the object where it
stands, without renaming it.
"""

from typing import Any

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.manage_request import ManageRequest

SOURCE_NAME = "source-name"


def require_admin(ctxt: RequestContext) -> None:
    """Orphans are an operator's business: NotAuthorized for anyone else."""
    if not ctxt.is_admin:
        raise exception.NotAuthorized(reason="only an administrator may see or re-adopt orphans")


def check_name(name: Any) -> str:
    """The orphan's name as given, or InvalidInput."""
    if not isinstance(name, str) or not name or len(name) > 255:
        raise exception.InvalidInput(reason="the orphan's name must be a string of 1 to 255")
    return name


def project_of(host: str, orphan: dict[str, Any], given: str | None) -> str:
    """The project to re-adopt ``orphan`` for: the one its mark records, or ``given``;
    InvalidOrphan when neither names one, or when they disagree."""
    recorded = orphan.get("project_id")
    if given is not None and recorded is not None and given != recorded:
        raise exception.InvalidOrphan(
            name=orphan["name"],
            host=host,
            reason=f"it was managed for project {recorded}, not {given}",
        )
    project = given if given is not None else recorded
    if not project:
        raise exception.InvalidOrphan(
            name=orphan["name"],
            host=host,
            reason="the backend records no project for it; give the project it belongs to",
        )
    return project


def readoption_request(
    conf: cfg.ConfigOpts, host: str, orphan: dict[str, Any], volume_type: str | None
) -> ManageRequest:
    """The manage request that re-adopts ``orphan`` where it stands; InvalidOrphan when
    its name is not the managed name of the volume id it carries (an object that
    carries only volmgr's mark is managed again with an ordinary manage)."""
    volume_id = orphan["volume_id"]
    if orphan["name"] != conf.volume.volume_name_template % volume_id:
        raise exception.InvalidOrphan(
            name=orphan["name"],
            host=host,
            reason="its name is not in managed form (only volmgr's mark says whose it "
            "was); rename it and manage it with os-volume-manage",
        )
    return ManageRequest(
        host=host, ref={SOURCE_NAME: orphan["name"]}, volume_type=volume_type, volume_id=volume_id
    )


def context_for(ctxt: RequestContext, project_id: str) -> RequestContext:
    """The admin's context acting in ``project_id``: the new row is that project's, and
    its provenance names the admin who re-adopted it."""
    return RequestContext(
        detached=True,
        user_id=ctxt.user_id,
        project_id=project_id,
        roles=list(ctxt.roles),
        is_admin=True,
        request_id=ctxt.request_id,
        overwrite=False,
    )
