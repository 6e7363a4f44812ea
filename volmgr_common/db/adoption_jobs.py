"""Adoption jobs as rows: creating a job from a plan (or an undo from a job), reading
it with counters counted from its items, listing, and the pause / resume / cancel
switches.

A job is data, not a process: its status, owner and heartbeat are columns, and its
counters are a ``GROUP BY`` over its items (the ``(job_id, status)`` index), so they
are true after any crash. What the runner in the volume service does to items is in
:mod:`volmgr_common.db.adoption_items`.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import adoption_plans, clock, models
from volmgr_common.db import api as db_api

ADOPT, UNDO = "adopt", "undo"
# Job statuses: running, paused and cancelling are live; completed and cancelled final.
RUNNING, PAUSED, CANCELLING = "running", "paused", "cancelling"
COMPLETED, CANCELLED = "completed", "cancelled"
LIVE = (RUNNING, PAUSED, CANCELLING)
# Item statuses (the issue's).
PENDING, MANAGING, AVAILABLE = "pending", "managing", "available"
SKIPPED, STALE, FAILED, UNDONE = "skipped", "stale", "failed", "undone"
ITEM_STATUSES = (PENDING, MANAGING, AVAILABLE, SKIPPED, STALE, FAILED, UNDONE)
CANCELLED_REASON = "cancelled"

_JOB = models.AdoptionJob
_ITEM = models.AdoptionJobItem
_PLAN = models.AdoptionPlan
_PLAN_ITEM = models.AdoptionPlanItem


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def counters(session: Session, job_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{job_id: {status: count}}`` of the jobs' items, every status present."""
    found: dict[str, dict[str, int]] = {
        job_id: dict.fromkeys(ITEM_STATUSES, 0) for job_id in job_ids
    }
    if job_ids:
        stmt = (
            sa.select(_ITEM.job_id, _ITEM.status, sa.func.count())
            .where(_ITEM.job_id.in_(sorted(set(job_ids))))
            .group_by(_ITEM.job_id, _ITEM.status)
        )
        for job_id, status, count in session.execute(stmt):
            found[job_id][status] = count
    return found


@db_api.reader
def live_progress(session: Session, backends: Sequence[str]) -> list[dict[str, Any]]:
    """The live jobs (running, paused, cancelling) of ``backends``: each job's ``id``,
    ``kind``, ``backend``, ``status`` and ``counters`` (its items by status), oldest
    first."""
    stmt = (
        sa.select(_JOB.id, _JOB.kind, _JOB.backend, _JOB.status)
        .where(_JOB.backend.in_(list(backends)), _JOB.status.in_(LIVE))
        .order_by(_JOB.created_at, _JOB.id)
    )
    jobs = [row._asdict() for row in session.execute(stmt)]
    counts = counters(session, [job["id"] for job in jobs])
    return [dict(job, counters=counts[job["id"]]) for job in jobs]


def view(job: models.AdoptionJob, counts: dict[str, int], now: dt.datetime) -> dict[str, Any]:
    """A job as callers see it: its columns, counters, total, done and rate (items/s)."""
    total = sum(counts.values())
    done = total - counts[PENDING] - counts[MANAGING]
    end = job.finished_at or now
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    processed = done - (counts[SKIPPED] if job.kind == ADOPT else 0)
    return {
        "id": job.id,
        "kind": job.kind,
        "plan_id": job.plan_id,
        "undo_of": job.undo_of,
        "project_id": job.project_id,
        "user_id": job.user_id,
        "backend": job.backend,
        "status": job.status,
        "strict": job.strict,
        "max_in_flight": job.max_in_flight,
        "owner": job.owner,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "heartbeat_at": _iso(job.heartbeat_at),
        "finished_at": _iso(job.finished_at),
        "counters": counts,
        "total": total,
        "done": done,
        "rate": round(processed / elapsed, 2) if elapsed > 0 else 0.0,
    }


def _load(session: Session, job_id: str, project_id: str | None, lock: bool = False) -> Any:
    stmt = sa.select(_JOB).where(_JOB.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalars(stmt).first()
    if job is None or (project_id is not None and job.project_id != project_id):
        raise exception.AdoptionJobNotFound(job_id=job_id[:40])
    return job


def show_in(session: Session, job_id: str, project_id: str | None = None) -> dict[str, Any]:
    job = _load(session, job_id, project_id)
    return view(job, counters(session, [job.id])[job.id], clock.now(session))


@db_api.reader
def get(session: Session, job_id: str, project_id: str | None = None) -> dict[str, Any]:
    """The job (with counters) of ``project_id`` (None: any); AdoptionJobNotFound if none."""
    return show_in(session, job_id, project_id)


@db_api.reader
def list_jobs(
    session: Session,
    project_id: str | None,
    marker: str | None,
    limit: int,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Jobs newest first, after the job ``marker``, at most ``limit``."""
    stmt = sa.select(_JOB)
    if project_id is not None:
        stmt = stmt.where(_JOB.project_id == project_id)
    if status is not None:
        stmt = stmt.where(_JOB.status == status)
    if marker is not None:
        after = session.scalars(sa.select(_JOB).where(_JOB.id == marker)).first()
        if after is None or (project_id is not None and after.project_id != project_id):
            raise exception.InvalidMarker(marker=marker[:40])
        stmt = stmt.where(
            sa.tuple_(_JOB.created_at, _JOB.id) < sa.tuple_(sa.literal(after.created_at), after.id)
        )
    jobs = list(session.scalars(stmt.order_by(_JOB.created_at.desc(), _JOB.id.desc()).limit(limit)))
    counts = counters(session, [job.id for job in jobs])
    now = clock.now(session)
    return [view(job, counts[job.id], now) for job in jobs]


@db_api.reader
def list_items(
    session: Session,
    job_id: str,
    project_id: str | None,
    status: str | None,
    marker: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The job's items in position order after position ``marker``, at most ``limit``."""
    _load(session, job_id, project_id)
    stmt = sa.select(_ITEM).where(_ITEM.job_id == job_id)
    if status is not None:
        stmt = stmt.where(_ITEM.status == status)
    if marker is not None:
        stmt = stmt.where(_ITEM.position > marker)
    return [
        {
            "position": item.position,
            "source_name": item.source_name,
            "status": item.status,
            "volume_id": item.volume_id,
            "reason": item.reason,
            "detail": item.detail,
            "updated_at": _iso(item.updated_at),
        }
        for item in session.scalars(stmt.order_by(_ITEM.position).limit(limit))
    ]


@db_api.reader
def plan_backend(session: Session, plan_id: str, project_id: str | None) -> str:
    """The backend of the plan (of ``project_id``; None: any); AdoptionPlanNotFound."""
    plan = session.get(_PLAN, plan_id)
    if plan is None or (project_id is not None and plan.project_id != project_id):
        raise exception.AdoptionPlanNotFound(plan_id=plan_id[:40])
    return plan.backend


def _plan_for_apply(session: Session, plan_id: str, project_id: str | None) -> Any:
    plan = session.scalars(sa.select(_PLAN).where(_PLAN.id == plan_id).with_for_update()).first()
    if plan is None or (project_id is not None and plan.project_id != project_id):
        raise exception.AdoptionPlanNotFound(plan_id=plan_id[:40])
    if plan.job_id is not None:
        raise exception.AdoptionPlanApplied(plan_id=plan_id, job_id=plan.job_id)
    if plan.expires_at <= clock.now(session):
        raise exception.AdoptionConflict(
            reason=f"Adoption plan {plan_id} expired at {plan.expires_at.isoformat()}; "
            "make a new plan."
        )
    return plan


def new_job(plan_or_job: Any, **columns: Any) -> dict[str, Any]:
    """The column values of a new running job (``columns`` add to or override them)."""
    return {
        "id": str(uuid.uuid4()),
        "project_id": plan_or_job.project_id,
        "backend": plan_or_job.backend,
        "status": RUNNING,
        "strict": False,
        **columns,
    }


@db_api.writer
def create_adopt_job(
    session: Session,
    plan_id: str,
    project_id: str | None,
    columns: dict[str, Any],
) -> dict[str, Any]:
    """Start the plan's job, in one transaction with the plan's "applies once" guard.

    The job's items are copied from the plan's in the database: ``manage`` items
    ``pending``, ``skip`` items ``skipped`` with the plan's reason. Raises
    AdoptionPlanNotFound (none of ``project_id``'s) or AdoptionConflict (applied,
    expired); nothing is written then.
    """
    plan = _plan_for_apply(session, plan_id, project_id)
    job = new_job(plan, kind=ADOPT, plan_id=plan.id, **columns)
    session.execute(sa.insert(_JOB).values(created_at=clock.utc_now(), **job))
    if not adoption_plans.mark_applied(session, plan.id, job["id"]):
        raise exception.AdoptionConflict(reason=f"Adoption plan {plan_id} was applied meanwhile.")
    copied = sa.select(
        sa.literal(job["id"]),
        _PLAN_ITEM.position,
        _PLAN_ITEM.id,
        _PLAN_ITEM.source_name,
        sa.case((_PLAN_ITEM.verdict == "manage", PENDING), else_=SKIPPED),
        sa.case((_PLAN_ITEM.verdict == "manage", None), else_=_PLAN_ITEM.reason),
    ).where(_PLAN_ITEM.plan_id == plan.id)
    session.execute(
        sa.insert(_ITEM).from_select(
            ["job_id", "position", "plan_item_id", "source_name", "status", "reason"], copied
        )
    )
    return show_in(session, job["id"])


@db_api.writer
def create_undo_job(
    session: Session, job_id: str, project_id: str | None, columns: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Start the undo of an adopt job; ``(undo job, created)``.

    An undo is made once: asked again, the existing undo job answers (created
    False). Its items are the adopt job's ``available`` items, ``pending``.
    Raises AdoptionJobNotFound, or AdoptionConflict for an undo job or a job still
    live (running, paused or cancelling).
    """
    job = _load(session, job_id, project_id, lock=True)
    if job.kind != ADOPT:
        raise exception.AdoptionConflict(reason=f"Job {job_id} is an undo; it cannot be undone.")
    existing = session.scalars(sa.select(_JOB.id).where(_JOB.undo_of == job.id)).first()
    if existing is not None:
        return show_in(session, existing), False
    if job.status in LIVE:
        raise exception.AdoptionConflict(
            reason=f"Job {job_id} is {job.status}; cancel it or wait for it to end before "
            "undoing it."
        )
    undo = new_job(job, kind=UNDO, undo_of=job.id, plan_id=job.plan_id, **columns)
    session.execute(sa.insert(_JOB).values(created_at=clock.utc_now(), **undo))
    copied = sa.select(
        sa.literal(undo["id"]),
        _ITEM.position,
        _ITEM.plan_item_id,
        _ITEM.source_name,
        _ITEM.volume_id,
        sa.literal(PENDING),
    ).where(_ITEM.job_id == job.id, _ITEM.status == AVAILABLE)
    session.execute(
        sa.insert(_ITEM).from_select(
            ["job_id", "position", "plan_item_id", "source_name", "volume_id", "status"], copied
        )
    )
    return show_in(session, undo["id"]), True


@db_api.writer
def set_paused(
    session: Session, job_id: str, project_id: str | None, paused: bool
) -> dict[str, Any]:
    """Pause a running job (it takes no new items; those in flight finish) or resume a
    paused one. AdoptionConflict when the job is not in the status that allows it."""
    job = _load(session, job_id, project_id, lock=True)
    expected, new = (RUNNING, PAUSED) if paused else (PAUSED, RUNNING)
    if job.status != expected:
        action = "pause" if paused else "resume"
        raise exception.AdoptionConflict(
            reason=f"Job {job_id} is {job.status}; only a {expected} job can {action}."
        )
    job.status = new
    session.flush()
    return show_in(session, job_id)


@db_api.writer
def cancel(session: Session, job_id: str, project_id: str | None) -> dict[str, Any]:
    """Cancel a live job: its pending items become ``skipped`` (cancelled) now; items in
    flight finish (status ``cancelling`` until they have). AdoptionConflict once ended."""
    job = _load(session, job_id, project_id, lock=True)
    if job.status not in LIVE:
        raise exception.AdoptionConflict(reason=f"Job {job_id} has ended ({job.status}).")
    session.execute(
        sa.update(_ITEM)
        .where(_ITEM.job_id == job_id, _ITEM.status == PENDING)
        .values(status=SKIPPED, reason=CANCELLED_REASON, updated_at=clock.utc_now())
        .execution_options(synchronize_session=False)
    )
    in_flight = session.scalar(
        sa.select(sa.func.count()).where(_ITEM.job_id == job_id, _ITEM.status == MANAGING)
    )
    if in_flight:
        job.status = CANCELLING
    else:
        job.status = CANCELLED
        job.finished_at = clock.now(session)
    session.flush()
    return show_in(session, job_id)
