"""Who works on a ``managing`` row: the scheduler's placement and the flow that owns it.

A scheduler records the pool it chose once (:func:`place_many`); a volume service
claims the rows its flows will run (:func:`claim_flows`), and frees the rows a
process stopped renewing (:func:`take_over_flow`).

Ownership is a fence. A claim writes a token of its own into ``flow_owner`` (the
process's instance id and a fresh generation, :func:`new_token`); every step of the
flow that changes the backend runs inside :func:`fenced`, one transaction that
locks the row only while it is still ``managing`` under that token, runs the step
and records what it did, so a process that lost its row changes nothing. A live
process renews the claims of its running flows (:func:`renew_claims`); a claim
left unrenewed for ``[recovery] stale_after`` seconds may be taken over, and a
takeover skips a row whose fenced step is in progress instead of waiting for it.
"""

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.volume_record import MANAGING, ClaimedVolume, as_record

T = TypeVar("T")

_TOKEN_SEPARATOR = ":"


def new_token(instance_id: str) -> str:
    """A fresh ownership token of the process ``instance_id``: one per claim."""
    return f"{instance_id}{_TOKEN_SEPARATOR}{secrets.token_hex(8)}"


def instance_of(token: str) -> str:
    """The instance id of the process that wrote ``token``."""
    return token.partition(_TOKEN_SEPARATOR)[0]


def _last_change() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(models.Volume.updated_at, models.Volume.created_at)


@db_api.writer
def place_many(session: Session, placements: Sequence[tuple[str, str]]) -> list[bool]:
    """Record each ``(volume_id, host#pool)`` on its ``managing`` row not placed yet, once."""
    now = clock.utc_now()
    return rows_db.update_each(
        session,
        [(volume_id, {"host": host, "scheduled_at": now}) for volume_id, host in placements],
        models.Volume.status == MANAGING,
        models.Volume.scheduled_at.is_(None),
    )


def place(db: db_api.Database, volume_id: str, host: str) -> bool:
    """Record the scheduler's ``host#pool`` on one row (see :func:`place_many`)."""
    return place_many(db, [(volume_id, host)])[0]


@db_api.writer
def claim_flows(
    session: Session, volume_ids: Sequence[str], instance_id: str
) -> dict[str, ClaimedVolume]:
    """Take the ``managing`` rows among ``volume_ids`` that no flow owns, in one transaction.

    Returns ``{volume_id: volume}`` of the rows taken; a row absent, done or owned
    is left out. Each volume carries ``flow_owner``, the token this claim wrote (a
    new one for ``instance_id``), and ``held_gigabytes``: the gigabytes of quota an
    earlier run of the same request already committed to the row.
    """
    token = new_token(instance_id)
    volumes = models.table_of(models.Volume)
    stmt = (
        sa.select(volumes, models.VolumeType.name.label("type_name"))
        .join(models.VolumeType, volumes.c.volume_type_id == models.VolumeType.id)
        .where(volumes.c.id.in_(sorted(set(volume_ids))))
        .order_by(volumes.c.id)
        .with_for_update(of=volumes)
    )
    rows = {
        row.id: row
        for row in session.execute(stmt)
        if row.status == MANAGING and row.flow_owner is None
    }
    metadata: dict[str, dict[str, str]] = {volume_id: {} for volume_id in rows}
    if rows:
        meta = models.table_of(models.VolumeMetadata)
        for volume_id, key, value in session.execute(
            sa.select(meta.c.volume_id, meta.c.key, meta.c.value).where(
                meta.c.volume_id.in_(sorted(rows))
            )
        ):
            metadata[volume_id][key] = value
    claimed: dict[str, ClaimedVolume] = {
        volume_id: {
            **as_record(row._mapping, row.type_name, metadata[volume_id]),
            "held_gigabytes": row.quota_gigabytes,
            "flow_owner": token,
        }
        for volume_id, row in rows.items()
    }
    if claimed:
        session.execute(
            sa.update(models.Volume)
            .where(models.Volume.id.in_(sorted(claimed)))
            .values(flow_owner=token, updated_at=clock.utc_now())
            .execution_options(synchronize_session=False)
        )
    return claimed


def claim_flow(db: db_api.Database, volume_id: str, instance_id: str) -> ClaimedVolume | None:
    """Take one ``managing`` row that no flow owns; None if absent, done or owned."""
    return claim_flows(db, [volume_id], instance_id).get(volume_id)


def _managing_under(volume_id: str, token: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The row is ``volume_id``, still ``managing``, and owned by the claim ``token``."""
    return (
        models.Volume.id == volume_id,
        models.Volume.status == MANAGING,
        models.Volume.flow_owner == token,
    )


@db_api.writer
def fenced(
    session: Session,
    volume_id: str,
    token: str,
    step: Callable[[], T],
    record: Callable[[T], Mapping[str, Any]],
) -> T:
    """Run ``step`` only while the row is ``managing`` under ``token``; record what it did.

    One transaction: lock the row where it is still ours (a takeover of it waits, or
    skips it), run ``step`` (a driver call), write ``record(result)`` on the row and
    commit. Raises :class:`~volmgr_common.exception.FlowOwnershipLost`, without
    running ``step``, when the row is gone, decided or owned by another claim. A
    retried transaction runs ``step`` again: the driver steps are idempotent.
    """
    owned = session.execute(
        sa.select(models.Volume.id).where(*_managing_under(volume_id, token)).with_for_update()
    ).first()
    if owned is None:
        raise exception.FlowOwnershipLost(volume_id=volume_id)
    result = step()
    rows_db.update_where(session, volume_id, **record(result))
    return result


@db_api.writer
def fenced_many(
    session: Session,
    owners: Sequence[tuple[str, str]],
    step: Callable[[Sequence[int]], Sequence[T | Exception]],
    record: Callable[[T], Mapping[str, Any]],
) -> list[T | Exception]:
    """:func:`fenced` for several ``(volume_id, token)`` in one transaction.

    Locks the rows still ``managing`` under their tokens, runs ``step`` once with the
    positions of those (it gives, for each, its result or the exception it met),
    writes ``record(result)`` on each row whose step succeeded and commits. Gives,
    for each owner in order, its result, its exception, or FlowOwnershipLost when
    its row was gone, decided or owned by another claim (its step did not run).
    """
    tokens = {volume_id: token for volume_id, token in owners}
    rows = session.execute(
        sa.select(models.Volume.id, models.Volume.flow_owner)
        .where(
            models.Volume.id.in_(sorted(tokens)),
            models.Volume.status == MANAGING,
            models.Volume.flow_owner.in_(sorted(set(tokens.values()))),
        )
        .order_by(models.Volume.id)
        .with_for_update()
    )
    owned = {volume_id for volume_id, token in rows if tokens[volume_id] == token}
    results: list[T | Exception] = [
        exception.FlowOwnershipLost(volume_id=volume_id) for volume_id, _ in owners
    ]
    positions = [p for p, (volume_id, _) in enumerate(owners) if volume_id in owned]
    if not positions:
        return results
    outcomes = list(step(positions))
    if len(outcomes) != len(positions):
        raise RuntimeError(f"a fenced step gave {len(outcomes)} results for {len(positions)}")
    changes: list[tuple[str, dict[str, Any]]] = []
    for position, outcome in zip(positions, outcomes, strict=True):
        results[position] = outcome
        if not isinstance(outcome, Exception):
            changes.append((owners[position][0], dict(record(outcome))))
    rows_db.write_each(session, changes)
    return results


@db_api.writer
def renew_claims(session: Session, tokens: Sequence[str]) -> int:
    """Mark the ``managing`` rows owned under ``tokens`` as changed now; how many.

    Rows a fenced step holds are skipped (the step's commit marks them); rows whose
    flow noted a failure are left to the API's scan.
    """
    owned = (
        sa.select(models.Volume.id)
        .where(
            models.Volume.status == MANAGING,
            models.Volume.flow_owner.in_(sorted(set(tokens))),
            models.Volume.failure_reason.is_(None),
        )
        .order_by(models.Volume.id)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(owned))
    if ids:
        session.execute(
            sa.update(models.Volume)
            .where(models.Volume.id.in_(ids))
            .values(updated_at=clock.utc_now())
            .execution_options(synchronize_session=False)
        )
    return len(ids)


@db_api.writer
def take_over_flow(session: Session, volume_id: str, stale_owner: str, still_for: float) -> bool:
    """Free a ``managing`` row whose claim ``stale_owner`` went unrenewed for ``still_for`` s.

    The claim's age is read by the database's clock, which stamped its renewals.

    The owner is gone or frozen; if it wakes up, its fenced steps find the row no
    longer under its token. A row whose fenced step is in progress is skipped, not
    waited for: a later scan tries again.
    """
    stale = session.execute(
        sa.select(models.Volume.id)
        .where(
            *_managing_under(volume_id, stale_owner),
            _last_change() < clock.utc_now(-still_for),
        )
        .with_for_update(skip_locked=True)
    ).first()
    if stale is None:
        return False
    return rows_db.update_where(session, volume_id, flow_owner=None)
