"""The real ``openstack`` command of python-openstackclient against volmgr's HTTP server.

Runs ``openstack --os-auth-type volmgr-noauth`` in a subprocess, as an operator
would, against the REST API served on a free localhost port, with an endpoint
without the project id (``/v3``, as microversion 3.67 allows), and checks what it
prints. Each invocation costs a second or two of CPU, so the module keeps to a few.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.functional.rest.conftest import Rest, identity, unique
from volmgr_api.rest.views import volumes as volume_views

OPENSTACK = Path(sys.executable).with_name("openstack")


def openstack(rest: Rest, user: str, project: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CINDER"))}
    env["OS_CLIENT_CONFIG_FILE"] = os.devnull  # no clouds.yaml of the machine
    command = [
        str(OPENSTACK),
        "--os-auth-type", "volmgr-noauth",
        "--os-endpoint", f"{rest.url}/v3",
        "--os-user-id", user,
        "--os-project-id", project,
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def printed(result: subprocess.CompletedProcess) -> Any:
    """What a command run with ``-f json`` printed."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def project() -> str:
    return unique("osc")


def test_manage_show_list_quota_and_unmanage(rest: Rest, project: str) -> None:
    source = rest.make_file(f"{unique('osc')}.img")
    manage = ["volume", "create", "-f", "json", "--remote-source", f"source-name={source}"]
    created = printed(openstack(rest, "admin", project, *manage, "--host", rest.backend, "osc-vol"))
    volume_id = created["id"]
    assert created["name"] == "osc-vol"
    assert created["os-vol-host-attr:host"] in (rest.backend, f"{rest.backend}#default")
    assert created["bootable"] is False  # openstacksdk sent "bootable": null
    headers = identity("admin", project)
    assert rest.wait_status(volume_id, headers=headers)["status"] == "available"

    listed = printed(openstack(rest, "admin", project, "volume", "list", "-f", "json"))
    assert [(v["ID"], v["Name"], v["Status"], v["Size"]) for v in listed] == [
        (volume_id, "osc-vol", "available", 1)
    ]

    shown = printed(openstack(rest, "admin", project, "volume", "show", "-f", "json", "osc-vol"))
    [default_type] = rest.call("GET", "types", headers=headers).json["volume_types"]
    assert shown["status"] == "available" and shown["size"] == 1
    assert shown["type"] == default_type["name"] == "__DEFAULT__"
    # openstacksdk asks for 3.71: the fields of 3.48, 3.61, 3.63 and 3.65 are there.
    assert shown["volume_type_id"] == default_type["id"]
    assert shown["service_uuid"] == volume_views.service_uuid(rest.backend)
    assert shown["shared_targets"] is None and shown["cluster_name"] is None
    assert shown["consumes_quota"] is True
    assert shown["provider_id"]  # the file's identity, shown to an admin

    quota = printed(openstack(rest, "admin", project, "quota", "show", "--usage", "-f", "json"))
    rows = {row["Resource"]: row for row in quota}
    assert (rows["volumes"]["Limit"], rows["volumes"]["In Use"]) == (1000, 1)
    assert rows["gigabytes"]["In Use"] == 1 and rows["volumes"]["Reserved"] == 0

    deleted = openstack(rest, "admin", project, "volume", "delete", "--remote", "osc-vol")
    assert deleted.returncode == 0, deleted.stderr
    assert rest.wait_status(volume_id, headers=headers, leave="unmanaging")["status"] == "gone"
    assert (rest.files / f"volume-{volume_id}").exists()
    assert (rest.files / source).exists() is False


def test_volume_service_list(rest: Rest, project: str) -> None:
    latest = ["--os-volume-api-version", "3.71"]
    services = printed(
        openstack(rest, "admin", project, *latest, "volume", "service", "list", "-f", "json")
    )
    [volume] = [s for s in services if s["Binary"] == "volmgr-volume"]
    assert (volume["Host"], volume["Status"], volume["State"]) == (rest.backend, "enabled", "up")
    assert volume["Backend State"] == "up"  # 3.49
    assert {s["Binary"] for s in services} == {"volmgr-api", "volmgr-scheduler", "volmgr-volume"}


def test_a_member_sees_only_its_project_and_no_services(rest: Rest) -> None:
    member, member_project = unique("osc-user"), unique("osc-proj")
    mine = rest.manage(headers=identity("admin", member_project))  # managing is for admins
    listed = printed(openstack(rest, member, member_project, "volume", "list", "-f", "json"))
    assert [v["ID"] for v in listed] == [mine["id"]]
    refused = openstack(rest, member, member_project, "volume", "service", "list")
    assert refused.returncode == 1
    assert "volume_extension:services:index" in refused.stderr


def test_manageable_list_needs_a_microversion_and_says_which(rest: Rest, project: str) -> None:
    """openstacksdk sends no microversion for this 3.8 route: the 404 names the one needed."""
    source = rest.make_file(f"{unique('osc')}.img")
    command = ["block", "storage", "volume", "manageable", "list", rest.backend]
    refused = openstack(rest, "admin", project, *command)
    assert refused.returncode == 1
    assert "API version 3.0 is not supported on this method" in refused.stderr
    assert "--os-volume-api-version 3.8" in refused.stderr
    latest = ["--os-volume-api-version", "3.71"]
    listed = printed(openstack(rest, "admin", project, *latest, *command, "--long", "-f", "json"))
    [row] = [r for r in listed if r["reference"] == {"source-name": source}]
    assert (row["safe_to_manage"], row["reason_not_safe"], row["cinder_id"]) == (True, None, None)
