"""Whose resources a caller acts on: its own project's, or an admin's every project."""

from volmgr_common import exception
from volmgr_common.context import RequestContext


def project_scope(ctxt: RequestContext) -> str | None:
    """None (every project) for an admin, otherwise the caller's project."""
    if ctxt.is_admin:
        return None
    if not ctxt.project_id:
        raise exception.InvalidInput(reason="the request context names no project")
    return ctxt.project_id


def listing_scope(ctxt: RequestContext, all_projects: bool) -> str | None:
    """The project a listing covers: the caller's own unless ``all_projects`` (and an
    admin asks: None, every project)."""
    return project_scope(ctxt) if all_projects else ctxt.project_id
