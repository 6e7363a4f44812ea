"""kill -9 of each daemon in the middle of a 2,000-item adoption job, then restart.

The job runs in the volume service of its backend; the API and the scheduler take
no part once it has started (a failed item's compensation goes to the API, and
queues while it is away). Afterwards every item is terminal, the job's counters
equal its items, every object was managed once, and the five invariants hold.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.adoption_support import items_by_name, wait_job, write_plan
from tests.conftest import make_conf
from tests.faults.conftest import Env, admin_context, assert_invariants, rest_call
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import quota
from volmgr_volume import drivers

ITEMS = 2000
KILL_AFTER = 300  # items available when the daemon is killed
JOB_BOUND = 240.0  # seconds for the whole job, kill and restart included


def _plan(
    env: Env, project_id: str, tag: str, tmp_path: Path, count: int = ITEMS
) -> tuple[str, list[str]]:
    names = [env.new_object(f"adopt-{tag}-{n:05d}.img") for n in range(count)]
    conf = make_conf(tmp_path, file_backend__directory=str(env.directory))
    driver = drivers.load_driver(conf)
    return write_plan(env.db, driver, env.backend_host, names, project_id), names


def _wait_progress(env: Env, job_id: str, available: int) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_BOUND
    while True:
        job = jobs_db.get(env.db, job_id)
        if job["counters"]["available"] >= available or job["status"] != "running":
            return job
        assert time.monotonic() < deadline, f"job {job_id} made no progress: {job}"
        time.sleep(0.05)


@pytest.mark.parametrize("victim", ["volume", "api", "scheduler"])
def test_kill_in_the_middle_of_a_job(
    env: Env, project_id: str, victim: str, tmp_path: Path
) -> None:
    ctxt = admin_context(project_id)
    for resource in ("volumes", "gigabytes"):  # more than the default quota of 1,000
        quota.set_limit(env.db, project_id, resource, quota.UNLIMITED)
    plan_id, names = _plan(env, project_id, victim, tmp_path)
    status, body = rest_call(
        env, ctxt, "POST", "os-adoption-jobs", {"job": {"plan_id": plan_id, "max_in_flight": 100}}
    )
    assert status == 202, body
    job_id = body["job"]["id"]
    at_kill = _wait_progress(env, job_id, KILL_AFTER)
    assert at_kill["status"] == "running", f"the job ended before the kill: {at_kill}"
    daemon = getattr(env, victim)
    env.sigkill(daemon)
    killed = time.monotonic()
    daemon.start(env.db)
    job = wait_job(env.db, job_id, timeout=JOB_BOUND)
    print(
        f"\nkill -9 {victim} at {at_kill['counters']['available']}/{ITEMS}: job ended "
        f"{time.monotonic() - killed:.1f}s after the kill: {job['counters']}"
    )
    items = items_by_name(env.db, job_id)
    counted: dict[str, int] = {}
    for item in items.values():
        counted[item["status"]] = counted.get(item["status"], 0) + 1
    assert {k: v for k, v in job["counters"].items() if v} == counted
    assert job["status"] == "completed"
    assert counted == {"available": ITEMS}, counted  # a crash is no failure of an item
    rows = assert_invariants(env, [project_id], only=set(names))
    assert len(rows) == ITEMS and {r["status"] for r in rows.values()} == {"available"}
    env.assert_all_running()
