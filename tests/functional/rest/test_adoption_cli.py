"""``volmgr adopt apply|status|watch|pause|resume|cancel|undo|list`` over HTTP."""

import json

import pytest

from tests.adoption_support import wait_job, write_plan
from tests.functional.rest.conftest import Rest, unique
from tests.functional.rest.test_cli import run
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_volume import drivers


def test_apply_watch_status_list_and_undo(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    names = [rest.make_file(size=1024 * 1024) for _ in range(4)]
    plan = write_plan(rest.db, drivers.load_driver(rest.conf), rest.backend, names, project)
    code, out = run(
        rest, capsys, project, "adopt", "apply", plan, "--max-in-flight", "2", "--watch"
    )
    assert code == 0, out
    assert "completed: 4/4 done (available: 4)" in out
    code, out = run(rest, capsys, project, "--json", "adopt", "list")
    [job] = [j for j in json.loads(out) if j["status"] == "completed" and j["total"] == 4][:1]
    code, out = run(rest, capsys, project, "--json", "adopt", "status", job["id"])
    shown = json.loads(out)
    assert (shown["available"], shown["total"]) == (4, 4)
    code, out = run(rest, capsys, project, "adopt", "status", job["id"], "--items")
    assert all(name in out for name in names)
    code, out = run(rest, capsys, project, "adopt", "pause", job["id"])
    assert code == 1 and "only a running job can pause" in out
    code, out = run(rest, capsys, project, "--json", "adopt", "undo", job["id"])
    undo = json.loads(out)
    assert undo["kind"] == "undo"
    code, out = run(rest, capsys, project, "adopt", "watch", undo["id"])
    assert code == 0 and "undone: 4" in out
    for name in names:  # back under their names: gone, so that no later test adopts them
        (rest.files / name).unlink()


def test_pause_resume_cancel(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    names = [rest.make_file(size=1024 * 1024) for _ in range(3)]
    plan = write_plan(rest.db, drivers.load_driver(rest.conf), rest.backend, names, project)
    job = jobs_db.create_adopt_job(rest.db, plan, None, {"max_in_flight": 1})
    code, out = run(rest, capsys, project, "adopt", "pause", job["id"])
    assert code == 0 and "paused" in out
    code, out = run(rest, capsys, project, "adopt", "resume", job["id"])
    assert code == 0
    assert wait_job(rest.db, job["id"])["counters"]["available"] == 3
    other = write_plan(rest.db, drivers.load_driver(rest.conf), rest.backend, ["x"], project)
    pending = jobs_db.create_adopt_job(rest.db, other, None, {"max_in_flight": 1})
    code, out = run(rest, capsys, project, "adopt", "cancel", pending["id"])
    assert code == 0 and "cancelled" in out
