"""Queries on user messages: why a request failed, in words a user can act on."""

import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception, message_field
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging, volume_filters
from volmgr_common.page_request import PageRequest

# What a listing may be filtered and sorted by.
FILTER_KEYS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")
SORT_KEYS = (
    "created_at", "id", "event_id", "resource_type", "resource_uuid", "message_level",
    "request_id",
)  # fmt: skip


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
    resource_type: str = "VOLUME",
) -> None:
    """Record a user message (about a ``resource_type``: Cinder's ``VOLUME`` or
    ``VOLUME_SNAPSHOT``) inside the caller's transaction."""
    session.add(
        models.Message(
            id=str(uuid.uuid4()),
            project_id=project_id,
            request_id=request_id,
            resource_type=resource_type,
            resource_uuid=resource_uuid,
            event_id=event_id,
            message_level=level,
            detail=detail,
        )
    )


def add_event_in(
    session: Session,
    project_id: str,
    request_id: str | None,
    resource_uuid: str,
    action: message_field.Field,
    detail: message_field.Field,
    level: str = "ERROR",
    resource_type: str = message_field.RESOURCE_VOLUME,
) -> None:
    """:func:`add_in` Cinder's message of ``action`` and ``detail`` (its event id and
    ``"<action>: <detail>"``) inside the caller's transaction."""
    add_in(
        session,
        project_id,
        request_id,
        resource_uuid,
        message_field.event_id(action, detail, resource_type),
        message_field.user_message(action, detail),
        level=level,
        resource_type=resource_type,
    )


def list_for(
    db: db_api.Database, project_id: str | None = None, resource_uuid: str | None = None
) -> list[dict]:
    """Every message (of ``project_id``, about ``resource_uuid``), oldest first."""
    filters = {"resource_uuid": resource_uuid} if resource_uuid else {}
    return list_page(db, project_id or None, filters, PageRequest(sort=(("created_at", "asc"),)))


@db_api.reader
def list_page(
    session: Session,
    project_id: str | None,
    filters: Mapping[str, str],
    page: PageRequest,
) -> list[dict]:
    """One page of messages (every one with a limit of None), filtered, sorted and
    paged by the database.

    ``filters`` hold :data:`FILTER_KEYS` with the value to equal, or ``key~`` with
    text the value contains; any other name matches no message (an empty page, as
    Cinder gives). The page's ``sort`` holds ``(key, "asc"|"desc")`` pairs of
    :data:`SORT_KEYS`, followed by Cinder's ``created_at`` and ``id`` in the
    direction of the first key (newest first when it names none). Its ``marker`` is
    the id of the last message of the previous page, which must itself pass the
    filters (else :class:`~volmgr_common.exception.InvalidMarker`).
    """
    marker = page.marker
    table = models.table_of(models.Message)
    conditions: list[sa.ColumnElement[bool]] = []
    for key, value in filters.items():
        name = key.removesuffix("~")
        if name not in FILTER_KEYS:
            return []
        column = table.c[name]
        conditions.append(volume_filters.like(column, value) if key != name else column == value)
    if project_id is not None:
        conditions.append(models.Message.project_id == project_id)
    sortable = {key: table.c[key] for key in SORT_KEYS}
    columns = paging.sort_columns(paging.with_default_keys(page.sort), sortable)
    anchor = None
    if marker is not None:
        anchor = session.execute(
            paging.anchor_of(columns).where(models.Message.id == marker, *conditions)
        ).first()
        if anchor is None:
            raise exception.InvalidMarker(marker=marker[:40])
    stmt = paging.paged(sa.select(models.Message).where(*conditions), columns, page, anchor)
    return [to_dict(r) for r in session.scalars(stmt)]


@db_api.reader
def get(session: Session, message_id: str, project_id: str | None = None) -> dict | None:
    """One message by id (within ``project_id`` if given); None if there is none."""
    row = session.get(models.Message, message_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        return None
    return to_dict(row)
