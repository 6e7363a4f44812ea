"""A small HTTP client of the volmgr REST API (noauth identity headers), on the stdlib only."""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

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
    """Sends requests as ``user`` in ``project`` (with ``roles``) to one endpoint."""

    def __init__(
        self,
        endpoint: str,
        user: str,
        project: str,
        roles: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = base_endpoint(endpoint)
        self.project = project
        self.timeout = timeout
        self.headers = {
            "Accept": "application/json",
            "X-User-Id": user,
            "X-Project-Id": project,
            "X-Auth-Token": f"{user}:{project}",
            "OpenStack-API-Version": f"volume {API_VERSION}",
        }
        if roles:
            self.headers["X-Roles"] = roles

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
        if query:
            url = f"{url}?{urllib.parse.urlencode(query)}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, _fault_message(error.read(), error.reason)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(0, f"cannot reach {self.endpoint}: {reason}") from None
        return json.loads(raw) if raw else None

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
