"""Snapshots through the REST API and the real ``cinder`` command, on real qcow2 overlays.

One stack on the image driver: a qcow2 image is managed as a volume, then overlays
whose backing file is that volume's image are managed as its snapshots, listed,
shown, unmanaged; refusals answer 4xx (or end in ``error`` with a user message when
only the volume service can tell) and rename nothing; quota counts ``snapshots`` and
their gigabytes. python-cinderclient's ``snapshot-manageable-list``,
``snapshot-manage``, ``snapshot-list``, ``snapshot-show`` and ``snapshot-unmanage``
work unchanged, python-openstackclient's ``volume snapshot list/show/delete`` too,
and so do volmgr's own snapshot commands.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.rest.conftest import WAIT_SECONDS, Rest, fresh_admin, running_stack, unique
from tests.functional.rest.test_cinderclient import cinder, ok, row_value
from tests.functional.rest.test_cli import run_apart
from tests.functional.rest.test_openstackclient import openstack, printed
from tests.image_support import qemu_img


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    """The stack on the image driver; ``files`` is its image directory."""
    with running_stack(
        tmp_path_factory.mktemp("snapshots"), volume__volume_driver="image"
    ) as stack:
        stack.files = Path(stack.conf.image_backend.directory)
        stack.files.mkdir(parents=True, exist_ok=True)
        yield stack


def managed_volume(rest: Rest, headers: dict[str, str]) -> dict[str, Any]:
    """A 1 GiB qcow2 image managed as a volume of the caller's project."""
    name = f"{unique('base')}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(rest.files / name), "1G")
    response = rest.call("POST", "os-volume-manage", rest.manage_body(name), headers=headers)
    assert response.status_int == 202, response.text
    volume = rest.wait_status(response.json["volume"]["id"], headers=headers)
    assert volume["status"] == "available", volume
    return volume


def overlay(rest: Rest, backing: str) -> str:
    name = f"{unique('snap')}.qcow2"
    qemu_img(
        "create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", str(rest.files / name)
    )  # fmt: skip
    return name


def body(volume_id: str, source: str, **fields: Any) -> dict[str, Any]:
    return {"snapshot": {"volume_id": volume_id, "ref": {"source-name": source}, **fields}}


def wait_snapshot(rest: Rest, snapshot_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The snapshot once it is no longer ``creating`` (``{"status": "gone"}`` if removed)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = rest.call("GET", f"snapshots/{snapshot_id}", headers=headers)
        if response.status_int == 404:
            return {"id": snapshot_id, "status": "gone"}
        snapshot = response.json["snapshot"]
        if snapshot["status"] not in ("creating", "unmanaging"):
            return snapshot
        assert time.monotonic() < deadline, f"{snapshot_id} still {snapshot['status']}"
        time.sleep(0.02)


def usage(rest: Rest, headers: dict[str, str]) -> dict[str, int]:
    project = headers["X-Project-Id"]
    quota = rest.call("GET", f"os-quota-sets/{project}?usage=True", headers=headers).json
    return {k: v["in_use"] for k, v in quota["quota_set"].items() if isinstance(v, dict)}


def backing_of(path: Path) -> str:
    info = json.loads(qemu_img("info", "--output=json", "--backing-chain", str(path)))
    return str(info[0]["full-backing-filename"])


def test_manage_show_list_and_unmanage_a_qcow2_overlay(images: Rest) -> None:
    headers = fresh_admin()
    volume = managed_volume(images, headers)
    base = f"volume-{volume['id']}"
    name = overlay(images, base)
    listed = images.call("GET", f"os-snapshot-manage?host={images.backend}", headers=headers)
    [entry] = [
        e for e in listed.json["manageable-snapshots"] if e["reference"]["source-name"] == name
    ]
    assert entry == {
        "reference": {"source-name": name},
        "size": 1,
        "safe_to_manage": True,
        "source_reference": {"source-name": base},
    }
    created = images.call(
        "POST", "os-snapshot-manage", body(volume["id"], name, name="nightly", metadata={"k": "v"}),
        headers=headers,
    )  # fmt: skip
    assert created.status_int == 202, created.text
    assert created.json["snapshot"]["status"] == "creating"
    snapshot = wait_snapshot(images, created.json["snapshot"]["id"], headers)
    assert (snapshot["status"], snapshot["size"], snapshot["name"]) == ("available", 1, "nightly")
    assert snapshot["metadata"] == {"k": "v"} and snapshot["volume_id"] == volume["id"]
    assert snapshot["os-extended-snapshot-attributes:progress"] == "100%"
    managed = images.files / f"snapshot-{snapshot['id']}"
    assert not (images.files / name).exists()
    assert backing_of(managed) == str(images.files / base)
    counted = usage(images, headers)
    assert (counted["snapshots"], counted["gigabytes"], counted["volumes"]) == (1, 2, 1)

    page = images.call("GET", "snapshots/detail", headers=headers, version="3.65").json
    assert [s["id"] for s in page["snapshots"]] == [snapshot["id"]]
    assert page["snapshots"][0]["consumes_quota"] is True
    detail = images.call("GET", f"os-snapshot-manage/detail?host={images.backend}", headers=headers)
    [held] = [e for e in detail.json["manageable-snapshots"] if e["cinder_id"] == snapshot["id"]]
    assert held["reason_not_safe"] == "already managed"

    # The volume cannot be unmanaged while it has a snapshot.
    refused = images.call(
        "POST", f"volumes/{volume['id']}/action", {"os-unmanage": None}, headers=headers
    )
    assert refused.status_int == 400 and "snapshot" in refused.text
    # Only a failed manage's record is deleted; this one is available.
    assert images.call("DELETE", f"snapshots/{snapshot['id']}", headers=headers).status_int == 400

    action = {"os-unmanage": None}
    gone = images.call("POST", f"snapshots/{snapshot['id']}/action", action, headers=headers)
    assert gone.status_int == 202, gone.text
    assert wait_snapshot(images, snapshot["id"], headers)["status"] == "gone"
    assert managed.exists() and backing_of(managed) == str(images.files / base)
    assert usage(images, headers)["snapshots"] == 0
    assert usage(images, headers)["gigabytes"] == 1


def test_refusals_answer_4xx_and_rename_nothing(images: Rest) -> None:
    headers = fresh_admin()
    volume = managed_volume(images, headers)
    name = overlay(images, f"volume-{volume['id']}")
    other = fresh_admin()
    cases = [
        (body(volume["id"], name), other, 404),  # a volume of another project
        (body("00000000-0000-0000-0000-000000000000", name), headers, 404),
        (body("not-a-uuid", name), headers, 400),
        ({"snapshot": {"volume_id": volume["id"]}}, headers, 400),
        ({"snapshot": {"volume_id": volume["id"], "ref": {}}}, headers, 400),
        (body(volume["id"], name, bogus=1), headers, 400),
        ({"volume": {}}, headers, 400),
    ]
    for request, who, code in cases:
        response = images.call("POST", "os-snapshot-manage", request, headers=who)
        assert response.status_int == code, (request, response.text)
    member = {"X-User-Id": "u", "X-Project-Id": headers["X-Project-Id"], "X-Roles": "member"}
    assert (
        images.call(
            "POST", "os-snapshot-manage", body(volume["id"], name), headers=member
        ).status_int
        == 403
    )
    assert (images.files / name).exists()
    assert images.call("GET", "snapshots", headers=headers).json["snapshots"] == []


def test_what_only_the_backend_can_refuse_ends_in_error_with_a_message(images: Rest) -> None:
    headers = fresh_admin()
    volume = managed_volume(images, headers)
    before = usage(images, headers)
    stranger = f"{unique('plain')}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(images.files / stranger), "1G")
    not_a_snapshot = overlay(images, stranger)  # an overlay, but of another image
    created = images.call(
        "POST", "os-snapshot-manage", body(volume["id"], not_a_snapshot), headers=headers
    )
    assert created.status_int == 202, created.text
    snapshot = wait_snapshot(images, created.json["snapshot"]["id"], headers)
    assert snapshot["status"] == "error"
    assert (images.files / not_a_snapshot).exists()
    assert usage(images, headers) == before
    messages = images.call("GET", "messages", headers=headers, version="3.3").json["messages"]
    [message] = [m for m in messages if m["resource_uuid"] == snapshot["id"]]
    assert message["event_id"] == "VOLUME_VOLUME_SNAPSHOT_902_901"
    assert message["resource_type"] == "VOLUME_SNAPSHOT"
    # The same reference again is refused while a live row holds it, and free after.
    name = overlay(images, f"volume-{volume['id']}")
    first = images.call("POST", "os-snapshot-manage", body(volume["id"], name), headers=headers)
    again = images.call("POST", "os-snapshot-manage", body(volume["id"], name), headers=headers)
    assert first.status_int == 202 and again.status_int == 409, again.text
    assert wait_snapshot(images, first.json["snapshot"]["id"], headers)["status"] == "available"
    deleted = images.call("DELETE", f"snapshots/{snapshot['id']}", headers=headers)
    assert deleted.status_int == 202
    assert wait_snapshot(images, snapshot["id"], headers)["status"] == "gone"


def test_the_real_cinder_snapshot_commands(images: Rest) -> None:
    headers = fresh_admin()
    project = headers["X-Project-Id"]
    volume = managed_volume(images, headers)
    name = overlay(images, f"volume-{volume['id']}")
    listed = ok(cinder(images, "admin", project, "snapshot-manageable-list", images.backend))
    [line] = [line for line in listed.splitlines() if name in line]
    assert "True" in line and f"volume-{volume['id']}" in line

    managed = ok(
        cinder(images, "admin", project, "snapshot-manage", volume["id"], name, "--name", "cc-snap")
    )
    snapshot_id = row_value(managed, "id")
    assert row_value(managed, "volume_id") == volume["id"]
    assert wait_snapshot(images, snapshot_id, headers)["status"] == "available"

    shown = ok(cinder(images, "admin", project, "snapshot-show", snapshot_id))
    assert row_value(shown, "status") == "available"
    assert row_value(shown, "name") == "cc-snap"
    assert row_value(shown, "size") == "1"
    listed = ok(cinder(images, "admin", project, "snapshot-list"))
    [line] = [line for line in listed.splitlines() if snapshot_id in line]
    assert "available" in line and "cc-snap" in line and volume["id"] in line
    detailed = ok(
        cinder(images, "admin", project, "--os-volume-api-version", "3.8",
               "snapshot-manageable-list", "--detailed", "True", images.backend)
    )  # fmt: skip
    assert snapshot_id in detailed and "already managed" in detailed

    ok(cinder(images, "admin", project, "snapshot-unmanage", snapshot_id))
    assert wait_snapshot(images, snapshot_id, headers)["status"] == "gone"
    assert (images.files / f"snapshot-{snapshot_id}").exists()


def test_the_real_openstack_snapshot_commands(images: Rest) -> None:
    """``openstack volume snapshot list/show`` print a managed snapshot; ``volume
    snapshot set`` (an update volmgr does not serve) fails with the server's 405
    or 404 in one line, and ``volume snapshot delete`` of a failed manage works."""
    headers = fresh_admin()
    project = headers["X-Project-Id"]
    volume = managed_volume(images, headers)
    name = overlay(images, f"volume-{volume['id']}")
    created = images.call(
        "POST", "os-snapshot-manage", body(volume["id"], name, name="os-snap"), headers=headers
    )
    snapshot = wait_snapshot(images, created.json["snapshot"]["id"], headers)
    assert snapshot["status"] == "available"
    listed = printed(
        openstack(images, "admin", project, "volume", "snapshot", "list", "--long", "-f", "json")
    )
    assert [(s["ID"], s["Name"], s["Status"], s["Size"]) for s in listed] == [
        (snapshot["id"], "os-snap", "available", 1)
    ]
    filtered = ["volume", "snapshot", "list", "--name", "other", "-f", "json"]
    assert printed(openstack(images, "admin", project, *filtered)) == []
    shown = printed(
        openstack(images, "admin", project, "volume", "snapshot", "show", "-f", "json", "os-snap")
    )
    assert (shown["id"], shown["volume_id"], shown["status"]) == (
        snapshot["id"], volume["id"], "available",
    )  # fmt: skip
    for change in (["--name", "renamed"], ["--property", "k=v"]):
        refused = openstack(
            images, "admin", project, "volume", "snapshot", "set", *change, "os-snap"
        )
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr and ".py" not in refused.stderr
        assert "405" in refused.stderr or "404" in refused.stderr, refused.stderr
    failed = images.call(
        "POST", "os-snapshot-manage", body(volume["id"], "absent.qcow2"), headers=headers
    )
    assert wait_snapshot(images, failed.json["snapshot"]["id"], headers)["status"] == "error"
    deleted = openstack(
        images, "admin", project, "volume", "snapshot", "delete", failed.json["snapshot"]["id"]
    )
    assert deleted.returncode == 0, deleted.stderr
    assert wait_snapshot(images, failed.json["snapshot"]["id"], headers)["status"] == "gone"


def test_the_volmgr_snapshot_commands(images: Rest, capsys: pytest.CaptureFixture) -> None:
    headers = fresh_admin()
    project = headers["X-Project-Id"]
    volume = managed_volume(images, headers)
    name = overlay(images, f"volume-{volume['id']}")

    def volmgr(*args: str) -> tuple[int, str]:
        code, out, err = run_apart(images, capsys, project, *args)
        return code, out if code == 0 else out + err

    code, out = volmgr("--json", "snapshot-manageable-list", images.backend)
    [entry] = [e for e in json.loads(out) if e["reference"] == {"source-name": name}]
    assert (code, entry["safe_to_manage"]) == (0, True)
    assert entry["source_reference"] == {"source-name": f"volume-{volume['id']}"}
    code, out = volmgr(
        "--json", "snapshot-manage", volume["id"], name, "--name", "s1", "--metadata", "a=b",
        "--wait",
    )  # fmt: skip
    assert code == 0, out
    snapshot = json.loads(out)
    assert (snapshot["status"], snapshot["metadata"]) == ("available", {"a": "b"})
    code, out = volmgr("--json", "snapshot-list", "--volume-id", volume["id"])
    [listed] = json.loads(out)
    assert (listed["ID"], listed["Status"], listed["Name"]) == (snapshot["id"], "available", "s1")
    code, out = volmgr("snapshot-show", snapshot["id"])
    assert code == 0 and "| name " in out and "s1" in out
    code, out = volmgr("snapshot-unmanage", snapshot["id"], "--wait")
    assert (code, out.strip()) == (0, f"{snapshot['id']}: unmanaged")
    # A reference that is not a snapshot of the volume: the reason, exit code 1.
    code, out = volmgr("snapshot-manage", volume["id"], f"volume-{volume['id']}", "--wait")
    assert code == 1 and "manage existing snapshot" in out


def test_views_by_microversion_and_by_who_asks(images: Rest) -> None:
    headers = fresh_admin()
    volume = managed_volume(images, headers)
    request = body(volume["id"], overlay(images, f"volume-{volume['id']}"))
    created = images.call("POST", "manageable_snapshots", request, headers=headers, version="3.8")
    assert created.status_int == 202, created.text
    snapshot = wait_snapshot(images, created.json["snapshot"]["id"], headers)
    path = f"snapshots/{snapshot['id']}"
    old = images.call("GET", path, headers=headers, version="3.0").json["snapshot"]
    new = images.call("GET", path, headers=headers, version="3.65").json["snapshot"]
    added = {"group_snapshot_id", "user_id", "consumes_quota"}
    assert not added & set(old) and added <= set(new)
    assert (new["group_snapshot_id"], new["user_id"], new["consumes_quota"]) == (
        None, "admin", True
    )  # fmt: skip
    extended = "os-extended-snapshot-attributes:project_id"
    summary = images.call("GET", "snapshots", headers=headers).json["snapshots"]
    detailed = images.call("GET", "snapshots/detail", headers=headers).json["snapshots"]
    assert extended not in summary[0] and detailed[0][extended] == headers["X-Project-Id"]
    projectless = images.call("GET", f"/v3/{path}", headers=headers)
    assert projectless.json["snapshot"]["id"] == snapshot["id"]
    member = {"X-User-Id": "u1", "X-Project-Id": headers["X-Project-Id"], "X-Roles": "member"}
    assert images.call("GET", path, headers=member).json["snapshot"][extended]
    stranger = {"X-User-Id": "u2", "X-Project-Id": unique("p"), "X-Roles": "member"}
    assert images.call("GET", path, headers=stranger).status_int == 404
    action = {"os-unmanage": None}
    assert images.call("POST", f"{path}/action", action, headers=member).status_int == 403
    assert (
        images.call("POST", f"{path}/action", {"os-bogus": None}, headers=headers).status_int == 400
    )
    assert images.call("GET", "snapshots?sort=bogus", headers=headers).status_int == 400
    assert images.call("GET", "snapshots?marker=nope", headers=headers).status_int == 404
