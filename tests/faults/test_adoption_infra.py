"""A database outage in the middle of an adoption job.

The database of the shared cluster refuses connections (and has every open one
ended) for two seconds, twice. The job's runner may lose its transaction or its
notifications; the job is rows, so a runner that stopped is taken again once its
heartbeat is stale. Afterwards every item is terminal, the counters equal the
items, and the five invariants hold. (The broker restart in the middle of a job is
in ``test_broker_restart.py``, on that module's private broker and cluster; it
starts and checks its job with :func:`start_job` and :func:`check_job`.)
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.adoption_support import items_by_name, wait_job
from tests.faults.conftest import Env, admin_context, assert_invariants, rest_call
from tests.faults.test_adoption_kills import _plan, _wait_progress
from volmgr_common.db import quota

ITEMS = 1000
START_AFTER = 150
JOB_BOUND = 300.0


def start_job(env: Env, project_id: str, tag: str, tmp_path: Path) -> tuple[str, list[str]]:
    """A job of ITEMS new objects in ``project_id``, running with START_AFTER available."""
    for resource in ("volumes", "gigabytes"):
        quota.set_limit(env.db, project_id, resource, quota.UNLIMITED)
    plan_id, names = _plan(env, project_id, tag, tmp_path, ITEMS)
    body = {"job": {"plan_id": plan_id, "max_in_flight": 50}}
    status, answer = rest_call(env, admin_context(project_id), "POST", "os-adoption-jobs", body)
    assert status == 202, answer
    job = _wait_progress(env, answer["job"]["id"], START_AFTER)
    assert job["status"] == "running", f"the job ended before the fault: {job}"
    return job["id"], names


def check_job(env: Env, project_id: str, job_id: str, names: list[str]) -> dict[str, int]:
    """Wait for the job to end; check its items, counters and the invariants."""
    job = wait_job(env.db, job_id, timeout=JOB_BOUND)
    counted: dict[str, int] = {}
    for item in items_by_name(env.db, job_id).values():
        counted[item["status"]] = counted.get(item["status"], 0) + 1
    assert {k: v for k, v in job["counters"].items() if v} == counted
    assert job["status"] == "completed" and not counted.get("pending")
    assert not counted.get("managing")
    assert_invariants(env, [project_id], only=set(names))
    env.assert_all_running()
    return counted


def test_database_outage_during_a_job(env: Env, project_id: str, tmp_path: Path) -> None:
    job_id, names = start_job(env, project_id, "dbcut", tmp_path)
    for _ in range(2):
        env.database.cut_off()
        try:
            time.sleep(2.0)
        finally:
            env.database.reopen()
        time.sleep(0.5)
    env.db.dispose()  # the test's own pooled connections were ended too
    counted = check_job(env, project_id, job_id, names)
    print(f"\ndatabase outage during a job: {counted}")
