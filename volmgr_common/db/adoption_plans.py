"""Adoption plans: stored previews of adopting a backend, and their items.

A plan and all its items are written in one transaction (:func:`create`): the
items by COPY on PostgreSQL, in chunks of executemany elsewhere, so that a plan
is there whole or not at all.
A plan is ``ready`` until a job applies it (:func:`mark_applied`, the atomic
"applies once" guard) and reads as ``expired`` once ``expires_at`` has passed on
the database's clock. Items are read in pages by position (:func:`items_page`).
"""

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.volume_record import ERROR_MANAGING

READY = "ready"
APPLIED = "applied"
EXPIRED = "expired"
MANAGE = "manage"
SKIP = "skip"
VERDICTS = (MANAGE, SKIP)
SOURCE_NAME = "source-name"

PLANS = models.table_of(models.AdoptionPlan)
ITEMS = models.table_of(models.AdoptionPlanItem)
PLAN_COLUMNS = tuple(column.name for column in PLANS.columns)
ITEM_COLUMNS = tuple(column.name for column in ITEMS.columns if column.name != "plan_id")


@dataclasses.dataclass(frozen=True)
class NewPlan:
    """A plan to store: its columns (``id``, ``project_id``, ``host``, ``backend``, …,
    without ``status`` and ``expires_at``) and how long it stays valid."""

    values: Mapping[str, Any]
    ttl: int


def _plan_dict(row: Any, now: dt.datetime) -> dict[str, Any]:
    plan = {name: getattr(row, name) for name in PLAN_COLUMNS}
    if plan["status"] == READY and plan["expires_at"] <= now:
        plan["status"] = EXPIRED
    return plan


COPY_COLUMNS = (*(name for name in ITEM_COLUMNS if name != "id"), "plan_id")
JSON_COLUMNS = frozenset({"reference", "fingerprint"})


def _can_copy(session: Session) -> bool:
    """Whether the items can go in by COPY: PostgreSQL through psycopg (3)."""
    dialect = session.get_bind().dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _copy_items(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Stream the items into the table with PostgreSQL's COPY, in this transaction
    (a third of the time of the pipelined INSERTs, a fifth of their client CPU)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None, "a connection of this session's transaction"
    statement = f"COPY {ITEMS.name} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    dbapi_error = session.get_bind().dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [json.dumps(row[c]) if c in JSON_COLUMNS else row[c] for c in COPY_COLUMNS]
                )
    except dbapi_error as error:
        # As SQLAlchemy raises a driver's errors: retries and callers know them.
        raise sa.exc.DBAPIError.instance(statement, None, error, dbapi_error) from error


@db_api.writer
def create(
    session: Session, new: NewPlan, items: Iterable[Mapping[str, Any]], chunk: int
) -> dict[str, Any]:
    """Store the plan and its ``items`` (each ``position``, ``source_name``,
    ``reference``, ``size``, ``fingerprint``, ``verdict``, ``reason``,
    ``volume_name``) in one transaction; the plan. On PostgreSQL the items are
    streamed by COPY, elsewhere sent ``chunk`` at a time (one executemany each: a
    pipeline on PostgreSQL, multi-row INSERTs on MySQL's driver)."""
    now = clock.now(session)
    values = dict(new.values, status=READY, created_at=now)
    values["expires_at"] = now + dt.timedelta(seconds=new.ttl)
    session.execute(sa.insert(PLANS), [values])
    plan_id = values["id"]
    rows = ({**item, "plan_id": plan_id} for item in items)
    if _can_copy(session):
        _copy_items(session, rows)
    else:
        while batch := list(itertools.islice(rows, chunk)):
            session.execute(sa.insert(ITEMS), batch)
    row = session.execute(sa.select(PLANS).where(PLANS.c.id == plan_id)).one()
    return _plan_dict(row, now)


@db_api.reader
def get(session: Session, plan_id: str, project_id: str | None = None) -> dict[str, Any]:
    """One plan (of ``project_id`` when given); AdoptionPlanNotFound if there is none."""
    stmt = sa.select(PLANS).where(PLANS.c.id == plan_id)
    if project_id is not None:
        stmt = stmt.where(PLANS.c.project_id == project_id)
    row = session.execute(stmt).first()
    if row is None:
        raise exception.AdoptionPlanNotFound(plan_id=plan_id[:40])
    return _plan_dict(row, clock.now(session))


@db_api.reader
def list_plans(
    session: Session,
    project_id: str | None = None,
    marker: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Plans (of ``project_id`` when given), newest first, after the plan ``marker``."""
    conditions: list[sa.ColumnElement[bool]] = []
    if project_id is not None:
        conditions.append(PLANS.c.project_id == project_id)
    if marker is not None:
        anchor = session.execute(
            sa.select(PLANS.c.created_at, PLANS.c.id).where(PLANS.c.id == marker, *conditions)
        ).first()
        if anchor is None:
            raise exception.InvalidMarker(marker=marker[:40])
        conditions.append(
            sa.tuple_(PLANS.c.created_at, PLANS.c.id) < sa.tuple_(anchor.created_at, anchor.id)
        )
    stmt = (
        sa.select(PLANS)
        .where(*conditions)
        .order_by(PLANS.c.created_at.desc(), PLANS.c.id.desc())
        .limit(limit)
    )
    now = clock.now(session)
    return [_plan_dict(row, now) for row in session.execute(stmt)]


@db_api.reader
def items_page(
    session: Session,
    plan_id: str,
    after_position: int | None = None,
    limit: int | None = None,
    verdict: str | None = None,
) -> list[dict[str, Any]]:
    """The plan's items by position, after ``after_position``, at most ``limit``
    (every one when None), of one ``verdict`` when given."""
    stmt = sa.select(*(ITEMS.c[name] for name in ITEM_COLUMNS)).where(ITEMS.c.plan_id == plan_id)
    if after_position is not None:
        stmt = stmt.where(ITEMS.c.position > after_position)
    if verdict is not None:
        stmt = stmt.where(ITEMS.c.verdict == verdict)
    stmt = stmt.order_by(ITEMS.c.position).limit(limit)
    return [dict(row._mapping) for row in session.execute(stmt)]


def mark_applied(session: Session, plan_id: str, job_id: str) -> bool:
    """In the caller's transaction: give the plan its job, once. True if this call did;
    False when the plan is gone, already applied or expired (database clock)."""
    stmt = (
        sa.update(PLANS)
        .where(
            PLANS.c.id == plan_id,
            PLANS.c.job_id.is_(None),
            PLANS.c.status == READY,
            PLANS.c.expires_at > clock.utc_now(),
        )
        .values(job_id=job_id, status=APPLIED, updated_at=clock.utc_now())
    )
    result = cast(sa.CursorResult[Any], session.execute(stmt))  # an UPDATE's result
    return result.rowcount == 1


@db_api.writer
def delete(session: Session, plan_id: str, project_id: str | None = None) -> None:
    """Remove a plan that no job applied, and its items; AdoptionPlanNotFound if there
    is none, AdoptionPlanApplied if a job applied it (the job's record needs it)."""
    stmt = sa.select(PLANS.c.job_id).where(PLANS.c.id == plan_id)
    if project_id is not None:
        stmt = stmt.where(PLANS.c.project_id == project_id)
    found = session.execute(stmt.with_for_update()).first()
    if found is None:
        raise exception.AdoptionPlanNotFound(plan_id=plan_id[:40])
    if found.job_id is not None:
        raise exception.AdoptionPlanApplied(plan_id=plan_id, job_id=found.job_id)
    session.execute(sa.delete(ITEMS).where(ITEMS.c.plan_id == plan_id))
    session.execute(sa.delete(PLANS).where(PLANS.c.id == plan_id))


@dataclasses.dataclass(frozen=True)
class Holders:
    """Which live volumes of a backend hold which objects, each as ``(volume_id,
    status)``: by the ``source-name`` of their reference, by the identity recorded
    for their object (``backend_identity``) and by managed name (provider location)."""

    by_name: dict[str, tuple[str, str]]
    by_identity: dict[str, tuple[str, str]]
    by_location: dict[str, tuple[str, str]]


@db_api.reader
def holders_on(session: Session, backends: Sequence[str]) -> Holders:
    """The volumes placed on ``backends`` (one backend's names) that hold an object,
    read in one statement (a failed manage holds none). Rows on one backend hold its
    objects' reference and identity keys, so comparing their names and identities
    within the backend decides what the unique keys would."""
    volume = models.Volume
    stmt = sa.select(
        volume.id, volume.status, volume.reference, volume.backend_identity,
        volume.provider_location,
    ).where(rows_db.placed_on(backends), volume.status != ERROR_MANAGING)  # fmt: skip
    holders = Holders({}, {}, {})
    for row in session.execute(stmt):
        held = (row.id, row.status)
        name = json.loads(row.reference).get(SOURCE_NAME) if row.reference else None
        if isinstance(name, str):
            holders.by_name[name] = held
        if row.backend_identity:
            holders.by_identity[row.backend_identity] = held
        if row.provider_location:
            holders.by_location[row.provider_location] = held
    return holders
