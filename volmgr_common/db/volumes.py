"""Queries on volumes and their metadata, including the status transitions of a manage.

Every transition is a conditional update on the expected status, so that a message
handled twice changes nothing the second time. Quota held by a volume is recorded on
its row (``quota_volumes``, ``quota_gigabytes``) and changes together with usage.
"""

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception, quota
from volmgr_common.db import api as db_api
from volmgr_common.db import messages, models, paging

MANAGING = "managing"
AVAILABLE = "available"
ERROR_MANAGING = "error_managing"
UNMANAGING = "unmanaging"
DELETING = "error_managing_deleting"


def reference_key(backend: str, reference: Mapping[str, Any]) -> str:
    """A fixed-size key naming one object on one backend (pool excluded)."""
    canonical = json.dumps(dict(reference), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{backend}|{canonical}".encode()).hexdigest()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _as_dict(
    columns: Mapping[str, Any], type_name: str | None, metadata: Mapping[str, str]
) -> dict[str, Any]:
    """The volume as every caller sees it, from its row's columns."""
    return {
        "id": columns["id"],
        "project_id": columns["project_id"],
        "user_id": columns["user_id"],
        "name": columns["display_name"],
        "description": columns["display_description"],
        "status": columns["status"],
        "host": columns["host"],
        "availability_zone": columns["availability_zone"],
        "volume_type_id": columns["volume_type_id"],
        "volume_type": type_name,
        "size": columns["size"],
        "bootable": columns["bootable"],
        "reference": json.loads(columns["reference"]),
        "provider_location": columns["provider_location"],
        "metadata": dict(metadata),
        "failure_reason": columns["failure_reason"],
        "request_id": columns["request_id"],
        "created_at": _iso(columns["created_at"]),
        "updated_at": _iso(columns["updated_at"]),
        "launched_at": _iso(columns["launched_at"]),
        "scheduled_at": _iso(columns["scheduled_at"]),
    }


_VOLUME_COLUMNS = tuple(column.key for column in models.Volume.__table__.columns)


def to_dict(row: models.Volume) -> dict[str, Any]:
    return _as_dict(
        {name: getattr(row, name) for name in _VOLUME_COLUMNS},
        row.volume_type.name if row.volume_type else None,
        {m.key: m.value for m in row.volume_metadata},
    )


def _locked(session: Session, volume_id: str) -> models.Volume | None:
    """The row, locked for this transaction."""
    stmt = (
        sa.select(models.Volume)
        .where(models.Volume.id == volume_id)
        .with_for_update(of=models.Volume)
    )
    return session.scalars(stmt).first()


@dataclasses.dataclass(frozen=True)
class NewVolume:
    """A ``managing`` row to write: its column values, metadata and type name."""

    values: dict[str, Any]
    metadata: Mapping[str, str]
    type_name: str


class _OwnRow:
    """The row an earlier attempt of the same insert committed (its answer was lost)."""


_OWN_ROW = _OwnRow()
Written = dict[str, Any] | exception.VolmgrException


@db_api.writer
def _insert_charged(
    session: Session, new: Sequence[NewVolume], limits: quota.DefaultLimits
) -> list[Written | _OwnRow]:
    keys = sorted({n.values["reference_key"] for n in new})
    holders: dict[str, str] = {
        key: volume_id
        for key, volume_id in session.execute(
            sa.select(models.Volume.reference_key, models.Volume.id).where(
                models.Volume.reference_key.in_(keys)
            )
        )
    }
    taken: list[str | None] = []  # who holds each reference before its row is written
    for n in new:
        taken.append(holders.get(n.values["reference_key"]))
        holders.setdefault(n.values["reference_key"], n.values["id"])
    charged = quota.charge_many_in(
        session,
        [
            None
            if holder
            else (n.values["project_id"], quota.volume_deltas(n.type_name, volumes=1))
            for n, holder in zip(new, taken, strict=True)
        ],
        limits,
    )
    outcomes: list[Written | _OwnRow] = []
    rows: list[dict[str, Any]] = []
    metadata_rows: list[dict[str, Any]] = []
    now = models.utcnow()
    for n, holder, over in zip(new, taken, charged, strict=True):
        if holder == n.values["id"]:
            outcomes.append(_OWN_ROW)
        elif holder is not None:
            outcomes.append(_already_managed(n.values, holder))
        elif over is not None:
            outcomes.append(over)
        else:
            # Every column is given, so the new row is known without reading it back.
            columns = {name: None for name in _VOLUME_COLUMNS}
            columns.update(bootable=False, created_at=now)
            columns.update(n.values, quota_volumes=True, quota_gigabytes=0)
            rows.append(columns)
            metadata_rows.extend(
                {"volume_id": columns["id"], "key": k, "value": v} for k, v in n.metadata.items()
            )
            outcomes.append(_as_dict(columns, n.type_name, n.metadata))
    if rows:
        session.execute(sa.insert(models.Volume.__table__), rows)
    if metadata_rows:
        session.execute(sa.insert(models.VolumeMetadata.__table__), metadata_rows)
    return outcomes


def _already_managed(values: dict[str, Any], holder: str | None) -> exception.VolmgrException:
    return exception.ManageExistingAlreadyManaged(
        ref=values["reference"], host=values["host"], volume_id=holder
    )


@db_api.reader
def _holder_of(session: Session, key: str) -> str | None:
    return session.scalars(
        sa.select(models.Volume.id).where(models.Volume.reference_key == key)
    ).first()


def create_managing_many(
    db: db_api.Database, new: Sequence[NewVolume], limits: quota.DefaultLimits
) -> list[Written]:
    """Insert ``managing`` rows that each hold one volume of quota, in one transaction.

    For each in order: the new volume, OverQuota, or ManageExistingAlreadyManaged
    when a live row (or one before it here) already holds the same backend
    reference. Should another transaction write the same reference meanwhile, the
    unique key refuses the batch and each row is written alone, so that only the
    loser is refused.
    """
    new = [
        dataclasses.replace(
            n, values=dict(n.values, id=n.values.get("id") or str(uuid.uuid4()), status=MANAGING)
        )
        for n in new
    ]
    try:
        outcomes = _insert_charged(db, new, limits)
    except exc.IntegrityError:
        if len(new) > 1:
            return [create_managing_many(db, [n], limits)[0] for n in new]
        holder = _holder_of(db, new[0].values["reference_key"])
        if holder != new[0].values["id"]:
            return [_already_managed(new[0].values, holder)]
        outcomes = [_OWN_ROW]
    # _OWN_ROW: an earlier attempt committed, but its connection was lost before the
    # answer came back; the retry met its own row.
    return [
        get(db, n.values["id"]) if isinstance(o, _OwnRow) else o
        for n, o in zip(new, outcomes, strict=True)
    ]


def create_managing(
    db: db_api.Database,
    values: dict[str, Any],
    metadata: Mapping[str, str],
    limits: quota.DefaultLimits,
    type_name: str,
) -> dict[str, Any]:
    """Insert one ``managing`` row (see :func:`create_managing_many`); raises its error."""
    (outcome,) = create_managing_many(db, [NewVolume(values, metadata, type_name)], limits)
    if isinstance(outcome, exception.VolmgrException):
        raise outcome
    return outcome


@db_api.reader
def get(session: Session, volume_id: str, project_id: str | None = None) -> dict[str, Any]:
    """The volume; with ``project_id``, only if that project owns it."""
    row = session.get(models.Volume, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    return to_dict(row)


@db_api.reader
def managed_objects(session: Session, backend: str) -> dict[str, str]:
    """``{provider_location: volume_id}`` of the volumes placed on ``backend``.

    Rows still ``managing`` have no provider location yet; they are keyed by the
    reference's ``source-name`` so that a listing does not offer them as safe.
    """
    stmt = sa.select(
        models.Volume.provider_location, models.Volume.reference, models.Volume.id
    ).where(
        sa.or_(models.Volume.host == backend, models.Volume.host.like(f"{backend}#%")),
        models.Volume.status != ERROR_MANAGING,
    )
    managed: dict[str, str] = {}
    for location, reference, volume_id in session.execute(stmt):
        name = location or json.loads(reference).get("source-name")
        if isinstance(name, str):
            managed[name] = volume_id
    return managed


@db_api.reader
def list_volumes(
    session: Session,
    project_id: str | None = None,
    status: str | None = None,
    host: str | None = None,
    limit: int = 1000,
    marker: str | None = None,
    name: str | None = None,
    bootable: bool | None = None,
    metadata: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Volumes ordered by creation time then id, after ``marker`` if given.

    Each filter given narrows the listing: ``name`` exactly, ``bootable``, and every
    key and value of ``metadata``.
    """
    columns: list[paging.SortColumn] = [
        (models.Volume.created_at, paging.ASC),
        (models.Volume.id, paging.ASC),
    ]
    stmt = sa.select(models.Volume).order_by(*paging.order_by(columns))
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    if status is not None:
        stmt = stmt.where(models.Volume.status == status)
    if name is not None:
        stmt = stmt.where(models.Volume.display_name == name)
    if bootable is not None:
        stmt = stmt.where(models.Volume.bootable == bootable)
    for key, value in (metadata or {}).items():
        stmt = stmt.where(
            sa.exists().where(
                models.VolumeMetadata.volume_id == models.Volume.id,
                models.VolumeMetadata.key == key,
                models.VolumeMetadata.value == value,
            )
        )
    if host is not None:
        stmt = stmt.where(sa.or_(models.Volume.host == host, models.Volume.host.like(f"{host}#%")))
    if marker is not None:
        anchor = session.get(models.Volume, marker)
        if anchor is None:
            raise exception.VolumeNotFound(volume_id=marker)
        stmt = stmt.where(paging.after(columns, (anchor.created_at, anchor.id)))
    return [to_dict(r) for r in session.scalars(stmt.limit(limit))]


@db_api.reader
def count_and_size(session: Session, project_id: str | None = None) -> tuple[int, int]:
    """How many volumes (of ``project_id``, or of every project) and their GiB in all."""
    stmt = sa.select(
        sa.func.count(models.Volume.id), sa.func.coalesce(sa.func.sum(models.Volume.size), 0)
    )
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    count, size = session.execute(stmt).one()
    return int(count), int(size)


def _release_all_in(session: Session, row: models.Volume) -> None:
    type_name = row.volume_type.name
    deltas = quota.volume_deltas(
        type_name, volumes=1 if row.quota_volumes else 0, gigabytes=row.quota_gigabytes
    )
    if deltas:
        quota.release_in(session, row.project_id, deltas)
    row.quota_volumes = False
    row.quota_gigabytes = 0


@db_api.writer
def destroy_managing(session: Session, volume_id: str) -> bool:
    """Remove a row still ``managing`` and give back the quota it held (API revert)."""
    row = _locked(session, volume_id)
    if row is None or row.status != MANAGING:
        return False
    _release_all_in(session, row)
    session.delete(row)
    return True


def _update_where(
    session: Session, volume_id: str, *conditions: sa.ColumnElement[bool], **values: Any
) -> bool:
    """Update the row (and its ``updated_at``) only where ``conditions`` hold; True if so.

    Every status transition is one of these: a message handled twice finds the
    condition false the second time and changes nothing.
    """
    values.setdefault("updated_at", models.utcnow())
    stmt = (
        sa.update(models.Volume)
        .where(models.Volume.id == volume_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def _write_each(session: Session, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Give each ``(volume_id, values)`` row its own values, in one executed statement.

    The rows were locked and checked by the caller; all values dicts have the same
    keys, and ``updated_at`` is stamped.
    """
    if not changes:
        return
    now = models.utcnow()
    rows = [dict({"updated_at": now}, **values, b_id=volume_id) for volume_id, values in changes]
    table = models.Volume.__table__
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values({key: sa.bindparam(key) for key in rows[0] if key != "b_id"})
    )
    session.connection().execute(update, rows)


def _update_each(
    session: Session,
    changes: Sequence[tuple[str, dict[str, Any]]],
    *conditions: sa.ColumnElement[bool],
) -> list[bool]:
    """Give each ``(volume_id, values)`` its values where ``conditions`` hold on its row.

    The rows are locked and checked first, so that each change learns whether it
    was made (True, in order); an id given twice changes once.
    """
    stmt = (
        sa.select(models.Volume.id)
        .where(models.Volume.id.in_(sorted({volume_id for volume_id, _ in changes})), *conditions)
        .order_by(models.Volume.id)
        .with_for_update()
    )
    waiting = set(session.scalars(stmt))
    made: list[bool] = []
    for volume_id, _ in changes:
        made.append(volume_id in waiting)
        waiting.discard(volume_id)
    _write_each(session, [change for change, ok in zip(changes, made, strict=True) if ok])
    return made


@db_api.writer
def update_if(session: Session, volume_id: str, expected_status: str, **values: Any) -> bool:
    """Update the row only if it is in ``expected_status``; True if it was."""
    return _update_where(session, volume_id, models.Volume.status == expected_status, **values)


@db_api.writer
def place_many(session: Session, placements: Sequence[tuple[str, str]]) -> list[bool]:
    """Record each ``(volume_id, host#pool)`` on its ``managing`` row not placed yet, once."""
    now = models.utcnow()
    return _update_each(
        session,
        [(volume_id, {"host": host, "scheduled_at": now}) for volume_id, host in placements],
        models.Volume.status == MANAGING,
        models.Volume.scheduled_at.is_(None),
    )


def place(db: db_api.Database, volume_id: str, host: str) -> bool:
    """Record the scheduler's ``host#pool`` on one row (see :func:`place_many`)."""
    return place_many(db, [(volume_id, host)])[0]


@db_api.writer
def claim_flows(
    session: Session, volume_ids: Sequence[str], owner: str
) -> dict[str, dict[str, Any]]:
    """Take the ``managing`` rows among ``volume_ids`` that no flow owns, in one transaction.

    Returns ``{volume_id: volume}`` of the rows taken; a row absent, done or owned
    is left out. Each volume also carries ``held_gigabytes``: the gigabytes of quota
    an earlier run of the same request already committed to the row.
    """
    volumes = models.Volume.__table__
    stmt = (
        sa.select(volumes, models.VolumeType.name.label("type_name"))
        .join(models.VolumeType, volumes.c.volume_type_id == models.VolumeType.id)
        .where(volumes.c.id.in_(sorted(set(volume_ids))))
        .order_by(volumes.c.id)
        .with_for_update(of=volumes)
    )
    rows = {
        row.id: row
        for row in session.execute(stmt)
        if row.status == MANAGING and row.flow_owner is None
    }
    metadata: dict[str, dict[str, str]] = {volume_id: {} for volume_id in rows}
    if rows:
        meta = models.VolumeMetadata.__table__
        for volume_id, key, value in session.execute(
            sa.select(meta.c.volume_id, meta.c.key, meta.c.value).where(
                meta.c.volume_id.in_(sorted(rows))
            )
        ):
            metadata[volume_id][key] = value
    claimed = {
        volume_id: dict(
            _as_dict(row._mapping, row.type_name, metadata[volume_id]),
            held_gigabytes=row.quota_gigabytes,
        )
        for volume_id, row in rows.items()
    }
    if claimed:
        session.execute(
            sa.update(models.Volume)
            .where(models.Volume.id.in_(sorted(claimed)))
            .values(flow_owner=owner, updated_at=models.utcnow())
            .execution_options(synchronize_session=False)
        )
    return claimed


def claim_flow(db: db_api.Database, volume_id: str, owner: str) -> dict[str, Any] | None:
    """Take one ``managing`` row that no flow owns; None if absent, done or owned."""
    return claim_flows(db, [volume_id], owner).get(volume_id)


def _lock_for_quota(session: Session, volume_ids: Sequence[str]) -> dict[str, sa.Row[Any]]:
    """``{id: (status, quota_gigabytes, project_id, type_name)}`` of the rows, locked."""
    stmt = (
        sa.select(
            models.Volume.id,
            models.Volume.status,
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


@db_api.writer
def commit_gigabytes_many(session: Session, commits: Sequence[SizeCommit]) -> list[bool]:
    """Commit each gigabytes reservation and record the size on its row, once, together.

    For each commit in order: True if it was made; False when the row is no longer
    ``managing`` or already holds its gigabytes (an earlier run committed them).
    """
    locked = _lock_for_quota(session, [c.volume_id for c in commits])
    done: list[bool] = []
    quota_commits: list[quota.Commit] = []
    for c in commits:
        row = locked.get(c.volume_id)
        ok = row is not None and row.status == MANAGING and not row.quota_gigabytes
        done.append(ok)
        if ok:
            deltas = quota.volume_deltas(row.name, gigabytes=c.size)
            quota_commits.append(quota.Commit(row.project_id, c.reservation_id, deltas))
    if quota_commits:
        quota.commit_many_in(session, quota_commits)
        _write_each(
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
def uncommit_gigabytes(session: Session, volume_id: str) -> bool:
    """Compensating negative commit of the gigabytes a managing row holds."""
    locked = _lock_for_quota(session, [volume_id]).get(volume_id)
    if locked is None or locked.status != MANAGING or not locked.quota_gigabytes:
        return False
    deltas = quota.volume_deltas(locked.name, gigabytes=locked.quota_gigabytes)
    quota.release_in(session, locked.project_id, deltas)
    _update_where(session, volume_id, quota_gigabytes=0)
    return True


@db_api.writer
def finish_manage_many(session: Session, finished: Sequence[tuple[str, str]]) -> list[bool]:
    """``managing`` → ``available`` for each ``(volume_id, provider_location)``, together.

    For each in order: True if the row was ``managing`` and is now ``available``.
    """
    now = models.utcnow()
    return _update_each(
        session,
        [
            (
                volume_id,
                {
                    "status": AVAILABLE,
                    "provider_location": location,
                    "launched_at": now,
                    "updated_at": now,
                    "flow_owner": None,
                },
            )
            for volume_id, location in finished
        ],
        models.Volume.status == MANAGING,
    )


def finish_manage(db: db_api.Database, volume_id: str, provider_location: str) -> bool:
    """``managing`` → ``available`` with the object's managed name; False if not managing."""
    return finish_manage_many(db, [(volume_id, provider_location)])[0]


@db_api.writer
def fail_manage(
    session: Session, volume_id: str, reason: str, event_id: str, request_id: str | None
) -> dict[str, Any] | None:
    """``managing`` → ``error_managing``: release all quota, free the reference, tell the user.

    Returns the updated volume, or None when the row was not ``managing`` (already
    failed, finished or gone): handling the same failure twice equals once.
    """
    row = _locked(session, volume_id)
    if row is None or row.status != MANAGING:
        return None
    _release_all_in(session, row)
    row.status = ERROR_MANAGING
    row.failure_reason = reason
    row.reference_key = None
    row.flow_owner = None
    messages.add_in(session, row.project_id, request_id, row.id, event_id, reason)
    session.flush()
    return to_dict(row)


@db_api.writer
def remove_unmanaged(session: Session, volume_id: str) -> dict[str, Any] | None:
    """Remove an ``unmanaging`` row and release its quota; None if already gone."""
    row = _locked(session, volume_id)
    if row is None or row.status != UNMANAGING:
        return None
    _release_all_in(session, row)
    values = to_dict(row)
    session.delete(row)
    return values


@db_api.writer
def delete_failed(session: Session, volume_id: str, project_id: str | None) -> dict[str, Any]:
    """Remove an ``error_managing`` row (the record of a failed manage; it holds no quota).

    Never touches the backend. Raises VolumeNotFound or InvalidStatus.
    """
    row = _locked(session, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    if row.status != ERROR_MANAGING:
        raise exception.InvalidStatus(
            volume_id=volume_id, status=row.status, expected=ERROR_MANAGING
        )
    row.status = DELETING
    _release_all_in(session, row)
    values = to_dict(row)
    session.delete(row)
    return values


@db_api.writer
def start_unmanage(session: Session, volume_id: str, project_id: str | None) -> dict[str, Any]:
    """``available`` → ``unmanaging``. Raises VolumeNotFound or InvalidStatus."""
    row = _locked(session, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    if row.status != AVAILABLE:
        raise exception.InvalidStatus(volume_id=volume_id, status=row.status, expected=AVAILABLE)
    row.status = UNMANAGING
    session.flush()
    return to_dict(row)


def _last_change() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(models.Volume.updated_at, models.Volume.created_at)


@db_api.reader
def transitional(
    session: Session,
    statuses: tuple[str, ...],
    backend: str | None = None,
    scheduled: bool | None = None,
    changed_before: Any = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Rows in ``statuses`` for recovery scans, oldest change first.

    ``backend`` keeps rows placed on ``host@backend``; ``scheduled`` keeps rows the
    scheduler has (or has not) placed; ``changed_before`` keeps rows untouched since.
    Each dict carries ``last_change`` for :func:`touch_if_unchanged`.
    """
    stmt = sa.select(models.Volume, _last_change()).where(models.Volume.status.in_(statuses))
    if backend is not None:
        stmt = stmt.where(
            sa.or_(models.Volume.host == backend, models.Volume.host.like(f"{backend}#%"))
        )
    if scheduled is not None:
        placed = models.Volume.scheduled_at.is_not(None)
        stmt = stmt.where(placed if scheduled else sa.not_(placed))
    if changed_before is not None:
        stmt = stmt.where(_last_change() < changed_before)
    rows = session.execute(stmt.order_by(_last_change()).limit(limit)).all()
    return [
        dict(to_dict(row), flow_owner=row.flow_owner, last_change=changed) for row, changed in rows
    ]


@db_api.writer
def touch_if_unchanged(session: Session, volume_id: str, last_change: Any) -> bool:
    """Mark the row changed now if nobody changed it since ``last_change``.

    Of several services that scan at once, exactly one wins the row.
    """
    return _update_where(session, volume_id, _last_change() == last_change)


@db_api.writer
def take_over_flow(session: Session, volume_id: str, dead_owner: str) -> bool:
    """Free a ``managing`` row that a flow of a dead process owned."""
    return _update_where(
        session,
        volume_id,
        models.Volume.status == MANAGING,
        models.Volume.flow_owner == dead_owner,
        flow_owner=None,
    )


@db_api.writer
def record_failure(session: Session, volume_id: str, reason: str) -> bool:
    """Note on a ``managing`` row why a stage failed, before telling the API.

    If the compensating message is lost, the API's recovery scan finds the reason
    here and records the failure itself.
    """
    return _update_where(
        session, volume_id, models.Volume.status == MANAGING, failure_reason=reason
    )
