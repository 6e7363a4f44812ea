"""Policy through the whole app: a member, an admin, and a member of another project."""

import pytest

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member, identity, unique

ADMIN_ONLY = [
    ("GET", "os-volume-manage?host={backend}", None),
    ("GET", "os-volume-manage/detail?host={backend}", None),
    ("GET", "manageable_volumes?host={backend}", None),
    ("POST", "os-volume-manage", {"volume": {"host": "{backend}", "ref": {"source-name": "x"}}}),
    ("POST", "manageable_volumes", {"volume": {"host": "{backend}", "ref": {"source-name": "x"}}}),
    ("GET", "os-services", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_member_is_refused_admin_operations(rest: Rest, method: str, path: str, body: dict) -> None:
    if body:
        body = {"volume": {"host": rest.backend, "ref": {"source-name": unique("absent")}}}
    path = path.format(backend=rest.backend)
    response = rest.call(method, path, body, headers=fresh_member(), version="3.8")
    assert response.status_int == 403
    assert response.json["forbidden"]["message"].startswith("Policy doesn't allow")
    admin = rest.call(method, path, body, headers=fresh_admin(), version="3.8")
    assert admin.status_int in (200, 202)


def test_member_sees_own_volumes_without_host(rest: Rest) -> None:
    member = fresh_member()
    admin_in_member_project = identity("admin", member["X-Project-Id"])
    volume = rest.manage(headers=admin_in_member_project)
    response = rest.call("GET", "volumes/detail?all_tenants=1", headers=member)
    [seen] = response.json["volumes"]
    assert seen["id"] == volume["id"]
    assert seen["os-vol-tenant-attr:tenant_id"] == member["X-Project-Id"]
    assert "os-vol-host-attr:host" not in seen
    assert "migration_status" not in seen
    shown = rest.call("GET", f"volumes/{volume['id']}", headers=member).json["volume"]
    assert "os-vol-host-attr:host" not in shown
    response = rest.call("POST", f"volumes/{volume['id']}/action", {"os-unmanage": None}, member)
    assert response.status_int == 403
    assert (
        rest.call("GET", f"os-quota-sets/{member['X-Project-Id']}", headers=member).status_int
        == 200
    )


def test_other_project_sees_nothing(rest: Rest) -> None:
    owner = fresh_admin()
    volume = rest.manage(headers=owner)
    stranger = fresh_member()
    assert rest.call("GET", f"volumes/{volume['id']}", headers=stranger).status_int == 404
    assert rest.call("DELETE", f"volumes/{volume['id']}", headers=stranger).status_int == 404
    assert rest.call("GET", "volumes", headers=stranger).json["volumes"] == []
    response = rest.call("GET", f"os-quota-sets/{owner['X-Project-Id']}", headers=stranger)
    assert response.status_int == 403
    assert (
        rest.call("GET", f"os-quota-sets/{owner['X-Project-Id']}", headers=fresh_admin()).status_int
        == 200
    )


def test_project_in_url_must_be_the_callers(rest: Rest) -> None:
    member = fresh_member()
    response = rest.call("GET", "/v3/someone-else/volumes", headers=member)
    assert response.status_int == 403
    assert "is not the project of the caller" in response.json["forbidden"]["message"]
    assert rest.call("GET", "/v3/someone-else/volumes", headers=fresh_admin()).status_int == 200


def test_admin_lists_every_project_with_all_tenants(rest: Rest) -> None:
    owner = fresh_admin()
    volume = rest.manage(headers=owner)
    admin = fresh_admin()
    assert rest.call("GET", "volumes", headers=admin).json["volumes"] == []
    every = rest.call("GET", "volumes?all_tenants=1", headers=admin).json["volumes"]
    assert volume["id"] in [v["id"] for v in every]
    query = f"volumes?all_tenants=1&project_id={owner['X-Project-Id']}"
    assert [v["id"] for v in rest.call("GET", query, headers=admin).json["volumes"]] == [
        volume["id"]
    ]


def test_without_identity_is_401(rest: Rest) -> None:
    response = rest.call("GET", "/v3/p/volumes", headers={})
    assert response.status_int == 401
    assert response.json == {"unauthorized": {"code": 401, "message": "The request names no user."}}
