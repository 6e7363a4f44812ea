"""Manage and the manageable listing over REST, and every way a manage request is refused."""

import os
from typing import Any

import pytest

from tests.functional.rest.conftest import GIB, Rest, fresh_admin
from volmgr_common.db import volumes as volumes_db


def volume_count(rest: Rest) -> int:
    return len(volumes_db.list_volumes(rest.db))


def refused(rest: Rest, code: int, body: Any = None, **kwargs: Any) -> str:
    """POST os-volume-manage, check it is refused with ``code`` and nothing is written."""
    before, files = volume_count(rest), sorted(os.listdir(rest.files))
    response = rest.call("POST", kwargs.pop("path", "os-volume-manage"), body, **kwargs)
    assert response.status_int == code, response.text
    [(kind, fault)] = response.json.items()
    assert fault["code"] == code
    assert volume_count(rest) == before
    assert sorted(os.listdir(rest.files)) == files
    return f"{kind}: {fault['message']}"


def test_manage_answers_202_with_cinders_volume_view(rest: Rest) -> None:
    headers = fresh_admin()
    name = rest.make_file(size=GIB + 1)
    body = rest.manage_body(
        name, name="vol-a", description="d", metadata={"k": "v"}, bootable="true"
    )
    response = rest.call("POST", "os-volume-manage", body, headers=headers)
    assert response.status_int == 202
    volume = response.json["volume"]
    assert (volume["status"], volume["size"]) == ("creating", 0)
    listed = rest.call("GET", "volumes/detail", headers=headers).json["volumes"]
    assert [v["size"] for v in listed if v["status"] == "creating"] in ([], [0])
    assert volume["name"] == "vol-a"
    assert volume["bootable"] == "true"
    assert volume["metadata"] == {"k": "v"}
    assert volume["os-vol-tenant-attr:tenant_id"] == headers["X-Project-Id"]
    assert volume["os-vol-host-attr:host"] == rest.backend
    assert (volume["attachments"], volume["multiattach"], volume["encrypted"]) == ([], False, False)
    assert volume["links"][0]["href"].endswith(
        f"/v3/{headers['X-Project-Id']}/volumes/{volume['id']}"
    )
    done = rest.wait_status(volume["id"], headers=headers)
    assert (done["status"], done["size"]) == ("available", 2)
    assert not (rest.files / name).exists()


def test_manage_through_manageable_volumes_at_3_8(rest: Rest) -> None:
    headers = fresh_admin()
    body = rest.manage_body(rest.make_file())
    response = rest.call("POST", "manageable_volumes", body, headers=headers, version="3.8")
    assert response.status_int == 202
    assert rest.wait_status(response.json["volume"]["id"], headers=headers)["status"] == "available"


def test_manage_by_cluster_at_3_16(rest: Rest) -> None:
    headers = fresh_admin()
    body = {"volume": {"cluster": rest.backend, "ref": {"source-name": rest.make_file()}}}
    response = rest.call("POST", "os-volume-manage", body, headers=headers, version="3.16")
    assert response.status_int == 202
    assert rest.wait_status(response.json["volume"]["id"], headers=headers)["status"] == "available"


def test_failed_manage_shows_as_error_and_leaves_a_message(rest: Rest) -> None:
    headers = fresh_admin()
    body = rest.manage_body("no-such-file.img")
    response = rest.call("POST", "os-volume-manage", body, headers=headers)
    assert response.status_int == 202
    volume = rest.wait_status(response.json["volume"]["id"], headers=headers)
    assert (volume["status"], volume["size"]) == ("error", 0)
    listed = rest.call("GET", "volumes/detail", headers=headers).json["volumes"]
    assert [(v["id"], v["size"]) for v in listed] == [(volume["id"], 0)]
    messages = rest.call("GET", "messages", headers=headers, version="3.3").json["messages"]
    assert [m["resource_uuid"] for m in messages] == [volume["id"]]
    assert (messages[0]["event_id"], messages[0]["user_message"]) == (
        "VOLUME_VOLUME_901_901",
        "manage existing volume: "
        "The backend reference does not name an object that can be managed.",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"volume": {"host": "h@b"}}, "'ref' is a required property"),
        ({"ref": {"source-name": "x"}}, "'volume' is a required property"),
        (
            {"volume": {"host": "h@b", "ref": {"source-name": "x"}, "size": 1}},
            "'size' was unexpected",
        ),
        ({"volume": {"host": "h@b", "ref": "x"}}, "is not of type 'object'"),
        ({"volume": {"host": "h@b", "ref": {"a": 1}, "name": "n" * 256}}, "longer than 255"),
        ({"volume": {"host": "h@b", "ref": {"a": 1}, "metadata": {"k": 1}}}, "volume/metadata"),
        (
            {"volume": {"host": "h@b", "ref": {"a": 1}, "cluster": "h@b"}},
            "'cluster' was unexpected",
        ),
        ({"volume": {"ref": {"a": 1}}}, "Host field is missing."),
        ({"volume": {"host": "h@b", "ref": {"source-name": ""}}}, "volume/ref/source-name"),
        ({"volume": {"host": "h@b", "ref": {"source-name": 7}}}, "is not of type 'string'"),
        ({"volume": {"host": "h@b", "ref": {"source-id": None}}}, "volume/ref/source-id"),
        ({"volume": {"host": "h@b", "ref": {"source-id": []}}}, "is not of type 'string'"),
        ({"volume": {"host": "h@b", "ref": {"source-name": "n" * 256}}}, "longer than 255"),
        ([1, 2], "is not of type 'object'"),
    ],
)
def test_bad_bodies_are_400(rest: Rest, body: Any, expected: str) -> None:
    assert expected in refused(rest, 400, body, headers=fresh_admin())


def test_host_and_cluster_together_is_400(rest: Rest) -> None:
    body = {"volume": {"host": rest.backend, "cluster": rest.backend, "ref": {"a": 1}}}
    message = refused(rest, 400, body, headers=fresh_admin(), version="3.16")
    assert message == "badRequest: One and only one of cluster and host must be set."


def test_malformed_json_and_wrong_content_type(rest: Rest) -> None:
    assert "Malformed request body" in refused(rest, 400, raw=b'{"volume": ', headers=fresh_admin())
    assert "Malformed request body" in refused(rest, 400, raw=b'{"a": NaN}', headers=fresh_admin())
    assert "Malformed request body" in refused(rest, 400, raw=b"\xff\xfe", headers=fresh_admin())
    assert "has no body" in refused(rest, 400, raw=b"", headers=fresh_admin())
    request_headers = {**fresh_admin(), "Content-Type": "text/plain"}
    response = rest.call("POST", "os-volume-manage", headers=request_headers)
    assert response.json == {"badMediaType": {"code": 415, "message": "Unsupported Content-Type"}}


def test_oversized_body_is_413(rest: Rest) -> None:
    body = rest.manage_body("x", description="d" * 200_000)
    assert refused(rest, 413, body, headers=fresh_admin()) == "overLimit: Request is too large."


def test_unknown_host_type_and_bad_host(rest: Rest) -> None:
    headers = fresh_admin()
    name = rest.make_file()
    body = rest.manage_body(name)
    body["volume"]["host"] = "nowhere@files"
    assert refused(rest, 400, body, headers=headers) == "badRequest: Host 'nowhere@files' not found"
    cluster_body = {"volume": {"cluster": "nowhere@files", "ref": {"source-name": name}}}
    assert (
        refused(rest, 400, cluster_body, headers=headers, version="3.16")
        == "badRequest: Cluster 'nowhere@files' not found"
    )
    body = rest.manage_body(name, volume_type="no-such-type")
    assert "Cannot find requested 'no-such-type' volume type" in refused(
        rest, 400, body, headers=headers
    )
    body["volume"]["host"] = "not a host"
    assert "badRequest: Invalid host" in refused(rest, 400, body, headers=headers)


def test_managing_the_same_object_twice_is_409(rest: Rest) -> None:
    headers = fresh_admin()
    name = rest.make_file()
    first = rest.call("POST", "os-volume-manage", rest.manage_body(name), headers=headers)
    assert first.status_int == 202
    second = rest.call("POST", "os-volume-manage", rest.manage_body(name), headers=headers)
    if second.status_int == 202:  # the first already renamed the file: the second fails later
        later = rest.wait_status(second.json["volume"]["id"], headers=headers)
        assert later["status"] == "error"
    else:
        assert second.status_int == 409
        assert "already managed" in second.json["conflictingRequest"]["message"]
    assert rest.wait_status(first.json["volume"]["id"], headers=headers)["status"] == "available"


def listing(rest: Rest, path: str = "os-volume-manage/detail", **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"host": rest.backend, **params}.items())
    return rest.call("GET", f"{path}?{query}", headers=fresh_admin(), version=params.pop("v", None))


def test_manageable_listing_summary_and_detail(rest: Rest) -> None:
    safe = rest.make_file("listing-a.img")
    os.symlink("/etc/hostname", rest.files / "listing-link.img")
    summary = listing(rest, "os-volume-manage").json["manageable-volumes"]
    assert {"reference": {"source-name": safe}, "size": 1, "safe_to_manage": True} in summary
    detail = listing(rest).json["manageable-volumes"]
    by_name = {e["reference"]["source-name"]: e for e in detail}
    assert by_name[safe] == {
        "reference": {"source-name": safe},
        "size": 1,
        "safe_to_manage": True,
        "reason_not_safe": None,
        "cinder_id": None,
        "extra_info": None,
    }
    assert not by_name["listing-link.img"]["safe_to_manage"]
    assert "symbolic link" in by_name["listing-link.img"]["reason_not_safe"]


def test_manageable_listing_pages_and_sorts(rest: Rest) -> None:
    names = sorted(e["reference"]["source-name"] for e in listing(rest).json["manageable-volumes"])
    ascending = listing(rest, sort="reference:asc").json["manageable-volumes"]
    assert [e["reference"]["source-name"] for e in ascending] == names
    descending = listing(rest, sort_key="reference", sort_dir="desc").json["manageable-volumes"]
    assert [e["reference"]["source-name"] for e in descending] == names[::-1]
    page = listing(rest, sort="reference:asc", limit="1", marker=names[0]).json
    assert [e["reference"]["source-name"] for e in page["manageable-volumes"]] == names[1:2]
    page = listing(rest, sort="reference:asc", limit="1", offset="1").json
    assert [e["reference"]["source-name"] for e in page["manageable-volumes"]] == names[1:2]
    by_size = listing(rest, sort="size:desc").json["manageable-volumes"]
    assert [e["size"] for e in by_size] == sorted((e["size"] for e in by_size), reverse=True)


def test_manageable_listing_by_cluster_at_3_17(rest: Rest) -> None:
    response = rest.call(
        "GET", f"manageable_volumes?cluster={rest.backend}", headers=fresh_admin(), version="3.17"
    )
    assert response.status_int == 200
    response = rest.call(
        "GET", f"manageable_volumes?cluster={rest.backend}", headers=fresh_admin(), version="3.16"
    )
    assert response.status_int == 400
    response = rest.call(
        "GET",
        f"manageable_volumes?cluster={rest.backend}&host={rest.backend}",
        headers=fresh_admin(),
        version="3.17",
    )
    assert response.json["badRequest"]["message"] == (
        "One and only one of cluster and host must be set."
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "colour"}, "Invalid sort keys passed: colour"),
        ({"sort": "size:up"}, "Invalid sort dirs passed: up"),
        ({"limit": "-1"}, "limit param must be positive"),
        ({"offset": "x"}, "offset must be an integer."),
        ({"marker": "not-there"}, "marker 'not-there' not found"),
    ],
)
def test_manageable_listing_bad_params(rest: Rest, params: dict[str, str], expected: str) -> None:
    response = listing(rest, **params)
    assert response.status_int == 400
    assert expected in response.json["badRequest"]["message"]


def test_manageable_listing_ignores_other_parameters(rest: Rest) -> None:
    """As in Cinder, which reads no filter from a manageable listing."""
    plain = listing(rest)
    assert plain.status_int == 200
    assert listing(rest, colour="red").json == plain.json


def test_manageable_listing_of_unknown_backend_is_400(rest: Rest) -> None:
    response = rest.call("GET", "os-volume-manage?host=nowhere@files", headers=fresh_admin())
    assert response.json["badRequest"]["message"] == "Host 'nowhere@files' not found"
    response = rest.call(
        "GET", "manageable_volumes?cluster=nowhere@files", headers=fresh_admin(), version="3.17"
    )
    assert response.json["badRequest"]["message"] == "Cluster 'nowhere@files' not found"
    response = rest.call("GET", "os-volume-manage", headers=fresh_admin())
    assert response.json["badRequest"]["message"] == "Host field is missing."
