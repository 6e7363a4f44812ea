"""Row-level helpers the volume and snapshot query modules share: lock, conditional
update, release.

Private to :mod:`volmgr_common.db`: each works inside the caller's transaction.
``locked`` and ``update_where`` take the mapped class of the row (a volume by
default, or a snapshot): both tables have ``id``, ``status`` and ``updated_at``.
Every status transition is a conditional update, so that a message handled twice
finds the condition false the second time and changes nothing.
"""

from collections.abc import Sequence
from typing import Any, TypeVar, cast, overload

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import message_field
from volmgr_common.db import clock, messages, models, quota
from volmgr_common.db.volume_record import ERROR_MANAGING


def placed_on(backends: str | Sequence[str]) -> sa.ColumnElement[bool]:
    """The row is placed on one of ``backends`` (``host@backend``, any pool of it)."""
    names = [backends] if isinstance(backends, str) else list(backends)
    return sa.or_(
        *(
            condition
            for name in names
            for condition in (models.Volume.host == name, models.Volume.host.like(f"{name}#%"))
        )
    )


Row = TypeVar("Row", models.Volume, models.Snapshot)


@overload
def locked(session: Session, volume_id: str) -> models.Volume | None: ...
@overload
def locked(session: Session, volume_id: str, model: type[Row]) -> Row | None: ...
def locked(session: Session, volume_id: str, model: type[Any] = models.Volume) -> Any:
    """The row (of ``model``), locked for this transaction."""
    stmt = sa.select(model).where(model.id == volume_id).with_for_update(of=model)
    return session.scalars(stmt).first()


def update_where(
    session: Session,
    volume_id: str,
    *conditions: sa.ColumnElement[bool],
    model: type[models.Volume] | type[models.Snapshot] = models.Volume,
    **values: Any,
) -> bool:
    """Update the row (of ``model``, and its ``updated_at``) only where ``conditions``
    hold; True if so."""
    values.setdefault("updated_at", clock.utc_now())
    stmt = (
        sa.update(model)
        .where(model.id == volume_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = cast(sa.CursorResult[Any], session.execute(stmt))  # an UPDATE's result
    return result.rowcount == 1


def write_each(session: Session, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Give each ``(volume_id, values)`` row its own values, in one executed statement.

    The rows were locked and checked by the caller; all values dicts have the same
    keys, and ``updated_at`` is stamped (by the database's clock). A value that is a
    SQL expression (``clock.utc_now()``) must be the same for every row: the
    statement computes it.
    """
    if not changes:
        return
    first = dict({"updated_at": clock.utc_now()}, **changes[0][1])
    computed = {k: v for k, v in first.items() if isinstance(v, sa.ColumnElement)}
    rows = [
        {"b_id": volume_id, **{k: v for k, v in values.items() if k not in computed}}
        for volume_id, values in changes
    ]
    table = models.table_of(models.Volume)
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values({key: sa.bindparam(key) for key in rows[0] if key != "b_id"})
        .values(computed)
    )
    session.connection().execute(update, rows)


def update_each(
    session: Session,
    changes: Sequence[tuple[str, dict[str, Any]]],
    *conditions: sa.ColumnElement[bool],
) -> list[bool]:
    """Give each ``(volume_id, values)`` its values where ``conditions`` hold on its row.

    The rows are locked and checked first, so that each change learns whether it
    was made (True, in order); an id given twice changes once.
    """
    stmt = (
        sa.select(models.Volume.id)
        .where(models.Volume.id.in_(sorted({volume_id for volume_id, _ in changes})), *conditions)
        .order_by(models.Volume.id)
        .with_for_update()
    )
    waiting = set(session.scalars(stmt))
    made: list[bool] = []
    for volume_id, _ in changes:
        made.append(volume_id in waiting)
        waiting.discard(volume_id)
    write_each(session, [change for change, ok in zip(changes, made, strict=True) if ok])
    return made


def release_all_in(session: Session, row: models.Volume) -> None:
    """Give back every quota the locked row holds, and record that it holds none."""
    type_name = row.volume_type.name
    deltas = quota.volume_deltas(
        type_name, volumes=1 if row.quota_volumes else 0, gigabytes=row.quota_gigabytes
    )
    if deltas:
        quota.release_in(session, row.project_id, deltas)
    row.quota_volumes = False
    row.quota_gigabytes = 0


def fail_in(
    session: Session,
    row: models.Volume | models.Snapshot,
    reason: str,
    request_id: str | None,
    action: message_field.Field,
    resource_type: str,
) -> None:
    """Record the failed manage of ``row`` (a volume's or a snapshot's; the caller
    released its quota): ``error_managing`` with ``reason``, its reference and identity
    keys and its flow owner freed, and Cinder's user message of ``action`` with the
    detail the failing stage noted on the row (unknown if none)."""
    row.status = ERROR_MANAGING
    row.failure_reason = reason
    row.reference_key = None
    row.identity_key = None
    row.flow_owner = None
    detail = message_field.detail_by_id(row.failure_detail)
    messages.add_event_in(
        session, row.project_id, request_id, row.id, action, detail, resource_type=resource_type
    )
