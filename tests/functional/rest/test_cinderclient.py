"""The real ``cinder`` command of python-cinderclient against volmgr's HTTP server.

Runs ``cinder --os-auth-type noauth`` in a subprocess, as an operator would, against
the REST API served by cheroot on a free localhost port, and checks what it prints.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.rest.conftest import Rest, identity, unique
from volmgr_common.db import volume_types

CINDER = Path(sys.executable).with_name("cinder")


def cinder(rest: Rest, user: str, project: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CINDER"))}
    command = [
        str(CINDER),
        "--os-auth-type", "noauth",
        "--os-user-id", user,
        "--os-project-id", project,
        "--os-endpoint", f"{rest.url}/v3/{project}",
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def row_value(table: str, key: str) -> str:
    """The Value of ``key`` in a Property/Value table that cinder printed."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] == key:
            return cells[1]
    raise AssertionError(f"{key} not in\n{table}")


@pytest.fixture(scope="module")
def project() -> str:
    return unique("cc")


def test_cinder_cli_end_to_end(rest: Rest, project: str) -> None:
    name = rest.make_file(f"{unique('cinder')}.img")
    listed = ok(cinder(rest, "admin", project, "manageable-list", rest.backend))
    assert "reason_not_safe" in listed
    [line] = [line for line in listed.splitlines() if name in line]
    assert "| True " in line

    managed = ok(cinder(rest, "admin", project, "manage", rest.backend, name, "--name", "cc-vol"))
    volume_id = row_value(managed, "id")
    assert row_value(managed, "name") == "cc-vol"
    # cinder manage shows the volume read back after the POST: placed on its pool or not yet.
    assert row_value(managed, "os-vol-host-attr:host") in (rest.backend, f"{rest.backend}#default")
    headers = identity("admin", project)
    assert rest.wait_status(volume_id, headers=headers)["status"] == "available"

    shown = ok(cinder(rest, "admin", project, "show", "cc-vol"))
    assert row_value(shown, "status") == "available"
    assert row_value(shown, "size") == "1"
    assert row_value(shown, "bootable") == "false"
    # The admin-only provenance attribute reaches the unchanged client, printed as is.
    assert "os-vol-provenance-attr:provenance" in shown and f"'original_name': '{name}'" in shown

    listed = ok(cinder(rest, "admin", project, "list"))
    [line] = [line for line in listed.splitlines() if volume_id in line]
    assert "available" in line and "cc-vol" in line and "__DEFAULT__" in line

    usage = ok(cinder(rest, "admin", project, "quota-usage", project))
    [line] = [line for line in usage.splitlines() if line.startswith("| volumes ")]
    assert [c.strip() for c in line.strip("|").split("|")] == ["volumes", "1", "0", "1000", "0"]

    ok(cinder(rest, "admin", project, "unmanage", volume_id))
    assert rest.wait_status(volume_id, headers=headers, leave="unmanaging")["status"] == "gone"
    assert volume_id not in ok(cinder(rest, "admin", project, "list"))
    assert (rest.files / f"volume-{volume_id}").exists()


def test_cinder_cli_failed_manage_message_and_delete(rest: Rest, project: str) -> None:
    managed = ok(cinder(rest, "admin", project, "manage", rest.backend, "absent.img"))
    volume_id = row_value(managed, "id")
    headers = identity("admin", project)
    assert rest.wait_status(volume_id, headers=headers)["status"] == "error"

    messages = ok(cinder(rest, "admin", project, "message-list"))
    [line] = [line for line in messages.splitlines() if volume_id in line]
    assert "VOLUME_VOLUME_901_901" in line and "manage existing volume: The backend" in line

    deleted = ok(cinder(rest, "admin", project, "delete", volume_id))
    assert f"Request to delete volume {volume_id} has been accepted." in deleted
    assert rest.call("GET", f"volumes/{volume_id}", headers=headers).status_int == 404


def test_cinder_cli_services_and_types(rest: Rest, project: str) -> None:
    services = ok(cinder(rest, "admin", project, "service-list"))
    assert "Disabled Reason" in services and "Cluster" in services
    [line] = [line for line in services.splitlines() if "volmgr-volume" in line]
    assert rest.backend in line and "enabled" in line and "| up " in line
    types = ok(cinder(rest, "admin", project, "type-list"))
    assert "__DEFAULT__" in types


def cells(table: str, needle: str) -> list[str]:
    """The cells of the one row of a table that cinder printed that holds ``needle``."""
    [line] = [line for line in table.splitlines() if needle in line]
    return [c.strip() for c in line.strip("|").split("|")]


def test_cinder_cli_service_disable_and_enable(rest: Rest, project: str) -> None:
    try:
        disabled = ok(
            cinder(
                rest, "admin", project, "service-disable", rest.backend, "cinder-volume",
                "--reason", "maintenance",
            )
        )  # fmt: skip
        assert cells(disabled, rest.backend) == [
            rest.backend,
            "cinder-volume",
            "disabled",
            "maintenance",
        ]
        listed = ok(cinder(rest, "admin", project, "service-list", "--withreplication"))
        row = cells(listed, "volmgr-volume")
        assert "disabled" in row and "maintenance" in row
        refused = cinder(rest, "admin", project, "manage", rest.backend, rest.make_file())
        assert refused.returncode == 1
        assert "disabled: maintenance (HTTP 400)" in refused.stderr
    finally:
        enabled = ok(
            cinder(rest, "admin", project, "service-enable", rest.backend, "volmgr-volume")
        )
    assert cells(enabled, rest.backend) == [rest.backend, "volmgr-volume", "enabled"]
    assert "enabled" in cells(ok(cinder(rest, "admin", project, "service-list")), "volmgr-volume")


def test_cinder_cli_as_a_member(rest: Rest) -> None:
    member, member_project = unique("bob"), unique("bobs")
    assert "ID" in ok(cinder(rest, member, member_project, "list"))
    refused = cinder(rest, member, member_project, "service-list")
    assert refused.returncode == 1
    assert "Policy doesn't allow volume_extension:services:index to be performed." in refused.stderr
    assert "(HTTP 403)" in refused.stderr
    refused = cinder(rest, member, member_project, "manageable-list", rest.backend)
    assert "(HTTP 403)" in refused.stderr


def listed_names(table: str, ids: set[str]) -> list[str]:
    """The Name column of the rows of ``ids`` in a table that ``cinder list`` printed."""
    names = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] in ids:
            names.append(cells[2])
    return names


def test_cinder_list_sorted_by_name_and_filtered(rest: Rest) -> None:
    project = unique("sorted")
    headers = identity("admin", project)
    made = {rest.manage(headers=headers, name=name)["id"]: name for name in ("b", "c", "a")}
    ascending = ok(cinder(rest, "admin", project, "list", "--sort", "name:asc"))
    assert listed_names(ascending, set(made)) == ["a", "b", "c"]
    descending = ok(cinder(rest, "admin", project, "list", "--sort", "name:desc", "--limit", "2"))
    assert listed_names(descending, set(made)) == ["c", "b"]
    member = unique("member")
    filtered = ok(
        cinder(
            rest, member, project, "--os-volume-api-version", "3.34",
            "list", "--filters", "name~=b",
        )
    )  # fmt: skip
    assert listed_names(filtered, set(made)) == ["b"]
    shown = ok(cinder(rest, member, project, "--os-volume-api-version", "3.33", "list-filters"))
    assert "name~" in shown and "volume_type" in shown


def test_cinder_type_show_by_name(rest: Rest, project: str) -> None:
    volume_types.get_or_create(rest.db, "__DEFAULT__")  # made by the first manage otherwise
    listed = ok(cinder(rest, "admin", project, "type-list"))
    assert "__DEFAULT__" in listed
    for user in ("admin", unique("member")):
        shown = ok(cinder(rest, user, project, "type-show", "__DEFAULT__"))
        assert row_value(shown, "name") == "__DEFAULT__"
        assert row_value(shown, "is_public") == "True"
    missing = cinder(rest, "admin", project, "type-show", "no-such-type")
    assert missing.returncode == 1
    assert "No volumetype with a name or ID of 'no-such-type' exists." in missing.stderr
