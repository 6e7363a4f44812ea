"""The ``volmgr`` command against the REST API over HTTP, including bulk manage and resume."""

import json
import os
from typing import Any

import pytest

from tests.functional.rest.conftest import Rest, identity, unique
from volmgr_api import cli
from volmgr_api.cli import bulk
from volmgr_api.cli.output import Progress
from volmgr_common.db import volumes as volumes_db


def run_apart(
    rest: Rest, capsys: pytest.CaptureFixture, project: str, *args: str
) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of ``volmgr`` as admin of ``project``."""
    identity = ["--user", "admin", "--project", project]
    code = cli.main(["--endpoint", f"{rest.url}/v3", *identity, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run(rest: Rest, capsys: pytest.CaptureFixture, project: str, *args: str) -> tuple[int, str]:
    """Exit code and standard output; standard error only when the command failed (the
    in-process services may write to stderr, which would spoil output that is parsed)."""
    code, out, err = run_apart(rest, capsys, project, *args)
    return code, out if code == 0 else out + err


def test_manage_show_list_unmanage(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    name = rest.make_file()
    code, out = run(rest, capsys, project, "manage", rest.backend, name, "--name", "c1", "--wait")
    assert code == 0, out
    assert "| status " in out and "available" in out
    code, out = run(rest, capsys, project, "--json", "list")
    [volume] = json.loads(out)
    assert (volume["Name"], volume["Status"]) == ("c1", "available")
    code, out = run(rest, capsys, project, "show", volume["ID"])
    assert code == 0 and "| name " in out and "c1" in out
    code, out = run(rest, capsys, project, "--json", "show", volume["ID"])
    origin = json.loads(out)["os-vol-provenance-attr:provenance"]
    assert (origin["original_name"], origin["size_bytes"]) == (name, 1024**3)
    code, out = run(rest, capsys, project, "list")
    assert out.splitlines()[1].split("|")[1].strip() == "ID"
    code, out = run(rest, capsys, project, "quota-usage")
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in out.splitlines()]
    assert ["volumes", "1", "0", "1000"] in cells
    code, out = run(rest, capsys, project, "unmanage", volume["ID"], "--wait")
    assert (code, out.strip()) == (0, f"{volume['ID']}: unmanaged")


def test_listings_services_messages_delete(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    code, out = run(rest, capsys, project, "manageable-list", rest.backend)
    assert code == 0 and "reason_not_safe" in out
    code, out = run(rest, capsys, project, "services")
    assert "volmgr-volume" in out and "| up " in out
    code, out, err = run_apart(
        rest, capsys, project, "--json", "manage", rest.backend, "gone.img", "--wait"
    )
    volume = json.loads(out)
    assert (code, volume["status"]) == (1, "error")
    assert volume["failure_reason"] == (
        "manage existing volume: The backend reference does not name an object that can be managed."
    )
    assert (
        err == f"volmgr: error: the manage of {volume['id']} failed: {volume['failure_reason']}\n"
    )
    code, out = run(rest, capsys, project, "messages", "--volume", volume["id"])
    assert "VOLUME_VOLUME_901_901" in out and "manage existing volume" in out
    code, out = run(rest, capsys, project, "delete", volume["id"])
    assert (code, out.strip()) == (0, f"{volume['id']}: record deleted")


def test_errors_are_one_line_with_the_apis_message(
    rest: Rest, capsys: pytest.CaptureFixture
) -> None:
    code, out = run(rest, capsys, unique("cli"), "--user", "bob", "--roles", "member", "services")
    assert code == 1
    assert out.strip() == (
        "volmgr: error: Policy doesn't allow volume_extension:services:index to be performed. "
        "(HTTP 403)"
    )
    code = cli.main(
        ["--endpoint", "http://127.0.0.1:9", "--user", "u", "--project", "p", "services"]
    )
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


class InterruptAfter(Progress):
    """A progress bar whose user presses Ctrl-C after ``limit`` steps."""

    limit = 2

    def advance(self, note: str = "") -> None:
        super().advance(note)
        if self.done >= self.limit:
            raise KeyboardInterrupt


def managed_references(rest: Rest) -> list[dict[str, Any]]:
    return [v["reference"] for v in volumes_db.list_volumes(rest.db)]


def test_bulk_manage_resumes_after_an_interruption(
    rest: Rest, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique("bulk")
    names = [rest.make_file(f"bulk-{i}-{unique('f')}.img") for i in range(5)]
    os.symlink("/etc/hostname", rest.files / f"bulk-link-{unique('l')}.img")
    before = len(managed_references(rest))
    monkeypatch.setattr(bulk, "Progress", InterruptAfter)
    args = ["manage", "--all-safe", rest.backend, "--page-size", "2"]
    code, out = run(rest, capsys, project, *args)
    assert code == 130
    assert "goes on; follow it with volmgr adopt watch" in out
    job_id = out.split("adoption job ")[1].split()[0]
    code, out = run(rest, capsys, project, "adopt", "watch", job_id)  # the job went on
    assert code == 0 and "available: 5" in out, out
    assert len(managed_references(rest)) == before + 5

    monkeypatch.setattr(bulk, "Progress", Progress)
    code = cli.main(
        ["--endpoint", rest.url, "--user", "admin", "--project", project, "--json", *args]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    summary = json.loads(out)
    assert summary == dict(summary, found=0, failed=[], interrupted=False)  # nothing left
    references = managed_references(rest)
    assert len(references) == before + 5
    assert sorted(r["source-name"] for r in references[before:]) == sorted(names)
    headers = identity("admin", project)
    listed = rest.call("GET", "volumes/detail", headers=headers).json["volumes"]
    assert len(listed) == 5
    assert all(rest.wait_status(v["id"], headers=headers)["status"] == "available" for v in listed)
    code, out = run(rest, capsys, project, *args)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("safe to manage: 0")


def test_output_formats_before_and_after_the_command(
    rest: Rest, capsys: pytest.CaptureFixture
) -> None:
    project = unique("cli")
    name = rest.make_file()
    code, out = run(rest, capsys, project, "manage", rest.backend, name, "--name", "f1", "--wait")
    assert code == 0, out
    code, out = run(rest, capsys, project, "list", "-f", "value", "-c", "name", "-c", "status")
    assert (code, out) == (0, "available f1\n")
    code, out = run(rest, capsys, project, "-f", "csv", "list", "-c", "Name")
    assert out.splitlines() == ['"Name"', '"f1"']
    code, out = run(rest, capsys, project, "-f", "json", "list", "-f", "yaml", "-c", "name")
    assert out == "- Name: f1\n"
    code, out = run(
        rest, capsys, project, "quota-usage", "--json", "-c", "resource", "-c", "in_use"
    )
    assert {"resource": "volumes", "in_use": 1} in json.loads(out)
    code, out = run(rest, capsys, project, "list", "-c", "nothing")
    assert code == 1
    assert out.startswith("volmgr: error: no column named nothing; columns: ID, Status")


def test_noauth_needs_a_user_and_a_project(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OS_USER_ID", "OS_PROJECT_ID", "OS_CLOUD", "OS_AUTH_TYPE", "OS_AUTH_URL"):
        monkeypatch.delenv(variable, raising=False)
    assert cli.main(["--project", "p1", "services"]) == 1
    assert capsys.readouterr().err.startswith(
        "volmgr: error: noauth needs a user and a project: --user and --project, or "
        "OS_USER_ID and OS_PROJECT_ID"
    )


def test_the_identity_comes_from_os_variables(
    rest: Rest, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique("env")
    monkeypatch.setenv("OS_USER_ID", "admin")
    monkeypatch.setenv("OS_PROJECT_ID", project)
    monkeypatch.setenv("VOLMGR_ENDPOINT", rest.url)
    assert cli.main(["quota-usage", "-f", "value", "-c", "resource", "-c", "limit"]) == 0
    assert "volumes 1000" in capsys.readouterr().out.splitlines()


def test_a_keystone_identity_that_cannot_authenticate_is_one_line(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OS_CLOUD", raising=False)
    argv = ["--os-auth-type", "token", "--os-auth-url", "http://127.0.0.1:9/v3"]
    assert cli.main([*argv, "--os-token", "t", "--os-project-id", "p", "services"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("volmgr: error: ")
