"""A volume's status transitions and the quota each one moves.

``managing`` → ``available`` (its gigabytes committed first) or
``error_managing`` (all its quota released); ``available`` → ``unmanaging`` →
removed; ``error_managing`` → removed. Every transition is a conditional update on
the expected status, so that a message handled twice changes nothing the second
time. Quota held by a volume is recorded on its row (``quota_volumes``,
``quota_gigabytes``) and changes together with usage. The volume service's steps
also name the flow's ownership token (``flow_owner``): a flow that lost its row
changes nothing (see :mod:`volmgr_common.db.volume_ownership`).
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception, message_field
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota, reservations
from volmgr_common.db.volume_record import (
    AVAILABLE,
    DELETING,
    ERROR_MANAGING,
    MANAGING,
    UNMANAGING,
    VolumeRecord,
    to_record,
)


@db_api.writer
def update_if(session: Session, volume_id: str, expected_status: str, **values: Any) -> bool:
    """Update the row only if it is in ``expected_status``; True if it was."""
    return rows_db.update_where(
        session, volume_id, models.Volume.status == expected_status, **values
    )


def _lock_for_quota(
    session: Session, volume_ids: Sequence[str]
) -> dict[str, sa.Row[str, str, str | None, int, str, str]]:
    """``{id: (status, flow_owner, quota_gigabytes, project_id, type_name)}``, locked."""
    stmt = (
        sa.select(
            models.Volume.id,
            models.Volume.status,
            models.Volume.flow_owner,
            models.Volume.quota_gigabytes,
            models.Volume.project_id,
            models.VolumeType.name,
        )
        .join(models.VolumeType, models.Volume.volume_type_id == models.VolumeType.id)
        .where(models.Volume.id.in_(sorted(set(volume_ids))))
        .order_by(models.Volume.id)
        .with_for_update(of=models.Volume)
    )
    return {row.id: row for row in session.execute(stmt)}


@dataclasses.dataclass(frozen=True)
class SizeCommit:
    """A volume whose gigabytes reservation :func:`commit_gigabytes_many` commits."""

    volume_id: str
    reservation_id: str
    size: int
    flow_owner: str | None = None  # the flow's token; None: any owner


def _owned(status: str, owner: str | None, token: str | None) -> bool:
    """A ``managing`` row, owned by ``token`` when one is given."""
    return status == MANAGING and (token is None or owner == token)


@db_api.writer
def commit_gigabytes_many(session: Session, commits: Sequence[SizeCommit]) -> list[bool]:
    """Commit each gigabytes reservation and record the size on its row, once, together.

    For each commit in order: True if it was made; False when the row is no longer
    ``managing`` under the commit's ``flow_owner`` or already holds its gigabytes (an
    earlier run committed them).
    """
    locked = _lock_for_quota(session, [c.volume_id for c in commits])
    done: list[bool] = []
    quota_commits: list[reservations.Commit] = []
    for c in commits:
        row = locked.get(c.volume_id)
        ok = (
            row is not None
            and _owned(row.status, row.flow_owner, c.flow_owner)
            and not row.quota_gigabytes
        )
        done.append(ok)
        if row is not None and ok:
            deltas = quota.volume_deltas(row.name, gigabytes=c.size)
            quota_commits.append(reservations.Commit(row.project_id, c.reservation_id, deltas))
    if quota_commits:
        reservations.commit_many_in(session, quota_commits)
        rows_db.write_each(
            session,
            [
                (c.volume_id, {"size": c.size, "quota_gigabytes": c.size})
                for c, ok in zip(commits, done, strict=True)
                if ok
            ],
        )
    return done


def commit_gigabytes(db: db_api.Database, volume_id: str, reservation_id: str, size: int) -> bool:
    """Commit one volume's gigabytes reservation (see :func:`commit_gigabytes_many`)."""
    return commit_gigabytes_many(db, [SizeCommit(volume_id, reservation_id, size)])[0]


@db_api.writer
def uncommit_gigabytes(session: Session, volume_id: str, flow_owner: str | None = None) -> bool:
    """Compensating negative commit of the gigabytes a managing row (owned by
    ``flow_owner``, when given) holds."""
    locked = _lock_for_quota(session, [volume_id]).get(volume_id)
    if locked is None or not _owned(locked.status, locked.flow_owner, flow_owner):
        return False
    if not locked.quota_gigabytes:
        return False
    deltas = quota.volume_deltas(locked.name, gigabytes=locked.quota_gigabytes)
    quota.release_in(session, locked.project_id, deltas)
    rows_db.update_where(session, volume_id, quota_gigabytes=0)
    return True


@db_api.writer
def finish_manage_many(
    session: Session,
    finished: Sequence[tuple[str, str]],
    flow_owners: Mapping[str, str] | None = None,
) -> list[bool]:
    """``managing`` → ``available`` for each ``(volume_id, provider_location)``, together.

    For each in order: True if the row was ``managing`` (under its token in
    ``flow_owners``, for the ids there) and is now ``available``; an id given twice
    changes once.
    """
    tokens = flow_owners or {}
    stmt = (
        sa.select(models.Volume.id, models.Volume.flow_owner)
        .where(
            models.Volume.id.in_(sorted({volume_id for volume_id, _ in finished})),
            models.Volume.status == MANAGING,
        )
        .order_by(models.Volume.id)
        .with_for_update()
    )
    waiting = {
        volume_id
        for volume_id, owner in session.execute(stmt)
        if _owned(MANAGING, owner, tokens.get(volume_id))
    }
    now = clock.utc_now()
    changes: list[tuple[str, dict[str, Any]]] = []
    made: list[bool] = []
    for volume_id, location in finished:
        made.append(volume_id in waiting)
        if volume_id in waiting:
            waiting.discard(volume_id)
            values = {"status": AVAILABLE, "provider_location": location, "launched_at": now}
            changes.append((volume_id, dict(values, flow_owner=None)))
    rows_db.write_each(session, changes)
    return made


def finish_manage(db: db_api.Database, volume_id: str, provider_location: str) -> bool:
    """``managing`` → ``available`` with the object's managed name; False if not managing."""
    return finish_manage_many(db, [(volume_id, provider_location)])[0]


@db_api.writer
def fail_manage(
    session: Session, volume_id: str, reason: str, request_id: str | None
) -> VolumeRecord | None:
    """``managing`` → ``error_managing``: release all quota, free the reference and the
    identity keys, tell the user.

    The user message is Cinder's "manage existing volume: <detail>" of the detail the
    failing stage noted on the row (``volume_recovery.record_failure``; unknown if
    none); ``reason`` stays on the row for the operator. Returns the updated volume,
    or None when the row was not ``managing`` (already failed, finished or gone):
    handling the same failure twice equals once.
    """
    row = rows_db.locked(session, volume_id)
    if row is None or row.status != MANAGING:
        return None
    rows_db.release_all_in(session, row)
    action = message_field.Action.MANAGE_EXISTING
    rows_db.fail_in(session, row, reason, request_id, action, message_field.RESOURCE_VOLUME)
    session.flush()
    return to_record(row)


@db_api.writer
def start_unmanage(session: Session, volume_id: str, project_id: str | None) -> VolumeRecord:
    """``available`` → ``unmanaging``. Raises VolumeNotFound, InvalidStatus, or
    InvalidVolume while snapshot rows name the volume (as Cinder refuses)."""
    row = rows_db.locked(session, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    if row.status != AVAILABLE:
        raise exception.InvalidStatus(volume_id=volume_id, status=row.status, expected=AVAILABLE)
    snapshots = session.execute(
        sa.select(sa.func.count(models.Snapshot.id)).where(models.Snapshot.volume_id == volume_id)
    ).scalar_one()
    if snapshots:
        raise exception.InvalidVolume(
            reason=f"volume {volume_id} has {snapshots} managed snapshot(s); unmanage them first"
        )
    row.status = UNMANAGING
    session.flush()
    return to_record(row)


@db_api.writer
def remove_unmanaged(session: Session, volume_id: str) -> VolumeRecord | None:
    """Remove an ``unmanaging`` row and release its quota; None if already gone."""
    row = rows_db.locked(session, volume_id)
    if row is None or row.status != UNMANAGING:
        return None
    rows_db.release_all_in(session, row)
    values = to_record(row)
    session.delete(row)
    return values


@db_api.writer
def delete_failed(session: Session, volume_id: str, project_id: str | None) -> VolumeRecord:
    """Remove an ``error_managing`` row (the record of a failed manage; it holds no quota).

    Never touches the backend. Raises VolumeNotFound or InvalidStatus.
    """
    row = rows_db.locked(session, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    if row.status != ERROR_MANAGING:
        raise exception.InvalidStatus(
            volume_id=volume_id, status=row.status, expected=ERROR_MANAGING
        )
    row.status = DELETING
    rows_db.release_all_in(session, row)
    values = to_record(row)
    # The failed members of a chain adopted with it are part of its record.
    session.execute(
        sa.delete(models.Snapshot).where(
            models.Snapshot.volume_id == volume_id,
            models.Snapshot.chain_link.is_not(None),
            models.Snapshot.status == ERROR_MANAGING,
        )
    )
    session.delete(row)
    return values
