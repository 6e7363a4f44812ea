"""Queries on user messages: why a request failed, in words a user can act on."""

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging
from volmgr_common.page_request import PageRequest

# What a listing may be filtered and sorted by.
FILTER_KEYS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")
SORT_KEYS = ("created_at", "id", "event_id", "resource_type", "resource_uuid", "message_level")


def to_dict(row: models.Message) -> dict:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "request_id": row.request_id,
        "resource_type": row.resource_type,
        "resource_uuid": row.resource_uuid,
        "event_id": row.event_id,
        "message_level": row.message_level,
        "user_message": row.detail,
        "created_at": row.created_at.isoformat(),
    }


def add_in(
    session: Session,
    project_id: str,
    request_id: str | None,
    resource_uuid: str,
    event_id: str,
    detail: str,
    level: str = "ERROR",
) -> None:
    """Record a user message inside the caller's transaction."""
    session.add(
        models.Message(
            id=str(uuid.uuid4()),
            project_id=project_id,
            request_id=request_id,
            resource_type="VOLUME",
            resource_uuid=resource_uuid,
            event_id=event_id,
            message_level=level,
            detail=detail,
        )
    )


def list_for(
    db: db_api.Database, project_id: str | None = None, resource_uuid: str | None = None
) -> list[dict]:
    """Every message (of ``project_id``, about ``resource_uuid``), oldest first."""
    filters = {"resource_uuid": resource_uuid} if resource_uuid else {}
    return list_page(db, project_id or None, filters, PageRequest(sort=(("created_at", "asc"),)))


def _sort_column(key: str) -> sa.ColumnElement[Any]:
    """The column a listing sorts by; a missing value sorts as the empty string."""
    if key not in SORT_KEYS:
        raise exception.InvalidInput(reason=f"messages cannot be sorted by {key[:40]!r}")
    column = models.table_of(models.Message).c[key]
    return sa.func.coalesce(column, "") if column.nullable else column


@db_api.reader
def list_page(
    session: Session,
    project_id: str | None,
    filters: Mapping[str, str],
    page: PageRequest,
) -> list[dict]:
    """One page of messages (every one with a limit of None), filtered, sorted and
    paged by the database.

    The page's ``sort`` holds ``(key, "asc"|"desc")`` pairs of :data:`SORT_KEYS`; the
    id breaks ties, in the direction of the last key. Its ``marker`` is the id of the
    last message of the previous page, which must itself pass the filters (else
    :class:`~volmgr_common.exception.InvalidMarker`).
    """
    marker = page.marker
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise exception.InvalidInput(reason=f"messages cannot be filtered by {unknown}")
    conditions: list[sa.ColumnElement[bool]] = [
        models.table_of(models.Message).c[key] == value for key, value in filters.items()
    ]
    if project_id is not None:
        conditions.append(models.Message.project_id == project_id)
    order = list(page.sort)
    if "id" not in (key for key, _direction in order):
        order.append(("id", order[-1][1] if order else "asc"))
    columns = [
        (_sort_column(key), paging.DESC if direction == "desc" else paging.ASC)
        for key, direction in order
    ]
    stmt = sa.select(models.Message).where(*conditions).order_by(*paging.order_by(columns))
    if marker is not None:
        anchor = session.execute(
            sa.select(*(column for column, _desc in columns)).where(
                models.Message.id == marker, *conditions
            )
        ).first()
        if anchor is None:
            raise exception.InvalidMarker(marker=marker[:40])
        stmt = stmt.where(paging.after(columns, anchor))
    stmt = stmt.offset(page.offset or None).limit(page.limit)
    return [to_dict(r) for r in session.scalars(stmt)]


@db_api.reader
def get(session: Session, message_id: str, project_id: str | None = None) -> dict | None:
    """One message by id (within ``project_id`` if given); None if there is none."""
    row = session.get(models.Message, message_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        return None
    return to_dict(row)
