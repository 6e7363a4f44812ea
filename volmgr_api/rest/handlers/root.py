"""Unauthenticated documents: version discovery at ``/`` and ``/v3``, and the OpenAPI spec."""

import importlib.resources

from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import versions

OPENAPI_FILE = "openapi.yaml"


def all_versions(req: ApiRequest) -> Reply:
    """``GET /``: every API version; 300 Multiple Choices, as Cinder answers."""
    return Reply(300, versions.versions(req.base_url))


def v3_versions(req: ApiRequest) -> Reply:
    """``GET /v3/``: the v3 version document."""
    return Reply(200, versions.versions(req.base_url))


def openapi(req: ApiRequest) -> Reply:
    """``GET /openapi.yaml``: the OpenAPI 3 description of this API."""
    text = importlib.resources.files("volmgr_api.rest").joinpath(OPENAPI_FILE).read_bytes()
    return Reply(200, raw=text, content_type="application/yaml")
