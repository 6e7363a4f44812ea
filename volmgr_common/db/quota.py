"""Quota: limits, usage rows, and charging or releasing usage under the rows' locks.

Resources are ``volumes``, ``snapshots`` and ``gigabytes`` and, per volume type,
``volumes_<type>``, ``snapshots_<type>`` and ``gigabytes_<type>``, as Cinder counts
them: a snapshot's gigabytes count in ``gigabytes`` unless ``[quota]
no_snapshot_gb_quota`` is set (its row records what it holds, so that releasing it
gives back exactly that). Usage rows are locked (``SELECT ...
FOR UPDATE`` on PostgreSQL and MySQL; SQLite serializes writers) in a fixed order
so that concurrent requests never deadlock each other. Functions named ``*_in``
work inside a caller's transaction, so that a usage change and the volume column
that records it commit together; :mod:`volmgr_common.db.reservations` builds the
reservations on the same locked rows (:func:`lock_usages`, :func:`add_in_order`).
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models

VOLUMES = "volumes"
SNAPSHOTS = "snapshots"
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


def snapshot_deltas(
    volume_type_name: str | None, snapshots: int = 0, gigabytes: int = 0
) -> dict[str, int]:
    """The deltas one snapshot of a volume of ``volume_type_name`` changes (global and,
    when the type is known, per type)."""
    deltas: dict[str, int] = {}
    for resource, delta in ((SNAPSHOTS, snapshots), (GIGABYTES, gigabytes)):
        if delta:
            deltas[resource] = delta
            if volume_type_name is not None:
                deltas[f"{resource}_{volume_type_name}"] = delta
    return deltas


@dataclasses.dataclass(frozen=True)
class DefaultLimits:
    """Limits that apply where the quotas table has no row for a project."""

    volumes: int
    gigabytes: int
    per_type: int
    reservation_expire: int
    snapshots: int = UNLIMITED

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> "DefaultLimits":
        q = conf.quota
        return cls(q.volumes, q.gigabytes, q.per_type_default, q.reservation_expire, q.snapshots)

    def for_resource(self, resource: str) -> int:
        if resource == VOLUMES:
            return self.volumes
        if resource == SNAPSHOTS:
            return self.snapshots
        if resource == GIGABYTES:
            return self.gigabytes
        return self.per_type


@dataclasses.dataclass(slots=True)
class Usage:
    """One usage row as read under its lock; written back by :func:`save_usages`."""

    in_use: int
    reserved: int


UsageKey = tuple[str, str]
"""``(project_id, resource)``: the key of one usage row."""

_USAGES = models.table_of(models.QuotaUsage)
_SAVE_USAGE = (
    sa.update(_USAGES)
    .where(
        _USAGES.c.project_id == sa.bindparam("b_project_id"),
        _USAGES.c.resource == sa.bindparam("b_resource"),
    )
    .values(in_use=sa.bindparam("b_in_use"), reserved=sa.bindparam("b_reserved"))
)


def by_project(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, set[str]]:
    """``{project_id: resources}`` from ``(project_id, resources)`` pairs."""
    wanted: dict[str, set[str]] = {}
    for project_id, resources in pairs:
        wanted.setdefault(project_id, set()).update(resources)
    return wanted


def lock_usages(session: Session, wanted: Mapping[str, Iterable[str]]) -> dict[UsageKey, Usage]:
    """The usage rows of each project's resources, locked (created at zero where missing).

    One statement for every project: rows are locked in ``(project, resource)``
    order, the same order in every transaction, so that two never deadlock.
    """
    projects = sorted(wanted)
    resources = sorted({resource for names in wanted.values() for resource in names})
    stmt = (
        sa.select(_USAGES.c.project_id, _USAGES.c.resource, _USAGES.c.in_use, _USAGES.c.reserved)
        .where(_USAGES.c.project_id.in_(projects), _USAGES.c.resource.in_(resources))
        .order_by(_USAGES.c.project_id, _USAGES.c.resource)
        .with_for_update()
    )
    usages = {
        (project_id, resource): Usage(in_use, reserved)
        for project_id, resource, in_use, reserved in session.execute(stmt)
    }
    missing = [
        (project_id, resource)
        for project_id in projects
        for resource in sorted(set(wanted[project_id]))
        if (project_id, resource) not in usages
    ]
    if missing:
        rows = [
            {"project_id": project_id, "resource": resource, "in_use": 0, "reserved": 0}
            for project_id, resource in missing
        ]
        try:
            session.execute(sa.insert(_USAGES), rows)
        except exc.IntegrityError as error:
            raise db_api.RetryTransaction("concurrent quota usage insert") from error
        usages.update((key, Usage(0, 0)) for key in missing)
    return usages


def save_usages(session: Session, usages: Mapping[UsageKey, Usage]) -> None:
    """Write locked usage rows back (one statement, executed for each row)."""
    if not usages:
        return
    session.execute(
        _SAVE_USAGE,
        [
            {
                "b_project_id": project_id,
                "b_resource": resource,
                "b_in_use": usage.in_use,
                "b_reserved": usage.reserved,
            }
            for (project_id, resource), usage in sorted(usages.items())
        ],
    )


def _limits(
    session: Session, wanted: Mapping[str, Iterable[str]], defaults: DefaultLimits
) -> dict[UsageKey, int]:
    """The hard limit of each project's resources: its quotas row, else the default."""
    resources = sorted({resource for names in wanted.values() for resource in names})
    stmt = sa.select(models.Quota.project_id, models.Quota.resource, models.Quota.hard_limit).where(
        models.Quota.project_id.in_(sorted(wanted)), models.Quota.resource.in_(resources)
    )
    limits = {
        (project_id, resource): defaults.for_resource(resource)
        for project_id, names in wanted.items()
        for resource in names
    }
    limits.update(
        ((project_id, resource), hard_limit)
        for project_id, resource, hard_limit in session.execute(stmt)
    )
    return limits


def _check_limits(
    project_id: str,
    deltas: Mapping[str, int],
    usages: Mapping[UsageKey, Usage],
    limits: Mapping[UsageKey, int],
) -> None:
    for resource, delta in sorted(deltas.items()):
        limit = limits[project_id, resource]
        usage = usages[project_id, resource]
        if delta > 0 and limit != UNLIMITED and usage.in_use + usage.reserved + delta > limit:
            raise exception.OverQuota(
                project_id=project_id,
                resource=resource,
                requested=delta,
                limit=limit,
                in_use=usage.in_use,
                reserved=usage.reserved,
            )


Ask = tuple[str, Mapping[str, int]]
"""``(project_id, deltas)``: what one caller asks to add to its project's usage."""


def add_in_order(
    session: Session, asks: Sequence[Ask | None], defaults: DefaultLimits, in_use: bool
) -> list[exception.OverQuota | None]:
    """Check each ask against its limits, counting those before it, and add it if it fits.

    Adds to in-use (``in_use``) or to reserved. For each ask in order: None if it
    was added (or is None itself), or the OverQuota it met — exactly as if each had
    been a transaction of its own, in that order.
    """
    wanted = by_project(ask for ask in asks if ask is not None)
    if not wanted:
        return [None] * len(asks)
    usages = lock_usages(session, wanted)
    limits = _limits(session, wanted, defaults)
    outcomes: list[exception.OverQuota | None] = []
    for ask in asks:
        outcomes.append(None)
        if ask is None:
            continue
        project_id, deltas = ask
        try:
            _check_limits(project_id, deltas, usages, limits)
        except exception.OverQuota as over:
            outcomes[-1] = over
            continue
        for resource, delta in deltas.items():
            usage = usages[project_id, resource]
            if in_use:
                usage.in_use += delta
            else:
                usage.reserved += delta
    save_usages(session, usages)
    return outcomes


def charge_many_in(
    session: Session, asks: Sequence[Ask | None], defaults: DefaultLimits
) -> list[exception.OverQuota | None]:
    """Add each ask's deltas to in-use where it fits its limits (see :func:`add_in_order`)."""
    return add_in_order(session, asks, defaults, in_use=True)


def charge_in(
    session: Session, project_id: str, deltas: Mapping[str, int], defaults: DefaultLimits
) -> None:
    """Add ``deltas`` to in-use after checking the limits (raises OverQuota)."""
    (over,) = charge_many_in(session, [(project_id, deltas)], defaults)
    if over is not None:
        raise over


def release_in(session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
    """Take ``deltas`` (positive amounts) back out of in-use."""
    usages = lock_usages(session, {project_id: list(deltas)})
    for resource, delta in deltas.items():
        usage = usages[project_id, resource]
        usage.in_use = max(0, usage.in_use - delta)
    save_usages(session, usages)


@db_api.reader
def usage(session: Session, project_id: str, defaults: DefaultLimits) -> dict[str, dict[str, int]]:
    """``{resource: {"in_use", "reserved", "limit"}}`` of a project.

    The global resources (volumes, snapshots, gigabytes), those of every volume type
    (as Cinder lists them, at zero where unused), and any other resource the project
    has a usage row for.
    """
    rows = session.scalars(
        sa.select(models.QuotaUsage).where(models.QuotaUsage.project_id == project_id)
    )
    result = {u.resource: {"in_use": u.in_use, "reserved": u.reserved} for u in rows}
    type_names = session.scalars(sa.select(models.VolumeType.name))
    for resource in resource_names(type_names):
        result.setdefault(resource, {"in_use": 0, "reserved": 0})
    limits = _limits(session, {project_id: list(result)}, defaults)
    for resource, values in result.items():
        values["limit"] = limits[project_id, resource]
    return result


def resource_names(type_names: Iterable[str]) -> list[str]:
    """The resources a project's quota counts, given the names of the volume types:
    volumes, snapshots and gigabytes, globally and per type."""
    resources = [VOLUMES, SNAPSHOTS, GIGABYTES]
    for name in type_names:
        resources += [f"{VOLUMES}_{name}", f"{SNAPSHOTS}_{name}", f"{GIGABYTES}_{name}"]
    return resources


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
