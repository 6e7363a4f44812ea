"""The identity of the backend object a ``managing`` snapshot row holds.

As for volumes (:mod:`volmgr_common.db.volume_identity`): the volume service records
the identity the driver found (an LV's uuid, an image's device and inode) on the row
before the driver renames anything, under the same key (backend and identity,
hashed). The key is unique among snapshot rows, and a key that a live volume row
holds is refused too, so one object is never held by two rows, volume or snapshot.
A failed manage frees its key (``snapshot_transitions.fail_manage``).

API (stable): ``record_identity(db, snapshot_id, backend, identity, token,
provenance=None) -> None``; raises ManageExistingAlreadyManaged,
ManageExistingInvalidReference (an earlier run recorded another object) or
FlowOwnershipLost.
"""

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db.snapshot_record import MANAGING
from volmgr_common.db.volume_identity import identity_key


def _holder(session: Session, key: str, snapshot_id: str) -> str | None:
    """Another live row (snapshot or volume) that holds the identity ``key``."""
    for model in (models.Snapshot, models.Volume):
        stmt = sa.select(model.id).where(model.identity_key == key, model.id != snapshot_id)
        found = session.scalars(stmt).first()
        if found is not None:
            return found
    return None


@db_api.writer
def _record(
    session: Session,
    snapshot_id: str,
    backend: str,
    identity: str,
    token: str,
    provenance: dict[str, Any] | None,
) -> None:
    row = rows_db.locked(session, snapshot_id, models.Snapshot)
    if row is None or row.status != MANAGING or row.flow_owner != token:
        raise exception.FlowOwnershipLost(volume_id=snapshot_id)
    reference = json.loads(row.reference)
    key = identity_key(backend, identity)
    holder = _holder(session, key, snapshot_id)
    if holder is not None:
        raise exception.ManageExistingAlreadyManaged(ref=reference, host=backend, volume_id=holder)
    if row.backend_identity not in (None, identity):
        raise exception.ManageExistingInvalidReference(
            ref=reference,
            reason=f"the object is not the one an earlier run of this request recorded "
            f"({row.backend_identity}, now {identity})",
        )
    row.backend_identity = identity
    row.identity_key = key
    if row.provenance is None:
        row.provenance = provenance


def record_identity(
    db: db_api.Database,
    snapshot_id: str,
    backend: str,
    identity: str,
    token: str,
    provenance: dict[str, Any] | None = None,
) -> None:
    """Record the object's identity (and provenance) on the ``managing`` row owned by
    ``token``, once; a second request that reaches the same object is refused. Should
    another transaction record the same identity meanwhile, the unique key refuses
    this one and a second look names the winner."""
    try:
        _record(db, snapshot_id, backend, identity, token, provenance)
    except exc.IntegrityError:
        _record(db, snapshot_id, backend, identity, token, provenance)
