"""Volumes over REST: list, detail, summary, show, unmanage, delete, and their errors."""

import uuid

import pytest

from tests.functional.rest.conftest import Rest, fresh_admin


@pytest.fixture(scope="module")
def owner() -> dict[str, str]:
    return fresh_admin()


@pytest.fixture(scope="module")
def three(rest: Rest, owner: dict[str, str]) -> list[dict]:
    """Three available volumes of ``owner``, oldest first."""
    return [rest.manage(headers=owner, name=f"vol-{i}", bootable=i == 1) for i in range(3)]


def ids(response_json: dict) -> list[str]:
    return [v["id"] for v in response_json["volumes"]]


def test_list_is_newest_first_with_summary_view(rest: Rest, owner: dict, three: list) -> None:
    response = rest.call("GET", "volumes", headers=owner)
    assert ids(response.json) == [v["id"] for v in reversed(three)]
    assert set(response.json["volumes"][0]) == {"id", "name", "links"}


def test_detail_list_has_the_full_view(rest: Rest, owner: dict, three: list) -> None:
    volumes = rest.call("GET", "volumes/detail", headers=owner).json["volumes"]
    assert [v["status"] for v in volumes] == ["available"] * 3
    assert [v["bootable"] for v in volumes] == ["false", "true", "false"]  # newest first
    assert "group_id" not in volumes[0]
    volumes = rest.call("GET", "volumes/detail", headers=owner, version="3.13").json["volumes"]
    assert volumes[0]["group_id"] is None


def test_pagination_with_next_links(rest: Rest, owner: dict, three: list) -> None:
    page = rest.call("GET", "volumes?limit=2", headers=owner).json
    assert ids(page) == [three[2]["id"], three[1]["id"]]
    [link] = page["volumes_links"]
    assert link["rel"] == "next"
    assert f"marker={three[1]['id']}" in link["href"]
    page = rest.call("GET", f"volumes?limit=2&marker={three[1]['id']}", headers=owner).json
    assert ids(page) == [three[0]["id"]]
    assert "volumes_links" not in page
    page = rest.call("GET", "volumes?limit=1&offset=1", headers=owner).json
    assert ids(page) == [three[1]["id"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=vol-1", [1]),
        ("bootable=true", [1]),
        ("bootable=false", [0, 2]),
        ("status=available", [0, 1, 2]),
        ("status=creating", []),
        ('metadata={"absent": "x"}', []),
        ("metadata=[1]", []),
        ("size=1", [0, 1, 2]),
        ("size=2", []),
        ("sort=created_at:asc", [0, 1, 2]),
        ("sort=name:desc", [2, 1, 0]),
        ("sort=bootable:asc", [0, 2, 1]),
        ("sort_key=display_name&sort_dir=asc", [0, 1, 2]),
    ],
)
def test_filters(rest: Rest, owner: dict, three: list, query: str, expected: list[int]) -> None:
    response = rest.call("GET", f"volumes/detail?sort=id:asc&{query}", headers=owner, version="3.2")
    if "sort" in query:
        response = rest.call("GET", f"volumes/detail?{query}", headers=owner, version="3.2")
        assert ids(response.json) == [three[i]["id"] for i in expected]
    else:
        assert ids(response.json) == sorted(three[i]["id"] for i in expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=reference:desc", "Invalid sort keys passed: reference"),
        ("sort=name:up", "Invalid sort dirs passed: up"),
        ("sort=name&sort_key=size", "cannot be used with the 'sort' parameter"),
        ("bootable=maybe", "'bootable = maybe'"),
        ("size=big", "Invalid value 'big' for filter size."),
        ("limit=-1", "limit param must be positive"),
        ("offset=x", "offset must be an integer."),
    ],
)
def test_bad_list_params(rest: Rest, owner: dict, query: str, message: str) -> None:
    response = rest.call("GET", f"volumes?{query}", headers=owner, version="3.2")
    assert response.status_int == 400
    assert message in response.json["badRequest"]["message"]


def test_unknown_marker_is_404(rest: Rest, owner: dict) -> None:
    for marker in (uuid.uuid4(), "not-a-uuid"):
        response = rest.call("GET", f"volumes?marker={marker}", headers=owner)
        assert response.status_int == 404


def test_summary(rest: Rest, owner: dict, three: list) -> None:
    response = rest.call("GET", "volumes/summary", headers=owner, version="3.12")
    assert response.json == {"volume-summary": {"total_count": 3, "total_size": 3}}


def test_show(rest: Rest, owner: dict, three: list) -> None:
    volume = rest.call("GET", f"volumes/{three[0]['id']}", headers=owner).json["volume"]
    assert volume["id"] == three[0]["id"]
    assert volume["created_at"].count(".") == 1  # Cinder's microseconds form
    response = rest.call("GET", "volumes/not-a-uuid", headers=owner)
    assert response.status_int == 404
    assert response.json["itemNotFound"]["message"] == "Volume not-a-uuid could not be found."
    assert rest.call("GET", f"volumes/{uuid.uuid4()}", headers=owner).status_int == 404


def test_unmanage(rest: Rest) -> None:
    owner = fresh_admin()
    volume = rest.manage(headers=owner)
    response = rest.call("POST", f"volumes/{volume['id']}/action", {"os-unmanage": None}, owner)
    assert response.status_int == 202
    assert response.body == b""
    assert rest.wait_status(volume["id"], headers=owner, leave="unmanaging")["status"] == "gone"
    assert any(name.startswith("volume-") for name in (p.name for p in rest.files.iterdir()))


def test_unmanage_errors(rest: Rest, owner: dict, three: list) -> None:
    path = f"volumes/{three[0]['id']}/action"
    response = rest.call("POST", path, {"os-extend": {"new_size": 2}}, owner)
    assert response.status_int == 400
    assert "There is no such action: os-extend" in response.json["badRequest"]["message"]
    response = rest.call("POST", path, {"os-unmanage": None, "os-extend": {}}, owner)
    assert response.status_int == 400
    response = rest.call("POST", path, {"os-unmanage": {"force": True}}, owner)
    assert response.status_int == 400
    response = rest.call("POST", f"volumes/{uuid.uuid4()}/action", {"os-unmanage": None}, owner)
    assert response.status_int == 404


def test_unmanage_while_creating_is_409(rest: Rest) -> None:
    owner = fresh_admin()
    body = rest.manage_body(rest.make_file())
    created = rest.call("POST", "os-volume-manage", body, headers=owner).json["volume"]
    response = rest.call("POST", f"volumes/{created['id']}/action", {"os-unmanage": None}, owner)
    if response.status_int == 409:  # still managing
        assert "conflictingRequest" in response.json
    else:  # it was already available: the unmanage went through
        assert response.status_int == 202


def test_delete_a_failed_manage(rest: Rest) -> None:
    owner = fresh_admin()
    response = rest.call("POST", "os-volume-manage", rest.manage_body("absent.img"), owner)
    volume = rest.wait_status(response.json["volume"]["id"], headers=owner)
    assert volume["status"] == "error"
    response = rest.call("DELETE", f"volumes/{volume['id']}", headers=owner)
    assert response.status_int == 202
    assert rest.call("GET", f"volumes/{volume['id']}", headers=owner).status_int == 404


def test_delete_an_available_volume_is_409(rest: Rest, owner: dict, three: list) -> None:
    response = rest.call("DELETE", f"volumes/{three[0]['id']}", headers=owner)
    assert response.status_int == 409
    assert "expected error_managing" in response.json["conflictingRequest"]["message"]
    assert rest.call("GET", f"volumes/{three[0]['id']}", headers=owner).status_int == 200
    response = rest.call("DELETE", f"volumes/{three[0]['id']}?purge=1", headers=owner)
    assert response.status_int == 400


def test_summary_of_every_project(rest: Rest, owner: dict, three: list) -> None:
    other = fresh_admin()
    rest.manage(headers=other, name="elsewhere")
    mine = rest.call("GET", "volumes/summary", headers=other, version="3.12").json
    assert mine == {"volume-summary": {"total_count": 1, "total_size": 1}}
    everyone = rest.call(
        "GET", "volumes/summary?all_tenants=1", headers=other, version="3.12"
    ).json["volume-summary"]
    listed = rest.call("GET", "volumes/detail?all_tenants=1", headers=other).json["volumes"]
    assert everyone["total_count"] == len(listed) >= 4
    assert everyone["total_size"] == sum(v["size"] or 0 for v in listed)


def test_filters_of_an_admin_over_every_project(rest: Rest, owner: dict, three: list) -> None:
    other = fresh_admin()
    theirs = rest.manage(headers=other, name="vol-1")
    query = f"volumes/detail?all_tenants=1&name=vol-1&project_id={other['X-Project-Id']}"
    assert ids(rest.call("GET", query, headers=owner, version="3.2").json) == [theirs["id"]]
    everywhere = rest.call("GET", "volumes?all_tenants=1&name=vol-1", headers=owner).json
    assert {three[1]["id"], theirs["id"]} <= set(ids(everywhere))
    mine = rest.call("GET", "volumes?name=vol-1", headers=owner).json
    assert ids(mine) == [three[1]["id"]]
    nothing = rest.call("GET", "volumes?group_id=g1&name=vol-1", headers=owner, version="3.10")
    assert ids(nothing.json) == []


def test_count_with_count_from_3_45(rest: Rest, owner: dict, three: list) -> None:
    response = rest.call("GET", "volumes?with_count=true&limit=1", headers=owner, version="3.45")
    assert (len(response.json["volumes"]), response.json["count"]) == (1, 3)
    response = rest.call(
        "GET", "volumes/detail?with_count=1&name=vol-1", headers=owner, version="3.71"
    )
    assert response.json["count"] == 1
    response = rest.call("GET", "volumes?with_count=true", headers=owner, version="3.44")
    assert "count" not in response.json  # not a parameter before 3.45


def test_consumes_quota_field_and_filter_from_3_65(rest: Rest) -> None:
    owner = fresh_admin()
    held = rest.manage(headers=owner)
    response = rest.call("POST", "os-volume-manage", rest.manage_body("absent.img"), owner)
    failed = rest.wait_status(response.json["volume"]["id"], headers=owner)
    assert (held["status"], failed["status"]) == ("available", "error")
    listed = rest.call("GET", "volumes/detail", headers=owner, version="3.65").json["volumes"]
    assert {v["id"]: v["consumes_quota"] for v in listed} == {held["id"]: True, failed["id"]: False}
    for value, expected in (("true", held), ("false", failed)):
        query = f"volumes?consumes_quota={value}&with_count=1"
        response = rest.call("GET", query, headers=owner, version="3.65")
        assert (ids(response.json), response.json["count"]) == ([expected["id"]], 1)
    response = rest.call("GET", "volumes?consumes_quota=maybe", headers=owner, version="3.65")
    assert response.status_int == 400


def test_summary_lists_distinct_metadata_from_3_36(rest: Rest) -> None:
    owner = fresh_admin()
    rest.manage(headers=owner, metadata={"tier": "gold", "team": "a"})
    rest.manage(headers=owner, metadata={"tier": "silver"})
    rest.manage(headers=owner, metadata={"tier": "gold"})
    response = rest.call("GET", "volumes/summary", headers=owner, version="3.35")
    assert "metadata" not in response.json["volume-summary"]
    response = rest.call("GET", "volumes/summary", headers=owner, version="3.36")
    assert response.json["volume-summary"] == {
        "total_count": 3,
        "total_size": 3,
        "metadata": {"team": ["a"], "tier": ["gold", "silver"]},
    }
