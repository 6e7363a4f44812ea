"""Quota engine: limits, usage, and reservations that are committed or rolled back.

Resources are ``volumes`` and ``gigabytes`` and, per volume type,
``volumes_<type>`` and ``gigabytes_<type>``. Usage rows are locked (``SELECT ...
FOR UPDATE`` on PostgreSQL and MySQL; SQLite serializes writers) in a fixed order
so that concurrent requests never deadlock each other. Functions named ``*_in``
work inside a caller's transaction, so that a usage change and the volume column
that records it commit together.
"""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models

VOLUMES = "volumes"
GIGABYTES = "gigabytes"
UNLIMITED = -1


def volume_deltas(volume_type_name: str, volumes: int = 0, gigabytes: int = 0) -> dict[str, int]:
    """The deltas one volume of ``volume_type_name`` changes, global and per type."""
    deltas: dict[str, int] = {}
    if volumes:
        deltas[VOLUMES] = volumes
        deltas[f"{VOLUMES}_{volume_type_name}"] = volumes
    if gigabytes:
        deltas[GIGABYTES] = gigabytes
        deltas[f"{GIGABYTES}_{volume_type_name}"] = gigabytes
    return deltas


@dataclasses.dataclass(frozen=True)
class DefaultLimits:
    """Limits that apply where the quotas table has no row for a project."""

    volumes: int
    gigabytes: int
    per_type: int
    reservation_expire: int

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> "DefaultLimits":
        q = conf.quota
        return cls(q.volumes, q.gigabytes, q.per_type_default, q.reservation_expire)

    def for_resource(self, resource: str) -> int:
        if resource == VOLUMES:
            return self.volumes
        if resource == GIGABYTES:
            return self.gigabytes
        return self.per_type


@dataclasses.dataclass(slots=True)
class _Usage:
    """One usage row as read under its lock; written back by :func:`_save_usages`."""

    in_use: int
    reserved: int


_USAGES = models.QuotaUsage.__table__
_SAVE_USAGE = (
    sa.update(_USAGES)
    .where(
        _USAGES.c.project_id == sa.bindparam("b_project_id"),
        _USAGES.c.resource == sa.bindparam("b_resource"),
    )
    .values(in_use=sa.bindparam("b_in_use"), reserved=sa.bindparam("b_reserved"))
)


def _lock_usages(session: Session, project_id: str, resources: list[str]) -> dict[str, _Usage]:
    """The usage rows of ``resources``, locked (and created at zero where missing)."""
    stmt = (
        sa.select(_USAGES.c.resource, _USAGES.c.in_use, _USAGES.c.reserved)
        .where(_USAGES.c.project_id == project_id, _USAGES.c.resource.in_(resources))
        .order_by(_USAGES.c.resource)
        .with_for_update()
    )
    usages = {
        resource: _Usage(in_use, reserved) for resource, in_use, reserved in session.execute(stmt)
    }
    missing = [r for r in sorted(resources) if r not in usages]
    if missing:
        rows = [
            {"project_id": project_id, "resource": r, "in_use": 0, "reserved": 0} for r in missing
        ]
        try:
            session.execute(sa.insert(_USAGES), rows)
        except exc.IntegrityError as error:
            raise db_api.RetryTransaction("concurrent quota usage insert") from error
        usages.update((r, _Usage(0, 0)) for r in missing)
    return usages


def _save_usages(session: Session, project_id: str, usages: Mapping[str, _Usage]) -> None:
    """Write locked usage rows back (one statement, executed for each row)."""
    session.execute(
        _SAVE_USAGE,
        [
            {
                "b_project_id": project_id,
                "b_resource": resource,
                "b_in_use": usage.in_use,
                "b_reserved": usage.reserved,
            }
            for resource, usage in sorted(usages.items())
        ],
    )


def _limits(
    session: Session, project_id: str, resources: list[str], defaults: DefaultLimits
) -> dict[str, int]:
    stmt = sa.select(models.Quota.resource, models.Quota.hard_limit).where(
        models.Quota.project_id == project_id, models.Quota.resource.in_(resources)
    )
    limits = {r: defaults.for_resource(r) for r in resources}
    limits.update((resource, hard_limit) for resource, hard_limit in session.execute(stmt))
    return limits


def _check_limits(
    project_id: str,
    deltas: Mapping[str, int],
    usages: Mapping[str, _Usage],
    limits: Mapping[str, int],
) -> None:
    for resource, delta in sorted(deltas.items()):
        limit = limits[resource]
        usage = usages[resource]
        if delta > 0 and limit != UNLIMITED and usage.in_use + usage.reserved + delta > limit:
            raise exception.OverQuota(
                project_id=project_id,
                resource=resource,
                requested=delta,
                limit=limit,
                in_use=usage.in_use,
                reserved=usage.reserved,
            )


def charge_in(
    session: Session, project_id: str, deltas: Mapping[str, int], defaults: DefaultLimits
) -> None:
    """Add ``deltas`` to in-use after checking the limits (raises OverQuota)."""
    resources = sorted(deltas)
    usages = _lock_usages(session, project_id, resources)
    _check_limits(project_id, deltas, usages, _limits(session, project_id, resources, defaults))
    for resource, delta in deltas.items():
        usages[resource].in_use += delta
    _save_usages(session, project_id, usages)


def release_in(session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
    """Take ``deltas`` (positive amounts) back out of in-use."""
    usages = _lock_usages(session, project_id, sorted(deltas))
    for resource, delta in deltas.items():
        usages[resource].in_use = max(0, usages[resource].in_use - delta)
    _save_usages(session, project_id, usages)


@db_api.writer
def reserve(
    session: Session,
    project_id: str,
    deltas: Mapping[str, int],
    defaults: DefaultLimits,
    volume_id: str | None = None,
) -> str:
    """Reserve ``deltas`` (raises OverQuota); returns the reservation id."""
    resources = sorted(deltas)
    usages = _lock_usages(session, project_id, resources)
    _check_limits(project_id, deltas, usages, _limits(session, project_id, resources, defaults))
    reservation_id = str(uuid.uuid4())
    expire = models.utcnow() + dt.timedelta(seconds=defaults.reservation_expire)
    for resource, delta in deltas.items():
        usages[resource].reserved += delta
    session.execute(
        sa.insert(models.Reservation.__table__),
        [
            {
                "uuid": reservation_id,
                "project_id": project_id,
                "resource": resource,
                "delta": delta,
                "volume_id": volume_id,
                "expire": expire,
            }
            for resource, delta in sorted(deltas.items())
        ],
    )
    _save_usages(session, project_id, usages)
    return reservation_id


def _take_reservation(session: Session, reservation_id: str) -> list[tuple[str, str, int]]:
    """``(project_id, resource, delta)`` of a reservation's rows, which it deletes."""
    table = models.Reservation.__table__
    stmt = (
        sa.select(table.c.project_id, table.c.resource, table.c.delta)
        .where(table.c.uuid == reservation_id)
        .with_for_update()
    )
    rows = [(project_id, resource, delta) for project_id, resource, delta in session.execute(stmt)]
    if rows:
        session.execute(sa.delete(table).where(table.c.uuid == reservation_id))
    return rows


def commit_in(
    session: Session, project_id: str, reservation_id: str, deltas: Mapping[str, int]
) -> None:
    """Move a reservation into in-use; if it already expired, charge ``deltas`` directly.

    The caller records on the volume row, in the same transaction, that the amount is
    held, so that committing twice is prevented by that record.
    """
    reserved = {
        resource: delta for _, resource, delta in _take_reservation(session, reservation_id)
    }
    usages = _lock_usages(session, project_id, sorted(deltas))
    for resource, delta in deltas.items():
        usages[resource].reserved = max(0, usages[resource].reserved - reserved.get(resource, 0))
        usages[resource].in_use += delta
    _save_usages(session, project_id, usages)


@db_api.writer
def rollback(session: Session, reservation_id: str) -> int:
    """Give a reservation back; returns how many rows it had (0: nothing left to do)."""
    rows = _take_reservation(session, reservation_id)
    if rows:
        project_id = rows[0][0]
        usages = _lock_usages(session, project_id, sorted({resource for _, resource, _ in rows}))
        for _, resource, delta in rows:
            usages[resource].reserved = max(0, usages[resource].reserved - delta)
        _save_usages(session, project_id, usages)
    return len(rows)


@db_api.writer
def expired_reservation_ids(session: Session) -> list[str]:
    """Ids of reservations whose expiry time has passed."""
    stmt = sa.select(models.Reservation.uuid).where(models.Reservation.expire < models.utcnow())
    return sorted(set(session.scalars(stmt)))


def expire_reservations(db: db_api.Database) -> int:
    """Roll back every expired reservation; returns how many were rolled back."""
    count = 0
    for reservation_id in expired_reservation_ids(db):
        if rollback(db, reservation_id):
            count += 1
    return count


@db_api.reader
def usage(session: Session, project_id: str, defaults: DefaultLimits) -> dict[str, dict[str, int]]:
    """``{resource: {"in_use", "reserved", "limit"}}`` of a project.

    The global resources, those of every volume type (as Cinder lists them, at zero
    where unused), and any other resource the project has a usage row for.
    """
    rows = session.scalars(
        sa.select(models.QuotaUsage).where(models.QuotaUsage.project_id == project_id)
    )
    result = {u.resource: {"in_use": u.in_use, "reserved": u.reserved} for u in rows}
    type_names = session.scalars(sa.select(models.VolumeType.name))
    resources = [VOLUMES, GIGABYTES]
    for name in type_names:
        resources += [f"{VOLUMES}_{name}", f"{GIGABYTES}_{name}"]
    for resource in resources:
        result.setdefault(resource, {"in_use": 0, "reserved": 0})
    limits = _limits(session, project_id, list(result), defaults)
    for resource, values in result.items():
        values["limit"] = limits[resource]
    return result


@db_api.writer
def set_limit(session: Session, project_id: str, resource: str, hard_limit: int) -> None:
    """Set a project's limit for one resource."""
    stmt = sa.select(models.Quota).where(
        models.Quota.project_id == project_id, models.Quota.resource == resource
    )
    row = session.scalars(stmt).first()
    if row is None:
        session.add(models.Quota(project_id=project_id, resource=resource, hard_limit=hard_limit))
    else:
        row.hard_limit = hard_limit


@db_api.reader
def reservation_ids_for(session: Session, volume_id: str) -> list[str]:
    """Ids of the open reservations made for one volume."""
    stmt = sa.select(models.Reservation.uuid).where(models.Reservation.volume_id == volume_id)
    return sorted(set(session.scalars(stmt)))


def rollback_for_volume(db: db_api.Database, volume_id: str) -> int:
    """Roll back every open reservation of a volume (a flow that died left them)."""
    return sum(1 for rid in reservation_ids_for(db, volume_id) if rollback(db, rid))
