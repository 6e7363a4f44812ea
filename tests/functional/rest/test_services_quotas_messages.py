"""Services, quota sets, user messages and volume types over REST."""

import uuid

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member


def test_services(rest: Rest) -> None:
    services = rest.call("GET", "os-services", headers=fresh_admin()).json["services"]
    by_binary = {s["binary"]: s for s in services}
    assert set(by_binary) == {"volmgr-api", "volmgr-scheduler", "volmgr-volume"}
    volume = by_binary["volmgr-volume"]
    assert (volume["host"], volume["zone"]) == (rest.backend, "nova")
    assert (volume["status"], volume["state"]) == ("enabled", "up")
    assert volume["updated_at"].count(".") == 1
    assert "cluster" not in volume
    services = rest.call("GET", "os-services", headers=fresh_admin(), version="3.7").json
    assert all(s["cluster"] is None for s in services["services"])


def test_services_filters(rest: Rest) -> None:
    headers = fresh_admin()
    for binary in ("volmgr-volume", "cinder-volume"):
        found = rest.call("GET", f"os-services?binary={binary}", headers=headers).json
        assert [s["binary"] for s in found["services"]] == ["volmgr-volume"]
    found = rest.call("GET", f"os-services?host={rest.backend}", headers=headers).json
    assert [s["host"] for s in found["services"]] == [rest.backend]
    # As in Cinder, host and binary are the only filters; any other is ignored.
    everything = rest.call("GET", "os-services", headers=headers).json
    assert rest.call("GET", "os-services?zone=x", headers=headers).json == everything


def test_quota_usage(rest: Rest) -> None:
    owner = fresh_admin()
    project = owner["X-Project-Id"]
    rest.manage(headers=owner)
    quota = rest.call("GET", f"os-quota-sets/{project}?usage=True", headers=owner).json
    assert quota["quota_set"]["id"] == project
    assert quota["quota_set"]["volumes"] == {
        "limit": 1000,
        "in_use": 1,
        "reserved": 0,
        "allocated": 0,
    }
    assert quota["quota_set"]["gigabytes"]["in_use"] == 1
    assert quota["quota_set"]["volumes___DEFAULT__"]["in_use"] == 1
    limits = rest.call("GET", f"os-quota-sets/{project}", headers=owner).json["quota_set"]
    assert (limits["volumes"], limits["gigabytes"]) == (1000, 100000)
    response = rest.call("GET", f"os-quota-sets/{project}?usage=perhaps", headers=owner)
    assert response.status_int == 400


def test_messages(rest: Rest) -> None:
    owner = fresh_admin()
    failed = []
    for _ in range(3):
        body = rest.manage_body(f"missing-{uuid.uuid4().hex[:6]}.img")
        created = rest.call("POST", "os-volume-manage", body, headers=owner).json["volume"]
        failed.append(rest.wait_status(created["id"], headers=owner)["id"])
    listed = rest.call("GET", "messages", headers=owner, version="3.3").json["messages"]
    assert sorted(m["resource_uuid"] for m in listed) == sorted(failed)
    message = listed[0]
    assert set(message) == {
        "id", "event_id", "user_message", "message_level", "resource_type",
        "resource_uuid", "request_id", "created_at", "guaranteed_until", "links",
    }  # fmt: skip
    assert (message["message_level"], message["resource_type"]) == ("ERROR", "VOLUME")
    one = rest.call("GET", f"messages/{message['id']}", headers=owner, version="3.3").json
    assert one["message"]["id"] == message["id"]
    query = f"messages?resource_uuid={failed[1]}"
    assert [
        m["resource_uuid"]
        for m in rest.call("GET", query, headers=owner, version="3.5").json["messages"]
    ] == [failed[1]]
    # Before 3.5 Cinder reads no parameter of a message listing.
    assert rest.call("GET", query, headers=owner, version="3.4").json["messages"] == listed
    page = rest.call("GET", "messages?limit=2&sort=created_at:asc", headers=owner, version="3.5")
    assert [m["resource_uuid"] for m in page.json["messages"]] == failed[:2]
    marker = page.json["messages"][1]["id"]
    page = rest.call(
        "GET", f"messages?marker={marker}&sort=created_at:asc", headers=owner, version="3.5"
    )
    assert [m["resource_uuid"] for m in page.json["messages"]] == failed[2:]
    assert (
        len(rest.call("GET", "messages?limit=2", headers=owner, version="3.4").json["messages"])
        == 3
    )
    other = rest.call("GET", "messages", headers=fresh_member(), version="3.3").json["messages"]
    assert other == []
    missing = rest.call("GET", f"messages/{uuid.uuid4()}", headers=owner, version="3.3")
    assert missing.status_int == 404
    hidden = rest.call("GET", f"messages/{message['id']}", headers=fresh_member(), version="3.3")
    assert hidden.status_int == 404
    newest = rest.call("GET", "messages?limit=1", headers=owner, version="3.5").json["messages"]
    assert [m["resource_uuid"] for m in newest] == [failed[-1]]
    bad_marker = rest.call("GET", f"messages?marker={failed[0]}", headers=owner, version="3.5")
    assert bad_marker.status_int == 400
    assert "could not be found" in bad_marker.json["badRequest"]["message"]
    bad_sort = rest.call("GET", "messages?sort=detail", headers=owner, version="3.5")
    assert bad_sort.status_int == 400


def test_types(rest: Rest) -> None:
    rest.manage(headers=fresh_admin())  # creates the default type if missing
    admin_view = rest.call("GET", "types?is_public=None", headers=fresh_admin()).json
    [default] = [t for t in admin_view["volume_types"] if t["name"] == "__DEFAULT__"]
    assert default["extra_specs"] == {}
    assert default["is_public"] is True
    member_view = rest.call("GET", "types", headers=fresh_member()).json["volume_types"]
    assert all("extra_specs" not in t for t in member_view)
    one = rest.call("GET", f"types/{default['id']}", headers=fresh_member()).json
    assert one["volume_type"]["name"] == "__DEFAULT__"
    assert rest.call("GET", "types/nope", headers=fresh_member()).status_int == 404
    # As in Cinder, a user lists public types whatever is_public says; an admin chooses.
    private = rest.call("GET", "types?is_public=false", headers=fresh_member()).json
    assert private["volume_types"] == member_view
    private = rest.call("GET", "types?is_public=false", headers=fresh_admin()).json
    assert all(not t["is_public"] for t in private["volume_types"])
