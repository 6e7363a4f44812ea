"""Unauthenticated documents: version discovery at ``/`` and ``/v3``, and the OpenAPI spec."""

from volmgr_api.rest import openapi as openapi_document
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.rest.views import versions


def all_versions(req: ApiRequest) -> Reply:
    """``GET /``: every API version; 300 Multiple Choices, as Cinder answers."""
    return Reply(300, versions.versions(req.base_url))


def v3_versions(req: ApiRequest) -> Reply:
    """``GET /v3/``: the v3 version document."""
    return Reply(200, versions.versions(req.base_url))


def openapi(req: ApiRequest) -> Reply:
    """``GET /openapi.yaml``: the OpenAPI 3 description of this API."""
    return Reply(200, raw=openapi_document.as_yaml(), content_type="application/yaml")
