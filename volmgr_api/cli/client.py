"""A small HTTP client of the volmgr REST API on a keystoneauth session.

The identity is a keystoneauth plugin (a token from Keystone, the endpoint from its
catalog), or volmgr's noauth headers (``X-User-Id``, ``X-Project-Id``) for a user
and project the caller names.
"""

import json
import urllib.parse
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

API_VERSION = "3.17"
DEFAULT_ENDPOINT = "http://127.0.0.1:8776"


class ApiError(Exception):
    """The API refused a request (``status`` is 0 when it could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


def base_endpoint(endpoint: str) -> str:
    """``http://host:port`` from an endpoint that may end in ``/v3`` or ``/v3/<project>``."""
    parsed = urllib.parse.urlsplit(endpoint.rstrip("/"))
    path = parsed.path
    index = path.find("/v3")
    if index >= 0 and (len(path) == index + 3 or path[index + 3] == "/"):
        path = path[:index]
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", "")).rstrip("/")


class Client:
    """Sends requests to one endpoint, as ``project``, through a keystoneauth session.

    With noauth (``session`` without an auth plugin) the identity travels in
    ``headers``; with a plugin, the session adds its token.
    """

    def __init__(
        self,
        endpoint: str,
        project: str,
        session: ks_session.Session | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = base_endpoint(endpoint)
        self.project = project
        self.session = session or ks_session.Session()
        self.timeout = timeout
        self.headers = {
            "Accept": "application/json",
            "OpenStack-API-Version": f"volume {API_VERSION}",
            **(headers or {}),
        }

    @classmethod
    def noauth(cls, endpoint: str, user: str, project: str, roles: str | None = None) -> "Client":
        """A client that names its user and project in volmgr's noauth headers."""
        headers = {
            "X-User-Id": user,
            "X-Project-Id": project,
            "X-Auth-Token": f"{user}:{project}",
        }
        if roles:
            headers["X-Roles"] = roles
        return cls(endpoint, project, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON answer (None when empty) of ``method /v3/<project>/<path>``."""
        url = f"{self.endpoint}/v3/{urllib.parse.quote(self.project)}/{path}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.session.request(
                url,
                method,
                json=body,
                params=query,
                headers=self.headers,
                raise_exc=False,
                timeout=self.timeout,
            )
        except ks_exceptions.ClientException as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ApiError(0, f"cannot reach {self.endpoint}: {reason}") from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _fault_message(response.content, response.reason))
        return json.loads(response.content) if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def _fault_message(raw: bytes, reason: str) -> str:
    """The message of a Cinder-shaped fault body, or the HTTP reason."""
    try:
        body = json.loads(raw)
        [fault] = body.values()
        return str(fault["message"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return str(reason)
