"""The recovery scans' queries: rows left in a transitional status, and who takes them.

A volume service resumes its backend's flows when it starts; the API re-sends
requests never placed and records failures whose message was lost. Of several
services that scan at once, one wins each row (:func:`touch_if_unchanged`).
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.volume_record import MANAGING, RecoveryRow, to_record


def _last_change() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(models.Volume.updated_at, models.Volume.created_at)


@db_api.reader
def transitional(
    session: Session,
    statuses: tuple[str, ...],
    backend: str | Sequence[str] | None = None,
    scheduled: bool | None = None,
    still_for: float | None = None,
    limit: int = 1000,
    owned: bool | None = None,
) -> list[RecoveryRow]:
    """Rows in ``statuses`` for recovery scans, oldest change first.

    ``backend`` keeps rows placed on ``host@backend`` (or on any of several names);
    ``scheduled`` keeps rows the scheduler has (or has not) placed; ``still_for``
    keeps rows unchanged for that many seconds by the database's clock (which
    stamped their last change); ``owned`` keeps rows a flow has (or has not) claimed.
    Each row carries ``last_change`` for :func:`touch_if_unchanged`.
    """
    stmt = sa.select(models.Volume, _last_change()).where(models.Volume.status.in_(statuses))
    if backend is not None:
        stmt = stmt.where(rows_db.placed_on(backend))
    if scheduled is not None:
        placed = models.Volume.scheduled_at.is_not(None)
        stmt = stmt.where(placed if scheduled else sa.not_(placed))
    if still_for is not None:
        stmt = stmt.where(_last_change() < clock.utc_now(-still_for))
    if owned is not None:
        claimed = models.Volume.flow_owner.is_not(None)
        stmt = stmt.where(claimed if owned else sa.not_(claimed))
    rows = session.execute(stmt.order_by(_last_change()).limit(limit)).all()
    return [
        {**to_record(row), "flow_owner": row.flow_owner, "last_change": changed}
        for row, changed in rows
    ]


@db_api.writer
def touch_if_unchanged(session: Session, volume_id: str, last_change: dt.datetime) -> bool:
    """Mark the row changed now if nobody changed it since ``last_change``.

    Of several services that scan at once, exactly one wins the row.
    """
    return rows_db.update_where(session, volume_id, _last_change() == last_change)


@db_api.writer
def record_failure(
    session: Session,
    volume_id: str,
    reason: str,
    flow_owner: str | None = None,
    detail: str | None = None,
) -> bool:
    """Note on a ``managing`` row why a stage failed, before telling the API: ``reason``
    for the operator, ``detail`` (a ``message_field.Detail`` id) for the user message.

    If the compensating message is lost, the API's recovery scan finds the reason
    here and records the failure itself. With ``flow_owner`` (a volume flow's
    token), only while the flow still owns the row.
    """
    owned = [] if flow_owner is None else [models.Volume.flow_owner == flow_owner]
    return rows_db.update_where(
        session,
        volume_id,
        models.Volume.status == MANAGING,
        *owned,
        failure_reason=reason,
        failure_detail=detail,
    )
