"""Queries on user messages: why a request failed, in words a user can act on."""

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import api as db_api
from volmgr_common.db import models


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


@db_api.reader
def list_for(
    session: Session, project_id: str | None = None, resource_uuid: str | None = None
) -> list[dict]:
    stmt = sa.select(models.Message).order_by(models.Message.created_at)
    if project_id:
        stmt = stmt.where(models.Message.project_id == project_id)
    if resource_uuid:
        stmt = stmt.where(models.Message.resource_uuid == resource_uuid)
    return [to_dict(r) for r in session.scalars(stmt)]
