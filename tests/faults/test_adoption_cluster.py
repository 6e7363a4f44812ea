"""An adoption job of a cluster: run by one member, taken over when that member dies.

Two volume daemons (``itnode`` and ``itnode2``, both ``[DEFAULT] cluster = c1``,
backend ``files``) serve one file backend. Over REST a plan is made for the
cluster ``c1@files`` and applied; the job runs in one member (the job's owner). In
the middle of the job that member is killed with SIGKILL (its process group) and
never restarted. Then, without operator action:

* the survivor takes the job over from the database (it logs so, and ends it);
* every item is ``available``, the job's counters equal its items;
* each volume was made available by exactly one member, the dead one only before
  it died; the claims the dead member held (it is killed while it holds some:
  items in flight) were finished by the survivor;
* the five invariants hold.

The takeover time is printed (``pytest -s``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

from tests.adoption_support import items_by_name, wait_job
from tests.faults import cluster_support
from tests.faults.conftest import FAST_RECOVERY, Env, admin_context, assert_invariants, rest_call
from tests.integration import daemons
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import models, quota

CLUSTER_NAME = "c1"
OWN_ENV: dict[str, dict[str, Any]] = {"DEFAULT": {"cluster": CLUSTER_NAME}}
ITEMS = 600
KILL_AFTER = 100  # items available when the job's member is killed
JOB_BOUND = 180.0  # seconds for the whole job, takeover included


def _wait_progress(env: Env, job_id: str, available: int) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_BOUND
    while True:
        job = jobs_db.get(env.db, job_id)
        if job["counters"]["available"] >= available or job["status"] != "running":
            return job
        assert time.monotonic() < deadline, f"job {job_id} made no progress: {job}"
        time.sleep(0.05)


def _owner(env: Env, job_id: str) -> str | None:
    with env.db.engine.connect() as connection:
        return connection.scalar(
            sa.select(models.AdoptionJob.owner).where(models.AdoptionJob.id == job_id)
        )


def _claims(env: Env, instance: str) -> list[str]:
    """Ids of the ``managing`` rows the process ``instance`` holds a claim on."""
    v = models.Volume
    stmt = sa.select(v.id).where(v.status == "managing", v.flow_owner.like(f"{instance}:%"))
    with env.db.engine.connect() as connection:
        return list(connection.scalars(stmt))


def test_a_job_of_a_cluster_is_taken_over_when_its_member_dies(env: Env, project_id: str) -> None:
    members = cluster_support.start_members(env, CLUSTER_NAME, ["itnode2"])
    cluster = cluster_support.cluster_backend(env, CLUSTER_NAME)
    ctxt = admin_context(project_id)
    for resource in ("volumes", "gigabytes"):
        quota.set_limit(env.db, project_id, resource, quota.UNLIMITED)
    names = [env.new_object(f"adopt-cluster-{n:04d}.img") for n in range(ITEMS)]

    plan = {"plan": {"host": cluster, "filters": {"name": "adopt-cluster-*"}}}
    status, body = rest_call(env, ctxt, "POST", "os-adoption-plans", plan, timeout=120)
    assert status == 200, body
    assert body["plan"]["backend"] == cluster and body["plan"]["totals"]["manage"] == ITEMS
    job_body = {"job": {"plan_id": body["plan"]["id"], "max_in_flight": 50}}
    status, body = rest_call(env, ctxt, "POST", "os-adoption-jobs", job_body)
    assert status == 202, body
    job_id = body["job"]["id"]

    at_kill = _wait_progress(env, job_id, KILL_AFTER)
    assert at_kill["status"] == "running", f"the job ended before the kill: {at_kill}"
    instances = {member.name: cluster_support.instance(member) for member in members}
    owner = _owner(env, job_id)
    victim = next(m for m in members if instances[m.name] == owner)
    [survivor] = [m for m in members if m is not victim]
    # Killed while its flows hold claims: items in flight, not between two batches.
    daemons.wait_until(
        lambda: _claims(env, instances[victim.name]),
        JOB_BOUND,
        "the job's member to hold claims",
        0.01,
    )
    env.sigkill(victim)
    killed = time.monotonic()
    held_at_death = _claims(env, instances[victim.name])
    job = wait_job(env.db, job_id, timeout=JOB_BOUND)
    took = time.monotonic() - killed
    print(
        f"\nkilled {victim.name} (the job's member) at {at_kill['counters']['available']}/"
        f"{ITEMS} available, {len(held_at_death)} claims held; the job ended {took:.1f}s "
        f"later (stale_after {FAST_RECOVERY['recovery']['stale_after']}s): {job['counters']}"
    )

    assert f"Resuming adoption job {job_id}" in survivor.log_text()
    assert job["status"] == "completed"
    items = items_by_name(env.db, job_id)
    counted = Counter(item["status"] for item in items.values())
    assert {k: v for k, v in job["counters"].items() if v} == dict(counted)
    assert counted == {"available": ITEMS}, counted
    finished = {m.name: cluster_support.finished_by(m) for m in members}
    by_member = Counter(v for done in finished.values() for v in done)
    volume_ids = {item["volume_id"] for item in items.values()}
    assert set(by_member) >= volume_ids, "a volume available without a member finishing it"
    assert all(by_member[v] == 1 for v in volume_ids), "a volume finished twice"
    assert held_at_death and set(held_at_death) <= set(finished[survivor.name])
    assert finished[survivor.name], "the survivor finished nothing"
    rows = assert_invariants(env, [project_id], only=set(names))
    assert len(rows) == ITEMS and {r["status"] for r in rows.values()} == {"available"}
