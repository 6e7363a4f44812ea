"""Adoption plans written straight into the database, and waiting for a job to end.

Functional and fault tests of adoption *jobs* need a plan: ``write_plan`` stores one
for the named objects with the fingerprints the backend's driver reports now (as
the planner records them), every object ``manage`` unless listed in ``skip``.
"""

import datetime as dt
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db import volume_types as types_db
from volmgr_volume.drivers.base import VolumeDriver

TERMINAL = (jobs_db.COMPLETED, jobs_db.CANCELLED)


def write_plan(
    db: db_api.Database,
    driver: VolumeDriver,
    backend: str,
    names: Iterable[str],
    project_id: str,
    *,
    skip: Mapping[str, str] | None = None,
    expires_in: float = 3600.0,
    volume_type: str = "__DEFAULT__",
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Store a plan for ``names`` on ``backend``; its id."""
    names = list(names)
    seen = driver.fingerprints(names)
    vtype = types_db.get_or_create(db, volume_type)
    plan_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    skip = dict(skip or {})
    with db.session(write=True) as session:
        session.execute(
            sa.insert(models.AdoptionPlan).values(
                id=plan_id,
                project_id=project_id,
                user_id="admin",
                host=backend,
                backend=backend,
                target_project_id=project_id,
                volume_type_id=vtype["id"],
                filters={},
                values={"metadata": dict(metadata or {}), "bootable": False},
                totals={"objects": len(names)},
                status="ready",
                expires_at=now + dt.timedelta(seconds=expires_in),
                created_at=now,
            )
        )
        rows: list[dict[str, Any]] = [
            {
                "plan_id": plan_id,
                "position": position,
                "source_name": name,
                "reference": {"source-name": name},
                "size": 1,
                "fingerprint": seen.get(name, {}),
                "verdict": "skip" if name in skip else "manage",
                "reason": skip.get(name),
                "volume_name": f"adopted-{name}",
            }
            for position, name in enumerate(names)
        ]
        if rows:
            session.execute(sa.insert(models.AdoptionPlanItem), rows)
    return plan_id


def wait_job(db: db_api.Database, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The job once it has ended (completed or cancelled)."""
    deadline = time.monotonic() + timeout
    while True:
        job = jobs_db.get(db, job_id)
        if job["status"] in TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']}: {job['counters']}")
        time.sleep(0.05)


def items_by_name(db: db_api.Database, job_id: str) -> dict[str, dict[str, Any]]:
    """Every item of the job by source name."""
    found = jobs_db.list_items(db, job_id, None, None, None, 1_000_000)
    return {item["source_name"]: item for item in found}
