"""Quota drift: compare usage rows with the truth, and repair them.

The truth is what the volume rows hold (``quota_volumes``, ``quota_gigabytes``, per
project and volume type), what the snapshot rows hold (``quota_snapshots``,
``quota_gigabytes``, per project and their volume's type) and what open
reservations hold. ``volmgr-manage quota
check`` reports every difference; ``volmgr-manage quota sync`` rewrites the usage
rows to the truth, under the same row locks the quota engine takes.
"""

import dataclasses
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import api as db_api
from volmgr_common.db import models, quota

Key = tuple[str, str]  # (project_id, resource)


@dataclasses.dataclass(frozen=True)
class Drift:
    """One usage row that differs from the truth."""

    project_id: str
    resource: str
    in_use: int
    true_in_use: int
    reserved: int
    true_reserved: int

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _true_in_use(session: Session) -> dict[Key, int]:
    truth: dict[Key, int] = defaultdict(int)
    stmt = sa.select(
        models.Volume.project_id,
        models.VolumeType.name,
        models.Volume.quota_volumes,
        models.Volume.quota_gigabytes,
    ).join(models.VolumeType, models.Volume.volume_type_id == models.VolumeType.id)
    for project_id, type_name, holds_volume, gigabytes in session.execute(stmt):
        deltas = quota.volume_deltas(
            type_name, volumes=int(bool(holds_volume)), gigabytes=gigabytes or 0
        )
        for resource, delta in deltas.items():
            truth[(project_id, resource)] += delta
    snapshots = sa.select(
        models.Snapshot.project_id,
        models.VolumeType.name,
        models.Snapshot.quota_snapshots,
        models.Snapshot.quota_gigabytes,
    ).outerjoin(models.VolumeType, models.Snapshot.volume_type_id == models.VolumeType.id)
    for project_id, type_name, holds_snapshot, gigabytes in session.execute(snapshots):
        deltas = quota.snapshot_deltas(
            type_name, snapshots=int(bool(holds_snapshot)), gigabytes=gigabytes or 0
        )
        for resource, delta in deltas.items():
            truth[(project_id, resource)] += delta
    return truth


def _true_reserved(session: Session) -> dict[Key, int]:
    truth: dict[Key, int] = defaultdict(int)
    stmt = sa.select(
        models.Reservation.project_id,
        models.Reservation.resource,
        sa.func.sum(models.Reservation.delta),
    ).group_by(models.Reservation.project_id, models.Reservation.resource)
    for project_id, resource, total in session.execute(stmt):
        truth[(project_id, resource)] = int(total or 0)
    return truth


def _drifts(session: Session, lock: bool) -> tuple[list[Drift], dict[Key, models.QuotaUsage]]:
    in_use, reserved = _true_in_use(session), _true_reserved(session)
    stmt = sa.select(models.QuotaUsage).order_by(
        models.QuotaUsage.project_id, models.QuotaUsage.resource
    )
    usages = {
        (u.project_id, u.resource): u
        for u in session.scalars(stmt.with_for_update() if lock else stmt)
    }
    drifts = []
    for key in sorted(set(usages) | set(in_use) | set(reserved)):
        row = usages.get(key)
        have = (row.in_use, row.reserved) if row else (0, 0)
        want = (in_use.get(key, 0), reserved.get(key, 0))
        if have != want:
            drifts.append(Drift(key[0], key[1], have[0], want[0], have[1], want[1]))
    return drifts, usages


@db_api.reader
def check(session: Session) -> list[Drift]:
    """Every usage that differs from the truth (empty: no drift)."""
    return _drifts(session, lock=False)[0]


@db_api.writer
def sync(session: Session) -> list[Drift]:
    """Rewrite drifted usage rows to the truth; returns what was repaired."""
    drifts, usages = _drifts(session, lock=True)
    for drift in drifts:
        row = usages.get((drift.project_id, drift.resource))
        if row is None:
            row = models.QuotaUsage(project_id=drift.project_id, resource=drift.resource)
            session.add(row)
        row.in_use = drift.true_in_use
        row.reserved = drift.true_reserved
    return drifts
