"""Who is calling: the request context built from the request's identity headers.

``noauth`` (compatible with Cinder's noauth and cinderclient's ``--os-auth-type
noauth``): the user and project come from ``X-User-Id`` and ``X-Project-Id``, or
else from an ``X-Auth-Token`` of the form ``user:project`` (``X-Auth-Project-Id``
may name the project). Unlike Cinder's noauth, which makes every caller an admin,
a caller is an admin only when its user id is ``admin`` or ``X-Roles`` names
``admin``, so that a member of a project can be told apart from an operator.

``keystone``: keystonemiddleware (wrapped around the app by the server) validates
the token and sets ``X-Identity-Status: Confirmed`` with the user, project and
roles; a request without a confirmed identity is refused.

Either way the context carries the request id that oslo.middleware's ``RequestId``
gave the request (and answers in ``x-openstack-request-id``), and the caller's
``X-OpenStack-Request-Id`` as its global request id when it is well formed.
"""

import re
from collections.abc import Mapping
from typing import Any

from oslo_context import context as oslo_context
from oslo_middleware import request_id as oslo_request_id

from volmgr_api.rest import faults
from volmgr_common.context import RequestContext

ADMIN = "admin"
NOAUTH = "noauth"
KEYSTONE = "keystone"
_ID_PATTERN = re.compile(r"^[^\s:,]{1,255}$")


def _roles(headers: Mapping[str, str]) -> list[str]:
    return [r.strip() for r in headers.get("X-Roles", "").split(",") if r.strip()]


def _check_id(kind: str, value: str | None) -> str:
    if not value:
        raise faults.HTTPError(401, f"The request names no {kind}.")
    if not _ID_PATTERN.match(value):
        raise faults.HTTPError(
            401, f"The {kind} must be 1 to 255 characters without spaces, ':' or ','."
        )
    return value


def request_ids(environ: Mapping[str, Any]) -> dict[str, Any]:
    """The request's own id and the caller's global request id, as oslo.middleware's
    ``RequestId`` set them in the WSGI environment (it keeps a global id only when it
    is well formed); without that middleware, a new request id."""
    return {
        "request_id": environ.get(oslo_request_id.ENV_REQUEST_ID)
        or oslo_context.generate_request_id(),
        "global_request_id": environ.get(oslo_request_id.GLOBAL_REQ_ID),
    }


def noauth_context(
    headers: Mapping[str, str], environ: Mapping[str, Any] | None = None
) -> RequestContext:
    """The caller as the noauth headers name it; raises a 401 HTTPError."""
    token = headers.get("X-Auth-Token", "")
    token_user, has_project, token_project = token.partition(":")
    user_id = headers.get("X-User-Id") or token_user or None
    project_id = (
        headers.get("X-Project-Id")
        or headers.get("X-Auth-Project-Id")
        or (token_project if has_project else token_user)
        or None
    )
    user_id = _check_id("user", user_id)
    project_id = _check_id("project", project_id)
    roles = _roles(headers)
    if user_id == ADMIN and ADMIN not in roles:
        roles.append(ADMIN)
    return RequestContext(
        user_id=user_id,
        project_id=project_id,
        roles=roles,
        overwrite=False,
        **request_ids(environ or {}),
    )


def keystone_context(environ: dict) -> RequestContext:
    """The caller keystonemiddleware confirmed; raises a 401 HTTPError."""
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
        raise faults.HTTPError(401, "Authentication required.")
    confirmed = oslo_context.RequestContext.from_environ(environ)
    return RequestContext(
        user_id=_check_id("user", confirmed.user_id),
        project_id=_check_id("project", confirmed.project_id),
        roles=list(confirmed.roles or []),
        user_name=confirmed.user_name,
        project_name=confirmed.project_name,
        overwrite=False,
        **request_ids(environ),
    )


def context_for(strategy: str, environ: dict, headers: Mapping[str, str]) -> RequestContext:
    if strategy == KEYSTONE:
        return keystone_context(environ)
    return noauth_context(headers, environ)
