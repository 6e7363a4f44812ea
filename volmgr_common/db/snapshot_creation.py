"""Creating ``managing`` snapshot rows together with the snapshot of quota each holds.

One transaction locks the parent volume's row, checks that the snapshot may be
taken on it (the volume exists, is the caller's and is ``available``), refuses a
reference that a live volume or snapshot row already holds on the same backend
(the key is :func:`volume_creation.reference_key`, one namespace for both), charges
``snapshots`` (and ``snapshots_<type>``) and writes the row and its metadata. The
unique reference key decides between two concurrent snapshot requests. The API's
revert removes a row it created (:func:`destroy_managing`).

API (stable): ``create_managing(db, NewSnapshot, limits) -> SnapshotRecord`` (raises
VolumeNotFound, InvalidVolume, ManageExistingAlreadyManaged, OverQuota);
``destroy_managing(db, snapshot_id) -> bool``.
"""

import dataclasses
import json
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota, snapshot_transitions, snapshots, volumes
from volmgr_common.db.snapshot_record import COLUMNS, MANAGING, SnapshotRecord, as_record
from volmgr_common.db.volume_creation import reference_key
from volmgr_common.db.volume_record import AVAILABLE


@dataclasses.dataclass(frozen=True)
class NewSnapshot:
    """A snapshot to manage: of ``volume_id``, in ``project_id`` (None: an admin's
    request for any project's volume; the row takes the volume's project)."""

    volume_id: str
    project_id: str | None
    user_id: str | None
    reference: Mapping[str, Any]
    name: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    request_id: str | None = None
    id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))


def backend_of(host: str) -> str:
    """``host@backend`` of a ``host@backend#pool``."""
    return host.partition("#")[0]


def _holder(session: Session, key: str) -> str | None:
    """The live volume or snapshot row that holds the reference ``key``, if any."""
    for model in (models.Snapshot, models.Volume):
        found = session.scalars(sa.select(model.id).where(model.reference_key == key)).first()
        if found is not None:
            return found
    return None


def _parent(session: Session, new: NewSnapshot) -> models.Volume:
    volume = rows_db.locked(session, new.volume_id)
    if volume is None or (new.project_id is not None and volume.project_id != new.project_id):
        raise exception.VolumeNotFound(volume_id=new.volume_id[:40])
    if volume.status != AVAILABLE:
        raise exception.InvalidVolume(
            reason=f"volume {volume.id} is {volume.status}; a snapshot can be managed only "
            f"on an available volume"
        )
    return volume


@db_api.writer
def _insert(session: Session, new: NewSnapshot, limits: quota.DefaultLimits) -> SnapshotRecord:
    volume = _parent(session, new)
    key = reference_key(backend_of(volume.host), new.reference)
    holder = _holder(session, key)
    if holder is not None:
        raise exception.ManageExistingAlreadyManaged(
            ref=dict(new.reference), host=backend_of(volume.host), volume_id=holder
        )
    type_name = volume.volume_type.name if volume.volume_type else None
    quota.charge_in(session, volume.project_id, quota.snapshot_deltas(type_name, 1), limits)
    columns: dict[str, Any] = {name: None for name in COLUMNS}
    columns.update(
        id=new.id,
        volume_id=volume.id,
        project_id=volume.project_id,
        user_id=new.user_id,
        display_name=new.name,
        display_description=new.description,
        status=MANAGING,
        host=volume.host,
        volume_type_id=volume.volume_type_id,
        progress="0%",
        reference=json.dumps(dict(new.reference)),
        reference_key=key,
        quota_snapshots=True,
        quota_gigabytes=0,
        request_id=new.request_id,
        created_at=clock.now(session),
    )
    session.execute(sa.insert(models.table_of(models.Snapshot)), [columns])
    if new.metadata:
        session.execute(
            sa.insert(models.table_of(models.SnapshotMetadata)),
            [{"snapshot_id": new.id, "key": k, "value": v} for k, v in new.metadata.items()],
        )
    return as_record(columns, new.metadata)


@db_api.reader
def _holder_of(session: Session, key: str) -> str | None:
    return _holder(session, key)


def create_managing(
    db: db_api.Database, new: NewSnapshot, limits: quota.DefaultLimits
) -> SnapshotRecord:
    """Insert a ``managing`` snapshot row that holds one snapshot of quota.

    Should another transaction write the same reference meanwhile, the unique key
    refuses this one: ManageExistingAlreadyManaged naming the winner (or this very
    row, when an earlier attempt committed and only its answer was lost: then the
    row is returned).
    """
    try:
        return _insert(db, new, limits)
    except exc.IntegrityError:
        try:
            return snapshots.get(db, new.id)  # an earlier attempt's row: its answer was lost
        except exception.SnapshotNotFound:
            host = backend_of(volumes.get(db, new.volume_id)["host"])
        raise exception.ManageExistingAlreadyManaged(
            ref=dict(new.reference),
            host=host,
            volume_id=_holder_of(db, reference_key(host, new.reference)),
        ) from None


def destroy_managing(db: db_api.Database, snapshot_id: str) -> bool:
    """Remove a row still ``managing`` that no flow has claimed, and give back its quota
    (the API's revert when its cast could not be sent)."""
    return snapshot_transitions.remove_if(db, snapshot_id, MANAGING, unclaimed=True)
