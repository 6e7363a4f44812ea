"""The snapshot rows of a chain adopted with its volume, while the volume is ``managing``.

A chain adoption (a volume row with ``with_snapshots``) records one snapshot row per
member of the chain before anything is renamed: :func:`record_members` writes them
in one transaction that locks the volume row (still ``managing`` under the flow's
token), refuses a member that a live volume or snapshot row already holds (by
reference or by identity), and charges ``snapshots`` and their gigabytes (per type
too; gigabytes unless ``[quota] no_snapshot_gb_quota``) for all of them at once, or
refuses them all with OverQuota. Each row carries its ``chain_link``: its position
and the backing reference its header held, which is what a put-back writes back.
The rows are owned by the volume's flow (they carry its token); the snapshot
recovery scans leave them alone, and a resumed volume flow takes them over
(:func:`record_members` again returns the rows an earlier run wrote, now under the
new token).

:func:`finish` makes the volume and every member ``available`` in one transaction;
:func:`fail_members` marks every member still ``managing`` ``error_managing`` with
the reason (their quota released, keys freed, a user message each), as
``snapshot_transitions.fail_manage`` does for a single snapshot.

API (stable): ``record_members(db, volume_id, token, members, limits,
count_gigabytes) -> list[ChainRow]``; ``rows_of(db, volume_id) -> list[ChainRow]``;
``finish(db, volume_id, token, volume_location, snapshot_locations) -> bool``;
``fail_members(db, volume_id, reason, request_id) -> list[SnapshotRecord]``.
"""

import dataclasses
import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota, snapshot_transitions
from volmgr_common.db.snapshot_creation import backend_of
from volmgr_common.db.snapshot_record import (
    AVAILABLE,
    COLUMNS,
    MANAGING,
    SnapshotRecord,
    as_record,
    to_record,
)
from volmgr_common.db.volume_creation import reference_key
from volmgr_common.db.volume_identity import identity_key

S = models.Snapshot
V = models.Volume


@dataclasses.dataclass(frozen=True)
class NewMember:
    """One member of a chain as the driver described it, to record as a snapshot."""

    name: str
    identity: str
    size_gib: int
    backing: str | None = None
    backing_format: str | None = None
    provenance: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class ChainRow:
    """A recorded member: its snapshot record and what the chain flow recorded of it."""

    snapshot: SnapshotRecord
    name: str
    identity: str
    position: int
    backing: str | None
    backing_format: str | None


def _chain_row(row: models.Snapshot) -> ChainRow:
    link = row.chain_link or {}
    return ChainRow(
        to_record(row),
        json.loads(row.reference)["source-name"],
        row.backend_identity or "",
        int(link.get("position", 0)),
        link.get("backing"),
        link.get("backing_format"),
    )


def _members_of(session: Session, volume_id: str) -> list[models.Snapshot]:
    stmt = sa.select(S).where(S.volume_id == volume_id, S.chain_link.is_not(None))
    rows = list(session.scalars(stmt.with_for_update()))
    return sorted(rows, key=lambda row: int((row.chain_link or {}).get("position", 0)))


def _owned_volume(session: Session, volume_id: str, token: str) -> models.Volume:
    volume = rows_db.locked(session, volume_id)
    if volume is None or volume.status != MANAGING or volume.flow_owner != token:
        raise exception.FlowOwnershipLost(volume_id=volume_id)
    return volume


def _holder(session: Session, column: str, key: str) -> str | None:
    for model in (S, V):
        found = session.scalars(sa.select(model.id).where(getattr(model, column) == key)).first()
        if found is not None:
            return found
    return None


def _refuse_held(session: Session, backend: str, member: NewMember, ref: dict[str, Any]) -> None:
    for column, key in (
        ("reference_key", reference_key(backend, ref)),
        ("identity_key", identity_key(backend, member.identity)),
    ):
        holder = _holder(session, column, key)
        if holder is not None:
            raise exception.ManageExistingAlreadyManaged(ref=ref, host=backend, volume_id=holder)


@db_api.writer
def record_members(
    session: Session,
    volume_id: str,
    token: str,
    members: Sequence[NewMember],
    limits: quota.DefaultLimits,
    count_gigabytes: bool,
) -> list[ChainRow]:
    """The chain's snapshot rows, written now (``managing``, under ``token``, quota
    charged) or, when an earlier run of this request wrote them, taken over by
    ``token``. Raises FlowOwnershipLost, ManageExistingAlreadyManaged or OverQuota
    (nothing written)."""
    volume = _owned_volume(session, volume_id, token)
    earlier = _members_of(session, volume_id)
    if earlier:
        for row in earlier:
            if row.status == MANAGING:
                row.flow_owner = token
        session.flush()
        return [_chain_row(row) for row in earlier]
    backend = backend_of(volume.host)
    type_name = volume.volume_type.name if volume.volume_type else None
    gigabytes = sum(m.size_gib for m in members) if count_gigabytes else 0
    if members:
        deltas = quota.snapshot_deltas(type_name, len(members), gigabytes)
        quota.charge_in(session, volume.project_id, deltas, limits)
    now = clock.now(session)
    written = []
    for position, member in enumerate(members):
        ref = {"source-name": member.name}
        _refuse_held(session, backend, member, ref)
        columns: dict[str, Any] = {name: None for name in COLUMNS}
        columns.update(
            id=str(uuid.uuid4()),
            volume_id=volume.id,
            project_id=volume.project_id,
            user_id=volume.user_id,
            status=MANAGING,
            host=volume.host,
            volume_type_id=volume.volume_type_id,
            volume_size=member.size_gib,
            progress="0%",
            reference=json.dumps(ref),
            reference_key=reference_key(backend, ref),
            backend_identity=member.identity,
            identity_key=identity_key(backend, member.identity),
            provenance=member.provenance,
            quota_snapshots=True,
            quota_gigabytes=member.size_gib if count_gigabytes else 0,
            request_id=volume.request_id,
            flow_owner=token,
            chain_link={
                "position": position,
                "backing": member.backing,
                "backing_format": member.backing_format,
            },
            created_at=now,
        )
        session.execute(sa.insert(models.table_of(S)), [columns])
        record = as_record(columns, {})
        written.append(
            ChainRow(
                record,
                member.name,
                member.identity,
                position,
                member.backing,
                member.backing_format,
            )
        )
    return written


@db_api.reader
def rows_of(session: Session, volume_id: str) -> list[ChainRow]:
    """The chain rows of a volume (any status), in chain order."""
    stmt = sa.select(S).where(S.volume_id == volume_id, S.chain_link.is_not(None))
    rows = sorted(
        session.scalars(stmt), key=lambda row: int((row.chain_link or {}).get("position", 0))
    )
    return [_chain_row(row) for row in rows]


@db_api.writer
def finish(
    session: Session,
    volume_id: str,
    token: str,
    volume_location: str,
    snapshot_locations: Sequence[tuple[str, str]],
) -> bool:
    """The volume and each ``(snapshot_id, location)`` ``managing`` under ``token`` →
    ``available`` together; False (nothing changed) when the volume is not the flow's."""
    try:
        _owned_volume(session, volume_id, token)
    except exception.FlowOwnershipLost:
        return False
    for snapshot_id, location in snapshot_locations:
        if not snapshot_transitions.finish_in(session, snapshot_id, token, location):
            raise exception.FlowOwnershipLost(volume_id=snapshot_id)
    return rows_db.update_where(
        session,
        volume_id,
        V.status == MANAGING,
        V.flow_owner == token,
        status=AVAILABLE,
        provider_location=volume_location,
        launched_at=clock.utc_now(),
        flow_owner=None,
    )


def fail_members(
    db: db_api.Database, volume_id: str, reason: str, request_id: str | None
) -> list[SnapshotRecord]:
    """Every chain row of the volume still ``managing`` → ``error_managing`` with
    ``reason`` (quota released, keys freed, a user message each); the rows failed now.
    Twice equals once."""
    failed = []
    for member in rows_of(db, volume_id):
        if member.snapshot["status"] != MANAGING:
            continue
        record = snapshot_transitions.fail_manage(db, member.snapshot["id"], reason, request_id)
        if record is not None:
            failed.append(record)
    return failed
