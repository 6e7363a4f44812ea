"""What the runner of an adoption job does to rows: owning the job, taking its next
items, recording their outcomes in bulk, ending the job, and the fenced step of an
undo (:func:`give_back`).

Owning is a fence, like a flow's: the runner's instance id is the job's ``owner``,
renewed by its heartbeat (database clock); a volume service takes over a live job
whose heartbeat is older than ``[recovery] stale_after``, and a runner whose
heartbeat finds another owner stops.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import adoption_jobs as jobs
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.volume_record import AVAILABLE as VOLUME_AVAILABLE
from volmgr_common.db.volume_record import ERROR_MANAGING, VolumeRecord, to_record

_JOB = models.AdoptionJob
_ITEM = models.AdoptionJobItem
_PLAN = models.AdoptionPlan
_PLAN_ITEM = models.AdoptionPlanItem
_VOLUME = models.Volume


@dataclasses.dataclass(frozen=True)
class PendingItem:
    """An item the runner takes next, with what its plan item recorded."""

    id: int
    position: int
    source_name: str
    volume_id: str | None
    reference: dict[str, Any] | None
    fingerprint: dict[str, Any] | None
    volume_name: str | None


def _rowcount(result: Any) -> int:
    return cast(sa.CursorResult[Any], result).rowcount


def _stale_or_free(owner: str, stale_after: int) -> sa.ColumnElement[bool]:
    return sa.or_(
        _JOB.owner.is_(None),
        _JOB.owner == owner,
        _JOB.heartbeat_at.is_(None),
        _JOB.heartbeat_at < clock.utc_now(-stale_after),
    )


@db_api.writer
def claim(session: Session, job_id: str, owner: str, stale_after: int) -> bool:
    """Own a running or cancelling job nobody owns (or whose heartbeat is stale)."""
    now = clock.utc_now()
    result = session.execute(
        sa.update(_JOB)
        .where(
            _JOB.id == job_id,
            _JOB.status.in_((jobs.RUNNING, jobs.CANCELLING)),
            _stale_or_free(owner, stale_after),
        )
        .values(
            owner=owner,
            heartbeat_at=now,
            started_at=sa.func.coalesce(_JOB.started_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


@db_api.writer
def heartbeat(session: Session, job_id: str, owner: str) -> str | None:
    """Renew the job's heartbeat; its status, or None when it is no longer ``owner``'s."""
    result = session.execute(
        sa.update(_JOB)
        .where(_JOB.id == job_id, _JOB.owner == owner)
        .values(heartbeat_at=clock.utc_now())
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    return session.scalar(sa.select(_JOB.status).where(_JOB.id == job_id))


@db_api.writer
def release(session: Session, job_id: str, owner: str) -> None:
    """Let go of a job (a paused one, or at a graceful stop)."""
    session.execute(
        sa.update(_JOB)
        .where(_JOB.id == job_id, _JOB.owner == owner)
        .values(owner=None)
        .execution_options(synchronize_session=False)
    )


@db_api.reader
def resumable(session: Session, backends: Sequence[str], stale_after: int) -> list[str]:
    """Running or cancelling jobs of ``backends`` that no live runner owns."""
    stmt = (
        sa.select(_JOB.id)
        .where(
            _JOB.backend.in_(list(backends)),
            _JOB.status.in_((jobs.RUNNING, jobs.CANCELLING)),
            _stale_or_free("", stale_after),
        )
        .order_by(_JOB.created_at)
    )
    return list(session.scalars(stmt))


@db_api.reader
def job_row(session: Session, job_id: str) -> dict[str, Any]:
    """The job's columns (and its plan's, for an adopt job) as the runner needs them."""
    job = session.get(_JOB, job_id)
    if job is None:
        return {}
    found = {c.key: getattr(job, c.key) for c in _JOB.__table__.columns}
    plan = session.get(_PLAN, job.plan_id) if job.plan_id else None
    found["plan"] = {c.key: getattr(plan, c.key) for c in _PLAN.__table__.columns} if plan else None
    return found


@db_api.reader
def in_flight(session: Session, backend: str, but_job: str) -> int:
    """Items ``managing`` in the live jobs of ``backend`` other than ``but_job``."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(_ITEM)
            .join(_JOB, _JOB.id == _ITEM.job_id)
            .where(
                _JOB.backend == backend,
                _JOB.status.in_(jobs.LIVE),
                _JOB.id != but_job,
                _ITEM.status == jobs.MANAGING,
            )
        )
        or 0
    )


@db_api.reader
def next_pending(session: Session, job_id: str, limit: int) -> list[PendingItem]:
    """The job's next ``limit`` pending items in position order, with their plan items."""
    stmt = (
        sa.select(
            _ITEM.id,
            _ITEM.position,
            _ITEM.source_name,
            _ITEM.volume_id,
            _PLAN_ITEM.reference,
            _PLAN_ITEM.fingerprint,
            _PLAN_ITEM.volume_name,
        )
        .outerjoin(_PLAN_ITEM, _PLAN_ITEM.id == _ITEM.plan_item_id)
        .where(_ITEM.job_id == job_id, _ITEM.status == jobs.PENDING)
        .order_by(_ITEM.position)
        .limit(limit)
    )
    return [PendingItem(*row) for row in session.execute(stmt)]


@db_api.reader
def plan_items_to_manage(
    session: Session, plan_id: str, after: int | None, limit: int
) -> list[PendingItem]:
    """A page of the plan's ``manage`` items in position order, after position ``after``."""
    stmt = sa.select(
        _PLAN_ITEM.id,
        _PLAN_ITEM.position,
        _PLAN_ITEM.source_name,
        sa.null(),
        _PLAN_ITEM.reference,
        _PLAN_ITEM.fingerprint,
        _PLAN_ITEM.volume_name,
    ).where(_PLAN_ITEM.plan_id == plan_id, _PLAN_ITEM.verdict == "manage")
    if after is not None:
        stmt = stmt.where(_PLAN_ITEM.position > after)
    return [
        PendingItem(*row)
        for row in session.execute(stmt.order_by(_PLAN_ITEM.position).limit(limit))
    ]


def write_items(
    session: Session,
    changes: Sequence[tuple[int, dict[str, Any]]],
    only_from: str | None = None,
) -> None:
    """Give each ``(item_id, values)`` its values in one executed statement; every
    values dict has the same keys. Inside the caller's transaction. With
    ``only_from``, an item no longer in that status keeps its values (a runner that
    lost its job to another must not overwrite what the other recorded)."""
    if not changes:
        return
    rows = [{"b_id": item_id, **values} for item_id, values in changes]
    table = models.table_of(_ITEM)
    still = [table.c.status == only_from] if only_from is not None else []
    session.connection().execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"), *still)
        .values({key: sa.bindparam(key) for key in rows[0] if key != "b_id"})
        .values(updated_at=clock.utc_now()),
        rows,
    )


@db_api.writer
def mark(
    session: Session,
    changes: Sequence[tuple[int, dict[str, Any]]],
    only_from: str | None = jobs.PENDING,
) -> None:
    """:func:`write_items` in a transaction of its own (by default on pending items only)."""
    write_items(session, changes, only_from)


def _outcome(status: str | None, failure_reason: str | None) -> tuple[str, str | None] | None:
    """An item's status and reason from its volume's (None: not decided yet)."""
    if status is None:
        return jobs.FAILED, "the volume was removed before its manage ended"
    if status == VOLUME_AVAILABLE:
        return jobs.AVAILABLE, None
    if status == ERROR_MANAGING or failure_reason:
        return jobs.FAILED, failure_reason or "the manage failed"
    return None


@db_api.writer
def settle(session: Session, job_id: str) -> int:
    """Record the outcome of each ``managing`` item whose volume is decided; how many
    remain ``managing``. A volume with a failure noted is decided: failed (the API
    records ``error_managing`` and gives its quota back)."""
    stmt = (
        sa.select(_ITEM.id, _VOLUME.status, _VOLUME.failure_reason)
        .outerjoin(_VOLUME, _VOLUME.id == _ITEM.volume_id)
        .where(_ITEM.job_id == job_id, _ITEM.status == jobs.MANAGING)
    )
    changes: list[tuple[int, dict[str, Any]]] = []
    undecided = 0
    for item_id, status, reason in session.execute(stmt):
        outcome = _outcome(status, reason)
        if outcome is None:
            undecided += 1
        else:
            changes.append((item_id, {"status": outcome[0], "reason": outcome[1]}))
    write_items(session, changes, only_from=jobs.MANAGING)
    return undecided


@db_api.writer
def finish(session: Session, job_id: str, owner: str) -> str | None:
    """End the job if no item is pending or managing: ``completed``, or ``cancelled`` when
    it was cancelling; its status then (None: not ended, or not ``owner``'s)."""
    open_items = session.scalar(
        sa.select(sa.func.count())
        .select_from(_ITEM)
        .where(_ITEM.job_id == job_id, _ITEM.status.in_((jobs.PENDING, jobs.MANAGING)))
    )
    job = session.scalars(
        sa.select(_JOB).where(_JOB.id == job_id, _JOB.owner == owner).with_for_update()
    ).first()
    if open_items or job is None or job.status not in (jobs.RUNNING, jobs.CANCELLING):
        return None
    job.status = jobs.CANCELLED if job.status == jobs.CANCELLING else jobs.COMPLETED
    job.finished_at = clock.now(session)
    job.owner = None
    return job.status


def _not_as_left(row: models.Volume | None, adopt_job_id: str) -> str | None:
    """Why the locked row may not be given back by the undo of ``adopt_job_id``."""
    if row is None:
        return "the volume no longer exists"
    if row.status != VOLUME_AVAILABLE:
        return f"the volume is {row.status}, not available as the job left it"
    if (row.provenance or {}).get("adoption_job_id") != adopt_job_id:
        return "the volume's provenance does not name this adoption job"
    return None


@db_api.writer
def give_back(
    session: Session,
    adopt_job_id: str,
    undo: Sequence[tuple[int, str]],
    put_back: Callable[[VolumeRecord], None],
) -> list[VolumeRecord]:
    """The fenced step of an undo: for each ``(item_id, volume_id)``, in one transaction,
    lock the volume's row, check it is still ``available`` as ``adopt_job_id`` left it,
    run ``put_back`` (the driver puts the object back under its original name), then
    remove the row, give its quota back and mark the item ``undone``; the volumes
    removed.

    The lock is the fence against a user's unmanage of the same volume (its
    ``available`` → ``unmanaging`` locks the row too): an unmanage that came first
    leaves the row ``unmanaging`` and the item is ``skipped`` with that reason,
    without touching the object; one that comes during the put-back waits for this
    commit and finds no volume. A put-back the driver refuses is ``failed`` with its
    error, its row kept. A retried transaction runs ``put_back`` again: it is
    idempotent (an object already back under its original name stays there).
    """
    removed: list[VolumeRecord] = []
    changes: list[tuple[int, dict[str, Any]]] = []
    for item_id, volume_id in sorted(undo, key=lambda pair: pair[1]):
        row = rows_db.locked(session, volume_id)
        reason = _not_as_left(row, adopt_job_id)
        if row is None or reason is not None:
            changes.append((item_id, {"status": jobs.SKIPPED, "reason": reason}))
            continue
        volume = to_record(row)
        try:
            put_back(volume)
        except Exception as error:  # the driver's refusal: this item only
            changes.append((item_id, {"status": jobs.FAILED, "reason": str(error)}))
            continue
        rows_db.release_all_in(session, row)
        removed.append(volume)
        session.delete(row)
        changes.append((item_id, {"status": jobs.UNDONE, "reason": None}))
    session.flush()
    write_items(session, changes, only_from=jobs.PENDING)
    return removed
