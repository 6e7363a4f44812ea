"""Creating ``managing`` rows together with the volume of quota each one holds.

A row and its charge commit in one transaction; the database's unique key on the
backend reference decides which of two concurrent requests for one object wins.
The API's revert removes a row it created (:func:`destroy_managing`).
"""

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models, quota, volumes
from volmgr_common.db.volume_record import COLUMNS, MANAGING, VolumeRecord, as_record


def reference_key(backend: str, reference: Mapping[str, Any]) -> str:
    """A fixed-size key naming one object on one backend (pool excluded)."""
    canonical = json.dumps(dict(reference), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{backend}|{canonical}".encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class NewVolume:
    """A ``managing`` row to write: its column values, metadata and type name."""

    values: dict[str, Any]
    metadata: Mapping[str, str]
    type_name: str


class _OwnRow:
    """The row an earlier attempt of the same insert committed (its answer was lost)."""


_OWN_ROW = _OwnRow()
Written = VolumeRecord | exception.VolmgrException

AlongWith = Callable[
    [Session, Sequence[NewVolume], Sequence[exception.VolmgrException | None]], None
]
"""Work done in the transaction that writes the rows: given each new volume and its
refusal (None: its row is written), e.g. an adoption job's items marked ``managing``."""


@db_api.writer
def _insert_charged(
    session: Session,
    new: Sequence[NewVolume],
    limits: quota.DefaultLimits,
    along_with: AlongWith | None = None,
) -> list[Written | _OwnRow]:
    keys = sorted({n.values["reference_key"] for n in new})
    holders: dict[str | None, str] = {
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
    now = clock.now(session)  # the database's clock: recovery scans compare it
    for n, holder, over in zip(new, taken, charged, strict=True):
        if holder == n.values["id"]:
            outcomes.append(_OWN_ROW)
        elif holder is not None:
            outcomes.append(_already_managed(n.values, holder))
        elif over is not None:
            outcomes.append(over)
        else:
            # Every column is given, so the new row is known without reading it back.
            columns: dict[str, Any] = {name: None for name in COLUMNS}
            columns.update(bootable=False, with_snapshots=False, created_at=now)
            columns.update(n.values, quota_volumes=True, quota_gigabytes=0)
            rows.append(columns)
            metadata_rows.extend(
                {"volume_id": columns["id"], "key": k, "value": v} for k, v in n.metadata.items()
            )
            outcomes.append(as_record(columns, n.type_name, n.metadata))
    if rows:
        session.execute(sa.insert(models.table_of(models.Volume)), rows)
    if metadata_rows:
        session.execute(sa.insert(models.table_of(models.VolumeMetadata)), metadata_rows)
    if along_with is not None:
        along_with(
            session,
            new,
            [o if isinstance(o, exception.VolmgrException) else None for o in outcomes],
        )
    return outcomes


def _already_managed(values: dict[str, Any], holder: str | None) -> exception.VolmgrException:
    return exception.ManageExistingAlreadyManaged(
        ref=values["reference"], host=values["host"], volume_id=holder
    )


@db_api.writer
def _along_alone(
    session: Session, along_with: AlongWith, new: NewVolume, refused: exception.VolmgrException
) -> None:
    along_with(session, [new], [refused])


@db_api.reader
def _holder_of(session: Session, key: str) -> str | None:
    return session.scalars(
        sa.select(models.Volume.id).where(models.Volume.reference_key == key)
    ).first()


def create_managing_many(
    db: db_api.Database,
    new: Sequence[NewVolume],
    limits: quota.DefaultLimits,
    along_with: AlongWith | None = None,
) -> list[Written]:
    """Insert ``managing`` rows that each hold one volume of quota, in one transaction.

    For each in order: the new volume, OverQuota, or ManageExistingAlreadyManaged
    when a live row (or one before it here) already holds the same backend
    reference. Should another transaction write the same reference meanwhile, the
    unique key refuses the batch and each row is written alone, so that only the
    loser is refused. ``along_with`` runs in each transaction that writes rows.
    """
    new = [
        dataclasses.replace(
            n, values=dict(n.values, id=n.values.get("id") or str(uuid.uuid4()), status=MANAGING)
        )
        for n in new
    ]
    outcomes: list[Written | _OwnRow]
    try:
        outcomes = _insert_charged(db, new, limits, along_with)
    except exc.IntegrityError:
        if len(new) > 1:
            return [create_managing_many(db, [n], limits, along_with)[0] for n in new]
        holder = _holder_of(db, new[0].values["reference_key"])
        if holder != new[0].values["id"]:
            refused = _already_managed(new[0].values, holder)
            if along_with is not None:
                _along_alone(db, along_with, new[0], refused)
            return [refused]
        outcomes = [_OWN_ROW]
    # _OWN_ROW: an earlier attempt committed, but its connection was lost before the
    # answer came back; the retry met its own row.
    return [
        volumes.get(db, n.values["id"]) if isinstance(o, _OwnRow) else o
        for n, o in zip(new, outcomes, strict=True)
    ]


def create_managing(
    db: db_api.Database,
    values: dict[str, Any],
    metadata: Mapping[str, str],
    limits: quota.DefaultLimits,
    type_name: str,
) -> VolumeRecord:
    """Insert one ``managing`` row (see :func:`create_managing_many`); raises its error."""
    (outcome,) = create_managing_many(db, [NewVolume(values, metadata, type_name)], limits)
    if isinstance(outcome, exception.VolmgrException):
        raise outcome
    return outcome


@db_api.writer
def destroy_managing(session: Session, volume_id: str) -> bool:
    """Remove a row still ``managing`` and not placed, and give back the quota it held
    (API revert). A row a scheduler placed is on its way (its cast went through after
    all): it is left to finish."""
    row = rows_db.locked(session, volume_id)
    if row is None or row.status != MANAGING or row.scheduled_at is not None:
        return False
    rows_db.release_all_in(session, row)
    session.delete(row)
    return True
