"""``volmgr-noauth``: a keystoneauth plugin for volmgr's noauth strategy.

With ``[api] auth_strategy = noauth`` there is no Keystone to issue tokens, yet
keystoneauth-based clients (the ``openstack`` command, openstacksdk) ask their
plugin who the caller is (``quota show`` reads the project from it) and where the
block-storage service is. This plugin answers both locally, the way
python-cinderclient's ``noauth`` plugin does for Cinder's noauth: the caller is the
user and project it is given, the catalog holds one ``block-storage`` endpoint, and
every request carries the ``X-Auth-Token: user:project``, ``X-User-Id``,
``X-Project-Id`` (and ``X-Roles``) headers that volmgr's noauth reads. It proves
nothing to the server: use it only against a volmgr in noauth mode::

  openstack --os-auth-type volmgr-noauth --os-user-id admin --os-project-id demo \
            --os-endpoint http://127.0.0.1:8776/v3 volume list
"""

import datetime as dt
from typing import Any

from keystoneauth1 import access, loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import base

SERVICE_TYPES = ("block-storage", "volumev3")
"""The catalog types of the endpoint (openstacksdk looks for the first, older clients
for the second)."""
IDENTITY = "identity"
"""Also in the catalog, at the same endpoint, because the ``openstack`` command wants an
identity service to exist before it lists volumes; volmgr knows no project or user
names, so a lookup by name there is a 404: name projects and users by id."""
LIFETIME = dt.timedelta(days=1)
DOMAIN = {"id": "default", "name": "Default"}


class NoAuth(base.BaseIdentityPlugin):
    """The caller ``user_id`` in ``project_id`` (with ``roles``) of a noauth volmgr at
    ``endpoint``."""

    def __init__(
        self, endpoint: str, user_id: str, project_id: str, roles: str | None = None
    ) -> None:
        super().__init__(auth_url=endpoint, reauthenticate=True)
        self.endpoint = endpoint
        self.user_id = user_id
        self.project_id = project_id
        self.roles = [role.strip() for role in (roles or "").split(",") if role.strip()]

    def get_auth_ref(self, session: ks_session.Session) -> access.AccessInfo:
        """The scope and catalog a Keystone token would carry, made here: no request."""
        now = dt.datetime.now(dt.UTC)
        endpoints = [{"id": "public", "interface": "public", "url": self.endpoint}]
        token = {
            "methods": ["token"],
            "issued_at": now.isoformat(),
            "expires_at": (now + LIFETIME).isoformat(),
            "user": {"id": self.user_id, "name": self.user_id, "domain": DOMAIN},
            "project": {"id": self.project_id, "name": self.project_id, "domain": DOMAIN},
            "roles": [{"id": role, "name": role} for role in self.roles],
            "catalog": [
                {"id": kind, "type": kind, "name": "volmgr", "endpoints": endpoints}
                for kind in (*SERVICE_TYPES, IDENTITY)
            ],
        }
        return access.AccessInfoV3({"token": token}, auth_token=self.token)

    @property
    def token(self) -> str:
        return f"{self.user_id}:{self.project_id}"

    def get_headers(self, session: ks_session.Session, **kwargs: Any) -> dict[str, str]:
        headers = {
            "X-Auth-Token": self.token,
            "X-User-Id": self.user_id,
            "X-Project-Id": self.project_id,
        }
        if self.roles:
            headers["X-Roles"] = ",".join(self.roles)
        return headers


class NoAuthLoader(loading.BaseLoader[NoAuth]):
    """Loads :class:`NoAuth` from ``--os-endpoint``, ``--os-user-id``,
    ``--os-project-id`` and ``--os-roles`` (or their ``OS_*`` variables)."""

    @property
    def plugin_class(self) -> type[NoAuth]:
        return NoAuth

    def get_options(self) -> list[loading.Opt]:
        options = super().get_options()
        options.extend(
            [
                loading.Opt(
                    "endpoint", required=True, help="The volmgr API, e.g. http://HOST:8776/v3."
                ),
                loading.Opt("user-id", required=True, help="The user id volmgr sees."),
                loading.Opt("project-id", required=True, help="The caller's project id."),
                loading.Opt("roles", help="Comma-separated roles, e.g. admin."),
            ]
        )
        return options
