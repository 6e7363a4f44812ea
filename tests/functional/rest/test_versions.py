"""Version discovery and microversion negotiation, both ways, over the whole app."""

import pytest
import webob
from oslo_context import context as oslo_context

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member, identity


def test_root_lists_v3_with_its_range(rest: Rest) -> None:
    response = rest.call("GET", "/", headers={})
    assert response.status_int == 300
    [version] = response.json["versions"]
    assert version["id"] == "v3.0"
    assert version["status"] == "CURRENT"
    assert (version["min_version"], version["version"]) == ("3.0", "3.71")
    assert {"rel": "self", "href": "http://localhost/v3/"} in version["links"]
    assert version["media-types"][0]["type"] == "application/vnd.openstack.volume+json;version=3"


@pytest.mark.parametrize("path", ["/v3", "/v3/"])
def test_v3_document(rest: Rest, path: str) -> None:
    response = rest.call("GET", path, headers={})
    assert response.status_int == 200
    assert response.json["versions"][0]["version"] == "3.71"


def test_answers_name_the_version_served(rest: Rest) -> None:
    headers = fresh_admin()
    response = rest.call("GET", "types", headers=headers)
    assert response.headers["OpenStack-API-Version"] == "volume 3.0"
    assert response.headers["Vary"] == "OpenStack-API-Version"
    response = rest.call("GET", "types", headers=headers, version="3.12")
    assert response.headers["OpenStack-API-Version"] == "volume 3.12"
    response = rest.call("GET", "types", headers=headers, version="latest")
    assert response.headers["OpenStack-API-Version"] == "volume 3.71"


def test_out_of_range_version_is_406(rest: Rest) -> None:
    response = rest.call("GET", "types", headers=fresh_admin(), version="3.72")
    assert response.status_int == 406
    assert response.json == {
        "computeFault": {
            "code": 406,
            "message": "Version 3.72 is not supported by the API. "
            "Minimum is 3.0 and maximum is 3.71.",
        }
    }
    assert response.headers["Vary"] == "OpenStack-API-Version"


def test_malformed_version_is_400(rest: Rest) -> None:
    response = rest.call("GET", "types", headers=fresh_admin(), version="3.x")
    assert response.status_int == 400
    assert "not of the form X.Y" in response.json["badRequest"]["message"]


@pytest.mark.parametrize(
    ("path", "first"),
    [
        ("manageable_volumes?host={backend}", "3.8"),
        ("messages", "3.3"),
        ("volumes/summary", "3.12"),
    ],
)
def test_routes_appear_at_their_microversion(rest: Rest, path: str, first: str) -> None:
    headers = fresh_admin()
    path = path.format(backend=rest.backend)
    major, minor = first.split(".")
    before = f"{major}.{int(minor) - 1}"
    refused = rest.call("GET", path, headers=headers, version=before)
    assert refused.status_int == 404
    message = refused.json["itemNotFound"]["message"]
    assert message.startswith(f"API version {before} is not supported on this method")
    assert f"--os-volume-api-version {first})" in message  # the client's user knows what to do
    assert rest.call("GET", path, headers=headers, version=first).status_int == 200


def test_openapi_document_is_served(rest: Rest) -> None:
    response = rest.call("GET", "/openapi.yaml", headers={})
    assert response.status_int == 200
    assert response.content_type == "application/yaml"
    assert response.body.startswith(b"openapi: 3.")


def test_unknown_path_and_wrong_method(rest: Rest) -> None:
    headers = fresh_admin()
    response = rest.call("GET", "backups", headers=headers)
    assert response.status_int == 404
    assert response.json["itemNotFound"]["code"] == 404
    response = rest.call("PUT", "volumes", headers=headers)
    assert response.status_int == 405
    assert response.headers["Allow"] == "GET"
    assert response.json["badMethod"]["code"] == 405


def test_request_id_is_returned(rest: Rest) -> None:
    response = rest.call("GET", "types", headers=fresh_admin())
    request_id = response.headers["x-openstack-request-id"]
    assert request_id.startswith("req-")
    assert response.headers["x-compute-request-id"] == request_id


def test_project_routes_without_the_project_id(rest: Rest) -> None:
    """3.67: ``/v3/volumes`` acts in the caller's project; like Cinder, at every version."""
    member = fresh_member()
    volume = rest.manage(headers={**member, "X-User-Id": "admin"})
    for version in ("3.0", "3.67", "3.71"):
        response = rest.call("GET", "/v3/volumes/detail", headers=member, version=version)
        assert response.status_int == 200, response.text
        [shown] = response.json["volumes"]
        assert shown["id"] == volume["id"]
        assert shown["links"][0]["href"] == f"http://localhost/v3/volumes/{volume['id']}"
    response = rest.call("GET", f"/v3/volumes/{volume['id']}", headers=fresh_member())
    assert response.status_int == 404  # another project's volume, as with the project id
    quota = rest.call(
        "GET", f"/v3/os-quota-sets/{member['X-Project-Id']}?usage=true", headers=member
    )
    assert quota.json["quota_set"]["volumes"]["in_use"] == 1
    response = rest.call("GET", "/v3/messages", headers=member, version="3.2")
    assert response.status_int == 404  # a route keeps its own first version


def test_a_collection_name_is_never_read_as_a_project(rest: Rest) -> None:
    """``/v3/os-quota-sets/volumes`` is the quota of project "volumes", not a listing."""
    admin = fresh_admin()
    response = rest.call("GET", "/v3/os-quota-sets/volumes", headers=admin)
    assert response.status_int == 200
    assert response.json["quota_set"]["id"] == "volumes"
    response = rest.call("GET", "/v3/types/volumes", headers=admin)
    assert response.status_int == 404
    assert "Volume type volumes could not be found" in response.json["itemNotFound"]["message"]


def test_openapi_document_has_both_forms_of_a_project_route(rest: Rest) -> None:
    text = rest.call("GET", "/openapi.yaml", headers={}).text
    assert "\n  /v3/{project_id}/volumes/{volume_id}:\n" in text
    assert "\n  /v3/volumes/{volume_id}:\n" in text


def test_a_public_request_logs_no_identity_of_an_earlier_caller(rest: Rest) -> None:
    rest.call("GET", "volumes", headers=identity("someone", "their-project"))
    assert oslo_context.get_current().user_id == "someone"
    webob.Request.blank("/v3").get_response(rest.app)
    current = oslo_context.get_current()
    assert current.user_id is None and current.request_id.startswith("req-")
