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


def run(rest: Rest, capsys: pytest.CaptureFixture, project: str, *args: str) -> tuple[int, str]:
    code = cli.main(["--endpoint", f"{rest.url}/v3", "--project", project, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_manage_show_list_unmanage(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    name = rest.make_file()
    code, out = run(rest, capsys, project, "manage", rest.backend, name, "--name", "c1", "--wait")
    assert code == 0, out
    assert "| status " in out and "available" in out
    code, out = run(rest, capsys, project, "--json", "list")
    [volume] = json.loads(out)["volumes"]
    assert (volume["name"], volume["status"]) == ("c1", "available")
    code, out = run(rest, capsys, project, "show", volume["id"])
    assert code == 0 and "| name " in out and "c1" in out
    code, out = run(rest, capsys, project, "list")
    assert out.splitlines()[1].split("|")[1].strip() == "ID"
    code, out = run(rest, capsys, project, "quota-usage")
    assert any(line.startswith("| volumes ") and "| 1 " in line for line in out.splitlines())
    code, out = run(rest, capsys, project, "unmanage", volume["id"], "--wait")
    assert (code, out.strip()) == (0, f"{volume['id']}: unmanaged")


def test_listings_services_messages_delete(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    code, out = run(rest, capsys, project, "manageable-list", rest.backend)
    assert code == 0 and "reason_not_safe" in out
    code, out = run(rest, capsys, project, "services")
    assert "volmgr-volume" in out and "| up " in out
    code, out = run(rest, capsys, project, "--json", "manage", rest.backend, "gone.img", "--wait")
    volume = json.loads(out)["volume"]
    assert (code, volume["status"]) == (1, "error")
    code, out = run(rest, capsys, project, "messages", "--volume", volume["id"])
    assert "gone.img" in out
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
    code = cli.main(["--endpoint", "http://127.0.0.1:9", "services"])
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
    assert "run the same command again" in out
    assert len(managed_references(rest)) == before + 2

    monkeypatch.setattr(bulk, "Progress", Progress)
    code = cli.main(["--endpoint", rest.url, "--project", project, "--json", *args])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    summary = json.loads(out)
    assert summary["failed"] == [] and not summary["interrupted"]
    assert len(summary["available"]) + len(summary["skipped"]) == summary["found"]
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
