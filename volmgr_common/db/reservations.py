"""Quota reservations: reserved first, then committed into usage or rolled back.

A reservation holds its deltas in the usage rows' ``reserved`` column until the
flow that made it commits it (moving the deltas into ``in_use``) or rolls it back.
Reservations expire after ``[quota] reservation_expire`` seconds; the schedulers
roll back expired ones. Usage rows are locked as :mod:`volmgr_common.db.quota`
locks them.
"""

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota


@dataclasses.dataclass(frozen=True)
class ReservationRequest:
    """What one caller of :func:`reserve_many` asks for."""

    project_id: str
    deltas: Mapping[str, int]
    volume_id: str | None = None


@db_api.writer
def reserve_many(
    session: Session, requests: Sequence[ReservationRequest], defaults: quota.DefaultLimits
) -> list[str | exception.OverQuota]:
    """Reserve for many callers in one transaction, each checked against its limits.

    Returns, for each request in order, its reservation id or the OverQuota it
    met; the requests before it in the list count as reserved when it is checked,
    exactly as if each had been reserved in a transaction of its own in that order.
    """
    return _reserve_in(session, requests, defaults)


def _reserve_in(
    session: Session, requests: Sequence[ReservationRequest], defaults: quota.DefaultLimits
) -> list[str | exception.OverQuota]:
    asks = [(request.project_id, request.deltas) for request in requests]
    admitted = quota.add_in_order(session, asks, defaults, in_use=False)
    # The database's clock: a scheduler on another host compares it.
    expire = clock.now(session, defaults.reservation_expire)
    outcomes: list[str | exception.OverQuota] = []
    rows: list[dict[str, object]] = []
    for request, over in zip(requests, admitted, strict=True):
        if over is not None:
            outcomes.append(over)
            continue
        outcomes.append(str(uuid.uuid4()))
        rows.extend(
            {
                "uuid": outcomes[-1],
                "project_id": request.project_id,
                "resource": resource,
                "delta": delta,
                "volume_id": request.volume_id,
                "expire": expire,
            }
            for resource, delta in sorted(request.deltas.items())
        )
    if rows:
        session.execute(sa.insert(models.table_of(models.Reservation)), rows)
    return outcomes


@db_api.writer
def reserve(
    session: Session,
    project_id: str,
    deltas: Mapping[str, int],
    defaults: quota.DefaultLimits,
    volume_id: str | None = None,
) -> str:
    """Reserve ``deltas`` (raises OverQuota); returns the reservation id."""
    request = ReservationRequest(project_id, deltas, volume_id)
    (outcome,) = _reserve_in(session, [request], defaults)
    if isinstance(outcome, exception.OverQuota):
        raise outcome  # and the transaction leaves nothing behind
    return outcome


def _take_reservations(
    session: Session, reservation_ids: Iterable[str]
) -> dict[str, list[tuple[str, str, int]]]:
    """``{reservation_id: [(project_id, resource, delta)]}`` of the rows, which it deletes."""
    table = models.table_of(models.Reservation)
    ids = sorted(set(reservation_ids))
    stmt = (
        sa.select(table.c.uuid, table.c.project_id, table.c.resource, table.c.delta)
        .where(table.c.uuid.in_(ids))
        .order_by(table.c.id)
        .with_for_update()
    )
    taken: dict[str, list[tuple[str, str, int]]] = {}
    for reservation_id, project_id, resource, delta in session.execute(stmt):
        taken.setdefault(reservation_id, []).append((project_id, resource, delta))
    if taken:
        session.execute(sa.delete(table).where(table.c.uuid.in_(sorted(taken))))
    return taken


@dataclasses.dataclass(frozen=True)
class Commit:
    """One reservation to commit: what :func:`commit_many_in` moves into in-use."""

    project_id: str
    reservation_id: str
    deltas: Mapping[str, int]


def commit_many_in(session: Session, commits: Sequence[Commit]) -> None:
    """Move reservations into in-use; one that already expired charges its deltas directly.

    The caller records on each volume row, in the same transaction, that the amount
    is held, so that committing twice is prevented by that record.
    """
    taken = _take_reservations(session, [c.reservation_id for c in commits])
    usages = quota.lock_usages(session, quota.by_project((c.project_id, c.deltas) for c in commits))
    for c in commits:
        reserved = {resource: delta for _, resource, delta in taken.get(c.reservation_id, [])}
        for resource, delta in c.deltas.items():
            usage = usages[c.project_id, resource]
            usage.reserved = max(0, usage.reserved - reserved.get(resource, 0))
            usage.in_use += delta
    quota.save_usages(session, usages)


def commit_in(
    session: Session, project_id: str, reservation_id: str, deltas: Mapping[str, int]
) -> None:
    """Commit one reservation inside the caller's transaction (see :func:`commit_many_in`)."""
    commit_many_in(session, [Commit(project_id, reservation_id, deltas)])


@db_api.writer
def rollback(session: Session, reservation_id: str) -> int:
    """Give a reservation back; returns how many rows it had (0: nothing left to do)."""
    rows = _take_reservations(session, [reservation_id]).get(reservation_id, [])
    if rows:
        usages = quota.lock_usages(session, quota.by_project((p, [r]) for p, r, _ in rows))
        for project_id, resource, delta in rows:
            usage = usages[project_id, resource]
            usage.reserved = max(0, usage.reserved - delta)
        quota.save_usages(session, usages)
    return len(rows)


@db_api.writer
def expired_reservation_ids(session: Session) -> list[str]:
    """Ids of reservations whose expiry time has passed."""
    stmt = sa.select(models.Reservation.uuid).where(models.Reservation.expire < clock.utc_now())
    return sorted(set(session.scalars(stmt)))


def expire_reservations(db: db_api.Database) -> int:
    """Roll back every expired reservation; returns how many were rolled back."""
    count = 0
    for reservation_id in expired_reservation_ids(db):
        if rollback(db, reservation_id):
            count += 1
    return count


@db_api.reader
def reservation_ids_for(session: Session, volume_id: str) -> list[str]:
    """Ids of the open reservations made for one volume."""
    stmt = sa.select(models.Reservation.uuid).where(models.Reservation.volume_id == volume_id)
    return sorted(set(session.scalars(stmt)))


def rollback_for_volume(db: db_api.Database, volume_id: str) -> int:
    """Roll back every open reservation of a volume (a flow that died left them)."""
    return sum(1 for rid in reservation_ids_for(db, volume_id) if rollback(db, rid))
