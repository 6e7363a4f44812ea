"""Queries on the services table: registration, heartbeats, capabilities."""

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models


def to_dict(service: models.Service, down_time: int | None = None) -> dict:
    values = {
        "id": service.id,
        "host": service.host,
        "binary": service.binary,
        "topic": service.topic,
        "availability_zone": service.availability_zone,
        "disabled": service.disabled,
        "disabled_reason": service.disabled_reason,
        "last_heartbeat": service.last_heartbeat.isoformat() if service.last_heartbeat else None,
        "capabilities": json.loads(service.capabilities) if service.capabilities else None,
    }
    if down_time is not None:
        values["is_up"] = is_up(service.last_heartbeat, down_time)
    return values


def is_up(last_heartbeat: dt.datetime | None, down_time: int) -> bool:
    if last_heartbeat is None:
        return False
    return (models.utcnow() - last_heartbeat).total_seconds() <= down_time


@db_api.writer
def _upsert(session: Session, host: str, binary: str, topic: str, zone: str) -> int:
    stmt = sa.select(models.Service).where(
        models.Service.host == host, models.Service.binary == binary
    )
    row = session.scalars(stmt).first()
    if row is None:
        row = models.Service(host=host, binary=binary, topic=topic, availability_zone=zone)
        session.add(row)
    row.topic = topic
    row.availability_zone = zone
    row.last_heartbeat = models.utcnow()
    session.flush()
    return row.id


def register(db: db_api.Database, host: str, binary: str, topic: str, zone: str) -> int:
    """Create or refresh the row of a starting service; returns its id."""
    try:
        return _upsert(db, host, binary, topic, zone)
    except exc.IntegrityError:
        return _upsert(db, host, binary, topic, zone)


@db_api.writer
def heartbeat(session: Session, service_id: int, capabilities: dict | None = None) -> None:
    """Record that the service is alive (and, if given, what it can do)."""
    row = session.get(models.Service, service_id)
    if row is None:
        raise exception.ServiceNotFound(host=str(service_id))
    now = models.utcnow()
    row.last_heartbeat = now
    row.report_count += 1
    if capabilities is not None:
        row.capabilities = json.dumps(capabilities, sort_keys=True)
        row.capabilities_updated_at = now


@db_api.reader
def get_by_host(session: Session, host: str, binary: str, down_time: int | None = None) -> dict:
    stmt = sa.select(models.Service).where(
        models.Service.host == host, models.Service.binary == binary
    )
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.ServiceNotFound(host=host)
    return to_dict(row, down_time)


@db_api.reader
def list_all(
    session: Session, binary: str | None = None, down_time: int | None = None
) -> list[dict]:
    stmt = sa.select(models.Service).order_by(models.Service.binary, models.Service.host)
    if binary:
        stmt = stmt.where(models.Service.binary == binary)
    return [to_dict(row, down_time) for row in session.scalars(stmt)]


@db_api.writer
def set_disabled(
    session: Session, host: str, binary: str, disabled: bool, reason: str | None = None
) -> None:
    stmt = sa.select(models.Service).where(
        models.Service.host == host, models.Service.binary == binary
    )
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.ServiceNotFound(host=host)
    row.disabled = disabled
    row.disabled_reason = reason if disabled else None
