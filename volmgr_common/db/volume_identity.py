"""The identity of the backend object a ``managing`` row holds.

A reference names an object; its identity says which object it is (a file's device
and inode, an LV's uuid), whatever names it has. The volume service records the
identity the driver found on the row before the driver renames anything
(:func:`record_identities`). ``identity_key`` (backend and identity, hashed) is
unique among the rows that hold one, so of two live requests that reach one
object by different names (a hard link, a rename race, ``source-name`` and
``source-id``) the second is refused with ManageExistingAlreadyManaged — the
database's unique key decides, even for concurrent transactions. A failed manage
frees its key (:func:`volume_transitions.fail_manage`), like the reference key.
"""

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db.volume_record import MANAGING


def identity_key(backend: str, identity: str) -> str:
    """A fixed-size key naming one object of one backend (``host@backend``, no pool)."""
    return hashlib.sha256(f"{backend}|{identity}".encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class IdentityClaim:
    """The identity a request found for the object it is about to rename."""

    volume_id: str
    backend: str
    identity: str
    # Where the object came from (volmgr_common.provenance), recorded with the identity.
    provenance: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return identity_key(self.backend, self.identity)


Refusal = exception.VolmgrException


def _refusal(
    row: sa.Row[str, str, str, str | None] | None, claim: IdentityClaim, holder: str | None
) -> Refusal | None:
    """Why ``claim`` may not be recorded on its row (None if it may)."""
    if row is None or row.status != MANAGING:
        status = row.status if row is not None else "gone"
        return exception.InvalidStatus(volume_id=claim.volume_id, status=status, expected=MANAGING)
    reference = json.loads(row.reference)
    if holder is not None and holder != claim.volume_id:
        return exception.ManageExistingAlreadyManaged(
            ref=reference, host=claim.backend, volume_id=holder
        )
    if row.backend_identity not in (None, claim.identity):
        return exception.ManageExistingInvalidReference(
            ref=reference,
            reason=f"the object is not the one an earlier run of this request recorded "
            f"({row.backend_identity}, now {claim.identity})",
        )
    return None


@db_api.writer
def _record(session: Session, claims: Sequence[IdentityClaim]) -> list[Refusal | None]:
    v = models.Volume
    keys = sorted({c.key for c in claims})
    holders: dict[str | None, str] = {
        key: volume_id
        for key, volume_id in session.execute(
            sa.select(v.identity_key, v.id).where(v.identity_key.in_(keys))
        )
    }
    rows = {
        row.id: row
        for row in session.execute(
            sa.select(v.id, v.status, v.reference, v.backend_identity)
            .where(v.id.in_(sorted({c.volume_id for c in claims})))
            .order_by(v.id)
            .with_for_update()
        )
    }
    jobs = _adoption_jobs_of(session, [c.volume_id for c in claims if c.provenance is not None])
    outcomes: list[Refusal | None] = []
    writes = []
    for claim in claims:
        refusal = _refusal(rows.get(claim.volume_id), claim, holders.get(claim.key))
        outcomes.append(refusal)
        if refusal is None and holders.get(claim.key) != claim.volume_id:
            holders[claim.key] = claim.volume_id
            writes.append(
                (
                    claim.volume_id,
                    {
                        "backend_identity": claim.identity,
                        "identity_key": claim.key,
                        "provenance": _with_job(claim.provenance, jobs.get(claim.volume_id)),
                    },
                )
            )
    rows_db.write_each(session, writes)
    return outcomes


def _adoption_jobs_of(session: Session, volume_ids: Sequence[str]) -> dict[str, str]:
    """The adoption job that asked for each of ``volume_ids`` (those a job asked for)."""
    if not volume_ids:
        return {}
    item = models.AdoptionJobItem
    return {
        str(volume_id): job_id
        for volume_id, job_id in session.execute(
            sa.select(item.volume_id, item.job_id)
            .join(models.AdoptionJob, models.AdoptionJob.id == item.job_id)
            .where(item.volume_id.in_(sorted(set(volume_ids))), models.AdoptionJob.kind == "adopt")
        )
    }


def _with_job(origin: dict[str, Any] | None, job_id: str | None) -> dict[str, Any] | None:
    if origin is None or job_id is None:
        return origin
    return dict(origin, adoption_job_id=job_id)


def record_identities(db: db_api.Database, claims: Sequence[IdentityClaim]) -> list[Refusal | None]:
    """Record each claim's identity (and provenance) on its ``managing`` row, in one
    transaction.

    For each in order: None when the row now holds the identity (or already held
    it: a resumed flow), else why not — ManageExistingAlreadyManaged when another
    live row (or one before it here) holds the same object, InvalidReference when
    an earlier run recorded another object, InvalidStatus when the row is no longer
    ``managing``. Should another transaction record the same identity meanwhile,
    the unique key refuses the batch and each claim is recorded alone, so that only
    the loser is refused.
    """
    try:
        return _record(db, claims)
    except exc.IntegrityError:
        if len(claims) > 1:
            return [record_identities(db, [claim])[0] for claim in claims]
        # The other transaction has committed: a second look finds its row.
        return _record(db, claims)
