"""Who works on a ``managing`` snapshot row: the flow that owns it, fenced.

The same fence as volumes (:mod:`volmgr_common.db.volume_ownership`, whose tokens
these are): a claim writes a fresh token into ``flow_owner``; every step that
changes the backend runs inside :func:`fenced`, one transaction that locks the row
only while it is still ``managing`` under that token; a claim left unrenewed for
``[recovery] stale_after`` seconds may be taken over (:func:`take_over_flow`).

API (stable): ``claim_flow(db, snapshot_id, instance_id) -> ClaimedSnapshot | None``;
``fenced(db, snapshot_id, token, step, record) -> T``; ``renew_claims(db, tokens) ->
int``; ``take_over_flow(db, snapshot_id, stale_owner, still_for) -> bool``.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.snapshot_record import MANAGING, ClaimedSnapshot, to_record
from volmgr_common.db.volume_ownership import new_token

T = TypeVar("T")
S = models.Snapshot


def _last_change() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(S.updated_at, S.created_at)


def _managing_under(snapshot_id: str, token: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (S.id == snapshot_id, S.status == MANAGING, S.flow_owner == token)


@db_api.writer
def claim_flow(session: Session, snapshot_id: str, instance_id: str) -> ClaimedSnapshot | None:
    """Take the ``managing`` row if no flow owns it; None if absent, done or owned."""
    row = rows_db.locked(session, snapshot_id, S)
    if row is None or row.status != MANAGING or row.flow_owner is not None:
        return None
    token = new_token(instance_id)
    row.flow_owner = token
    row.updated_at = clock.utc_now()
    session.flush()
    return {**to_record(row), "flow_owner": token, "held_gigabytes": row.quota_gigabytes}


@db_api.writer
def fenced(
    session: Session,
    snapshot_id: str,
    token: str,
    step: Callable[[], T],
    record: Callable[[T], Mapping[str, Any]],
) -> T:
    """Run ``step`` only while the row is ``managing`` under ``token``; write
    ``record(result)`` on it in the same transaction. Raises FlowOwnershipLost,
    without running ``step``, when the row is gone, decided or owned by another."""
    owned = session.execute(
        sa.select(S.id).where(*_managing_under(snapshot_id, token)).with_for_update()
    ).first()
    if owned is None:
        raise exception.FlowOwnershipLost(volume_id=snapshot_id)
    result = step()
    rows_db.update_where(session, snapshot_id, model=S, **record(result))
    return result


@db_api.writer
def renew_claims(session: Session, tokens: Sequence[str]) -> int:
    """Mark the ``managing`` rows owned under ``tokens`` as changed now; how many."""
    ids = list(
        session.scalars(
            sa.select(S.id)
            .where(S.status == MANAGING, S.flow_owner.in_(sorted(set(tokens))))
            .where(S.failure_reason.is_(None))
            .order_by(S.id)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            sa.update(S)
            .where(S.id.in_(ids))
            .values(updated_at=clock.utc_now())
            .execution_options(synchronize_session=False)
        )
    return len(ids)


@db_api.writer
def take_over_flow(session: Session, snapshot_id: str, stale_owner: str, still_for: float) -> bool:
    """Free a ``managing`` row whose claim ``stale_owner`` went unrenewed for
    ``still_for`` seconds (by the database's clock); a row whose fenced step is in
    progress is skipped, not waited for."""
    stale = session.execute(
        sa.select(S.id)
        .where(
            *_managing_under(snapshot_id, stale_owner), _last_change() < clock.utc_now(-still_for)
        )
        .with_for_update(skip_locked=True)
    ).first()
    if stale is None:
        return False
    return rows_db.update_where(session, snapshot_id, model=S, flow_owner=None)
