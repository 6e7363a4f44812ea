"""A snapshot's status transitions and the quota each one moves.

``managing`` → ``available`` (its gigabytes charged first, :func:`charge_gigabytes`)
or ``error_managing`` (all its quota released, :func:`fail_manage`); ``available`` →
``unmanaging`` → removed; ``error_managing`` → removed. Each is a conditional update
on the expected status (and, for the volume service's steps, on the flow's ownership
token), so that a message handled twice changes nothing the second time. The quota
a row holds is recorded on it (``quota_snapshots``, ``quota_gigabytes``) and changes
in the same transaction as usage.

API (stable): ``charge_gigabytes(db, snapshot_id, token, size, count_gigabytes,
limits) -> bool``; ``uncharge_gigabytes(db, snapshot_id, token) -> bool``;
``finish_manage(db, snapshot_id, token, provider_location) -> bool``;
``fail_manage(db, snapshot_id, reason, request_id) -> SnapshotRecord | None``;
``start_unmanage(db, snapshot_id, project_id) -> SnapshotRecord``;
``remove_unmanaged(db, snapshot_id) -> SnapshotRecord | None``;
``delete_failed(db, snapshot_id, project_id) -> SnapshotRecord``;
``remove_if(db, snapshot_id, status, unclaimed) -> bool``.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception, message_field
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota
from volmgr_common.db.snapshot_record import (
    AVAILABLE,
    DELETING,
    ERROR_MANAGING,
    MANAGING,
    UNMANAGING,
    SnapshotRecord,
    to_record,
)

S = models.Snapshot


def _type_name(session: Session, row: models.Snapshot) -> str | None:
    if row.volume_type_id is None:
        return None
    return session.scalars(
        sa.select(models.VolumeType.name).where(models.VolumeType.id == row.volume_type_id)
    ).first()


def _release_all_in(session: Session, row: models.Snapshot) -> None:
    """Give back every quota the locked row holds, and record that it holds none."""
    deltas = quota.snapshot_deltas(
        _type_name(session, row), int(row.quota_snapshots), row.quota_gigabytes
    )
    if deltas:
        quota.release_in(session, row.project_id, deltas)
    row.quota_snapshots = False
    row.quota_gigabytes = 0


def _owned(session: Session, snapshot_id: str, token: str | None) -> models.Snapshot | None:
    """The locked row if it is ``managing`` (under ``token`` when one is given)."""
    row = rows_db.locked(session, snapshot_id, models.Snapshot)
    if row is None or row.status != MANAGING or (token is not None and row.flow_owner != token):
        return None
    return row


@db_api.writer
def charge_gigabytes(
    session: Session,
    snapshot_id: str,
    token: str,
    size: int,
    count_gigabytes: bool,
    limits: quota.DefaultLimits,
) -> bool:
    """Record the snapshot's size and charge its gigabytes (when ``count_gigabytes``:
    Cinder's ``no_snapshot_gb_quota`` unset), together, once. Raises OverQuota.

    False when the row is no longer ``managing`` under ``token``; True when charged
    now or by an earlier run of the same request (the row holds its gigabytes).
    """
    row = _owned(session, snapshot_id, token)
    if row is None:
        return False
    if row.quota_gigabytes or (row.volume_size is not None and not count_gigabytes):
        return True
    gigabytes = size if count_gigabytes else 0
    deltas = quota.snapshot_deltas(_type_name(session, row), gigabytes=gigabytes)
    if deltas:
        quota.charge_in(session, row.project_id, deltas, limits)
    row.volume_size = size
    row.quota_gigabytes = gigabytes
    row.updated_at = clock.utc_now()
    return True


@db_api.writer
def uncharge_gigabytes(session: Session, snapshot_id: str, token: str | None = None) -> bool:
    """Give back the gigabytes a ``managing`` row (owned by ``token``, when given) holds."""
    row = _owned(session, snapshot_id, token)
    if row is None or not row.quota_gigabytes:
        return False
    deltas = quota.snapshot_deltas(_type_name(session, row), gigabytes=row.quota_gigabytes)
    quota.release_in(session, row.project_id, deltas)
    row.quota_gigabytes = 0
    return True


@db_api.writer
def finish_manage(session: Session, snapshot_id: str, token: str, provider_location: str) -> bool:
    """``managing`` (under ``token``) → ``available`` with the object's managed name."""
    return finish_in(session, snapshot_id, token, provider_location)


def finish_in(session: Session, snapshot_id: str, token: str, provider_location: str) -> bool:
    """:func:`finish_manage` inside the caller's transaction."""
    return rows_db.update_where(
        session,
        snapshot_id,
        S.status == MANAGING,
        S.flow_owner == token,
        model=S,
        status=AVAILABLE,
        provider_location=provider_location,
        progress="100%",
        flow_owner=None,
    )


@db_api.writer
def fail_manage(
    session: Session, snapshot_id: str, reason: str, request_id: str | None
) -> SnapshotRecord | None:
    """``managing`` → ``error_managing``: release all quota, free the reference and
    identity keys, tell the user (Cinder's ``VOLUME_SNAPSHOT`` message of the detail
    noted on the row). None when the row was not ``managing``: twice equals once."""
    row = rows_db.locked(session, snapshot_id, S)
    if row is None or row.status != MANAGING:
        return None
    _release_all_in(session, row)
    action = message_field.Action.MANAGE_EXISTING_SNAPSHOT
    rows_db.fail_in(session, row, reason, request_id, action, message_field.RESOURCE_SNAPSHOT)
    session.flush()
    return to_record(row)


def _visible(session: Session, snapshot_id: str, project_id: str | None) -> models.Snapshot:
    row = rows_db.locked(session, snapshot_id, S)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id[:40])
    return row


def _invalid_status(row: models.Snapshot, expected: str) -> exception.InvalidSnapshot:
    return exception.InvalidSnapshot(
        reason=f"snapshot {row.id} is {row.status}; expected {expected}"
    )


@db_api.writer
def start_unmanage(session: Session, snapshot_id: str, project_id: str | None) -> SnapshotRecord:
    """``available`` → ``unmanaging``. Raises SnapshotNotFound or InvalidSnapshot."""
    row = _visible(session, snapshot_id, project_id)
    if row.status != AVAILABLE:
        raise _invalid_status(row, AVAILABLE)
    row.status = UNMANAGING
    session.flush()
    return to_record(row)


@db_api.writer
def remove_unmanaged(session: Session, snapshot_id: str) -> SnapshotRecord | None:
    """Remove an ``unmanaging`` row and release its quota; None if already gone."""
    row = rows_db.locked(session, snapshot_id, S)
    if row is None or row.status != UNMANAGING:
        return None
    _release_all_in(session, row)
    record = to_record(row)
    session.delete(row)
    return record


@db_api.writer
def delete_failed(session: Session, snapshot_id: str, project_id: str | None) -> SnapshotRecord:
    """Remove an ``error_managing`` row (it holds no quota); never touches the backend.
    Raises SnapshotNotFound or InvalidSnapshot."""
    row = _visible(session, snapshot_id, project_id)
    if row.status != ERROR_MANAGING:
        raise _invalid_status(row, ERROR_MANAGING)
    row.status = DELETING
    _release_all_in(session, row)
    record = to_record(row)
    session.delete(row)
    return record


@db_api.writer
def remove_if(session: Session, snapshot_id: str, status: str, unclaimed: bool = False) -> bool:
    """Remove the row if it is in ``status`` (and, with ``unclaimed``, no flow owns it),
    giving back the quota it holds; True if removed."""
    row = rows_db.locked(session, snapshot_id, S)
    if row is None or row.status != status or (unclaimed and row.flow_owner is not None):
        return False
    _release_all_in(session, row)
    session.delete(row)
    return True
