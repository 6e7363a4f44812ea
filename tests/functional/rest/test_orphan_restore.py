"""A database restored from an older copy is brought back in line by orphan re-adoption.

The story an operator lives: N volumes are managed, the database is backed up, M
more are managed, then the backup is restored. The M objects stay on the backend
under their managed names, unknown to the database: ``volmgr audit`` finds them,
``volmgr orphans`` lists exactly them, ``volmgr readopt --all`` re-adopts every one
(page after page) under its volume id and project (read from its mark), and
afterwards everything is consistent: one row per object, every object under the
name it had, quota equal to the truth, no orphan left (the next audit clears them),
and a second ``readopt --all`` has nothing to do.

A volume a user unmanaged is no orphan to take back, whatever copy of the database
is restored: its object carries the release mark the unmanage wrote, the audit lists
it as released, ``readopt --all`` skips it (and says so), and only a re-adoption by
name takes it back.
"""

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.rest.conftest import GIB, Rest, forget, running_stack, unique
from volmgr_api import cli
from volmgr_common.context import get_admin_context
from volmgr_common.db import quota_audit
from volmgr_common.db import volumes as volumes_db


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    with running_stack(tmp_path_factory.mktemp("restore")) as stack:
        yield stack


def volmgr(rest: Rest, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    """Exit code and output (with errors) of ``volmgr`` as an administrator."""
    code = cli.main(["--endpoint", f"{rest.url}/v3", "--user", "admin", "--project", "ops", *args])
    captured = capsys.readouterr()
    return code, captured.out + (captured.err if code else "")


def copy_database(source: str, target: str) -> None:
    """A consistent copy of a live SQLite database (SQLite's online backup)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def snapshot(rest: Rest) -> dict[str, tuple[int, int]]:
    """Every object of the backend directory by name: (inode, size)."""
    return {
        entry.name: (entry.inode(), entry.stat(follow_symlinks=False).st_size)
        for entry in os.scandir(rest.files)
    }


def manage_some(rest: Rest, projects: list[str], count: int) -> list[dict]:
    volumes = []
    for n in range(count):
        project = projects[n % len(projects)]
        headers = {"X-User-Id": "admin", "X-Project-Id": project}
        volumes.append(rest.manage(headers=headers))
    return volumes


def test_restored_database_is_brought_back_in_line(
    rest: Rest, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    projects = [unique("restore-a"), unique("restore-b")]
    live = rest.conf.database.connection.removeprefix("sqlite:///")
    backup = str(tmp_path / "backup.sqlite")
    before = manage_some(rest, projects, 3)
    copy_database(live, backup)
    after = manage_some(rest, projects, 4)
    objects = snapshot(rest)
    truth = {p: quota_audit_usage(rest, p) for p in projects}

    copy_database(backup, live)  # the restore: the last four volumes are forgotten
    for volume in after:
        assert rest.call("GET", f"volumes/{volume['id']}").status_int == 404

    code, out = volmgr(rest, capsys, "--json", "orphans", rest.backend)
    assert (code, json.loads(out)) == (0, []), "the restored copy's last audit saw none"
    code, out = volmgr(rest, capsys, "audit", rest.backend)
    assert code == 0 and "4 orphans (4 new, 0 cleared)" in out, out
    code, out = volmgr(rest, capsys, "--json", "orphans", rest.backend)
    assert code == 0, out
    listed = json.loads(out)
    assert {o["volume_id"] for o in listed} == {v["id"] for v in after}
    assert {o["project_id"] for o in listed} == set(projects)

    rest.conf.set_override("max_list_limit", 3, group="api")  # two pages of orphans
    try:
        code, out = volmgr(rest, capsys, "--json", "readopt", rest.backend, "--all", "--wait")
    finally:
        rest.conf.clear_override("max_list_limit", group="api")
    assert code == 0, out
    outcomes = json.loads(out)
    assert sorted((o["volume_id"], o["result"]) for o in outcomes) == sorted(
        (v["id"], "available") for v in after
    )

    for volume in before + after:
        shown = rest.call("GET", f"volumes/{volume['id']}").json["volume"]
        assert shown["status"] == "available"
        assert shown["os-vol-tenant-attr:tenant_id"] == volume["os-vol-tenant-attr:tenant_id"]
        assert shown["size"] == volume["size"] == GIB // GIB
    assert snapshot(rest) == objects, "nothing renamed, nothing else touched"
    managed = volumes_db.managed_objects(rest.db, rest.backend)
    assert sorted(managed.values()) == sorted(v["id"] for v in before + after)
    assert quota_audit.check(rest.db) == []
    assert {p: quota_audit_usage(rest, p) for p in projects} == truth

    code, out = volmgr(rest, capsys, "--json", "orphans", rest.backend)
    assert (code, json.loads(out)) == (0, [])
    code, out = volmgr(rest, capsys, "audit", rest.backend)
    assert code == 0 and "0 orphans (0 new, 4 cleared)" in out, out
    code, out = volmgr(rest, capsys, "--json", "readopt", rest.backend, "--all")
    assert (code, json.loads(out)) == (0, [])


def test_a_volume_let_go_stays_let_go_across_a_restore(
    rest: Rest, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    project = unique("released")
    live = rest.conf.database.connection.removeprefix("sqlite:///")
    backup = str(tmp_path / "backup.sqlite")
    copy_database(live, backup)
    let_go, forgotten = manage_some(rest, [project], 2)
    response = rest.call("POST", f"volumes/{let_go['id']}/action", {"os-unmanage": None})
    assert response.status_int == 202, response.text
    assert rest.wait_status(let_go["id"], leave="unmanaging")["status"] == "gone"
    copy_database(backup, live)  # forgets both: the one let go and the one managed since

    assert volmgr(rest, capsys, "audit", rest.backend)[0] == 0
    code, out = volmgr(rest, capsys, "--json", "orphans", rest.backend)
    assert code == 0, out
    listed = {o["volume_id"]: o for o in json.loads(out)}
    assert listed[let_go["id"]]["released_at"], "the backend keeps the unmanage's mark"
    assert listed[forgotten["id"]]["released_at"] is None
    code, out = volmgr(rest, capsys, "orphans", rest.backend)
    assert code == 0 and "released_at" in out, out

    identity = ["--endpoint", f"{rest.url}/v3", "--user", "admin", "--project", "ops"]
    code = cli.main([*identity, "--json", "readopt", rest.backend, "--all", "--wait"])
    captured = capsys.readouterr()
    assert code == 0, captured
    outcomes = json.loads(captured.out)
    assert [(o["volume_id"], o["result"]) for o in outcomes] == [(forgotten["id"], "available")]
    assert "Skipped 1 released orphan(s)" in captured.err
    assert rest.call("GET", f"volumes/{let_go['id']}").status_int == 404, "not taken back"

    code, out = volmgr(rest, capsys, "readopt", rest.backend, f"volume-{let_go['id']}", "--wait")
    assert code == 0 and "available" in out and project in out, out
    back = rest.call("GET", f"volumes/{let_go['id']}").json["volume"]
    assert back["os-vol-provenance-attr:provenance"]["readopted"] is True
    assert quota_audit.check(rest.db) == []
    assert volmgr(rest, capsys, "audit", rest.backend)[0] == 0
    code, out = volmgr(rest, capsys, "--json", "orphans", rest.backend)
    assert (code, json.loads(out)) == (0, [])


def quota_audit_usage(rest: Rest, project: str) -> tuple[int, int]:
    usage = rest.api.quota_usage(get_admin_context(), project)
    return usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]


def test_cli_lists_orphans_as_a_table_and_refuses_clearly(
    rest: Rest, capsys: pytest.CaptureFixture
) -> None:
    project = unique("cli-orphan")
    kept, forgotten = manage_some(rest, [project], 2)
    forget(rest, forgotten["id"])
    assert volmgr(rest, capsys, "audit", rest.backend)[0] == 0
    code, out = volmgr(rest, capsys, "orphans", rest.backend)
    assert code == 0 and "| name " in out, out
    assert forgotten["id"] in out and project in out and kept["id"] not in out
    code, out = volmgr(rest, capsys, "readopt", rest.backend, f"volume-{kept['id']}")
    assert code == 1 and "refused" in out and "already managed" in out
    code, out = volmgr(rest, capsys, "readopt", rest.backend, f"volume-{forgotten['id']}", "--wait")
    assert code == 0 and "available" in out and project in out, out
    code, out = volmgr(rest, capsys, "readopt", rest.backend)
    assert code == 1 and "name one orphan, or use --all" in out
