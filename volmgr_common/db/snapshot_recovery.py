"""The recovery scans' queries for snapshots: rows left ``managing`` or ``unmanaging``.

A volume service resumes its backend's snapshot flows when it starts and then
periodically; the API records failures whose compensating message was lost. As for
volumes (:mod:`volmgr_common.db.volume_recovery`), a failing stage first notes its
reason on the row (:func:`record_failure`), so that the failure survives the loss
of its message.

API (stable): ``transitional(db, statuses, backend=None, still_for=None,
owned=None, failed=None, limit=1000) -> list[SnapshotRecoveryRow]``;
``record_failure(db, snapshot_id, reason, flow_owner=None, detail=None) -> bool``.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.snapshot_record import MANAGING, SnapshotRecoveryRow, to_record
from volmgr_common.db.snapshots import placed_on

S = models.Snapshot


def _last_change() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(S.updated_at, S.created_at)


@db_api.reader
def transitional(
    session: Session,
    statuses: tuple[str, ...],
    backend: str | Sequence[str] | None = None,
    still_for: float | None = None,
    owned: bool | None = None,
    failed: bool | None = None,
    limit: int = 1000,
) -> list[SnapshotRecoveryRow]:
    """Rows in ``statuses``, oldest change first: on ``backend`` (any of several
    names), unchanged for ``still_for`` seconds by the database's clock, claimed by a
    flow or not (``owned``), with a failure noted or not (``failed``). The members
    of a chain adopted with its volume (``chain_link``) are never among them: the
    volume's flow resumes them."""
    # A chain's members are their volume's flow's, resumed with it.
    stmt = sa.select(S, _last_change()).where(S.status.in_(statuses), S.chain_link.is_(None))
    if backend is not None:
        stmt = stmt.where(placed_on(backend))
    if still_for is not None:
        stmt = stmt.where(_last_change() < clock.utc_now(-still_for))
    if owned is not None:
        stmt = stmt.where(S.flow_owner.is_not(None) if owned else S.flow_owner.is_(None))
    if failed is not None:
        stmt = stmt.where(S.failure_reason.is_not(None) if failed else S.failure_reason.is_(None))
    rows = session.execute(stmt.order_by(_last_change()).limit(limit)).all()
    return [
        {**to_record(row), "flow_owner": row.flow_owner, "last_change": changed}
        for row, changed in rows
    ]


@db_api.writer
def record_failure(
    session: Session,
    snapshot_id: str,
    reason: str,
    flow_owner: str | None = None,
    detail: str | None = None,
) -> bool:
    """Note on a ``managing`` row why a stage failed (``detail``: a
    ``message_field.Detail`` id for the user message), while ``flow_owner`` (when
    given) still owns it."""
    owned = [] if flow_owner is None else [S.flow_owner == flow_owner]
    return rows_db.update_where(
        session,
        snapshot_id,
        S.status == MANAGING,
        *owned,
        model=S,
        failure_reason=reason,
        failure_detail=detail,
    )
