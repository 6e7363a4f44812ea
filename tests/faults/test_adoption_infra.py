"""A database outage and a broker restart in the middle of an adoption job.

The database of the shared cluster refuses connections (and has every open one
ended) for two seconds, twice; the private broker of ``test_broker_restart`` stops
and starts again. Either way the job's runner may lose its transaction or its
notifications; the job is rows, so a runner that stopped is taken again once its
heartbeat is stale. Afterwards every item is terminal, the counters equal the
items, and the five invariants hold.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.adoption_support import items_by_name, wait_job
from tests.faults.broker import PrivateBroker
from tests.faults.conftest import Env, admin_context, assert_invariants, rest_call
from tests.faults.test_adoption_kills import _plan, _wait_progress
from tests.faults.test_broker_restart import broker, restart_env  # noqa: F401 - fixtures
from volmgr_common.db import quota

ITEMS = 1000
START_AFTER = 150
JOB_BOUND = 300.0


def _start(env: Env, project_id: str, tag: str, tmp_path: Path) -> tuple[str, list[str]]:
    for resource in ("volumes", "gigabytes"):
        quota.set_limit(env.db, project_id, resource, quota.UNLIMITED)
    plan_id, names = _plan(env, project_id, tag, tmp_path, ITEMS)
    body = {"job": {"plan_id": plan_id, "max_in_flight": 50}}
    status, answer = rest_call(env, admin_context(project_id), "POST", "os-adoption-jobs", body)
    assert status == 202, answer
    job = _wait_progress(env, answer["job"]["id"], START_AFTER)
    assert job["status"] == "running", f"the job ended before the fault: {job}"
    return job["id"], names


def _check(env: Env, project_id: str, job_id: str, names: list[str]) -> dict[str, int]:
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
    job_id, names = _start(env, project_id, "dbcut", tmp_path)
    for _ in range(2):
        env.database.cut_off()
        try:
            time.sleep(2.0)
        finally:
            env.database.reopen()
        time.sleep(0.5)
    env.db.dispose()  # the test's own pooled connections were ended too
    counted = _check(env, project_id, job_id, names)
    print(f"\ndatabase outage during a job: {counted}")


def test_broker_restart_during_a_job(
    restart_env: Env,  # noqa: F811 - the fixture imported above
    broker: PrivateBroker,  # noqa: F811
    project_id: str,
    tmp_path: Path,
) -> None:
    job_id, names = _start(restart_env, project_id, "brokercut", tmp_path)
    broker.restart(down_seconds=1.0)
    counted = _check(restart_env, project_id, job_id, names)
    print(f"\nbroker restart during a job: {counted}")
