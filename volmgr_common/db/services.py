"""Queries on the services table: registration, heartbeats, capabilities.

Heartbeats are stamped by the database's clock and read together with it
(:mod:`volmgr_common.db.clock`), so that no host's clock decides whether another
host's service is up: a service is up when its last heartbeat is at most
``service_down_time`` seconds old, and not from the future beyond
:data:`CLOCK_TOLERANCE` (a stamp the database's clock never wrote: counted down).

A volume service that is a member of a cluster records the cluster's backend name
(``cluster@backend``) as its ``cluster_name``. :func:`get_backend` answers for a
name that a request targets, a service's host or a cluster: a cluster is up when
any enabled member is up, and every dict says which ``backend`` the name leads to
(the cluster of a member, else its host).
"""

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models

CLOCK_TOLERANCE = dt.timedelta(seconds=2)
"""How far a heartbeat may lie ahead of the database's clock and still count: the
stamps are the database's own, so only rounding (MySQL keeps whole seconds) and a
time read a statement apart lead it."""


def to_dict(
    service: models.Service, down_time: int | None = None, now: dt.datetime | None = None
) -> dict:
    """The service as plain data; with ``down_time``, ``is_up`` at ``now`` (the database's)."""
    values = {
        "id": service.id,
        "host": service.host,
        "binary": service.binary,
        "cluster_name": service.cluster_name,
        "backend": service.cluster_name or service.host,
        "topic": service.topic,
        "availability_zone": service.availability_zone,
        "disabled": service.disabled,
        "disabled_reason": service.disabled_reason,
        "last_heartbeat": service.last_heartbeat.isoformat() if service.last_heartbeat else None,
        "capabilities": json.loads(service.capabilities) if service.capabilities else None,
        "rpc_version": service.rpc_version,
    }
    if down_time is not None:
        assert now is not None, "is_up needs the database's time"
        values["is_up"] = is_up(service.last_heartbeat, down_time, now)
    return values


def is_up(last_heartbeat: dt.datetime | None, down_time: int, now: dt.datetime) -> bool:
    """Whether a heartbeat stamped ``last_heartbeat`` is recent at ``now`` (both the
    database's times): no older than ``down_time`` seconds, not from the future."""
    if last_heartbeat is None:
        return False
    age = now - last_heartbeat
    return -CLOCK_TOLERANCE <= age <= dt.timedelta(seconds=down_time)


@db_api.writer
def _upsert(
    session: Session,
    host: str,
    binary: str,
    topic: str,
    zone: str,
    rpc_version: str | None,
    cluster_name: str | None,
) -> int:
    stmt = sa.select(models.Service).where(
        models.Service.host == host, models.Service.binary == binary
    )
    row = session.scalars(stmt).first()
    if row is None:
        row = models.Service(host=host, binary=binary, topic=topic, availability_zone=zone)
        session.add(row)
    row.topic = topic
    row.availability_zone = zone
    row.rpc_version = rpc_version
    row.cluster_name = cluster_name
    row.last_heartbeat = clock.utc_now()
    session.flush()
    return row.id


def register(
    db: db_api.Database,
    host: str,
    binary: str,
    topic: str,
    zone: str,
    rpc_version: str | None = None,
    cluster_name: str | None = None,
) -> int:
    """Create or refresh the row of a starting service; returns its id.

    ``rpc_version``: the version of its RPC API the service answers;
    ``cluster_name``: the cluster's backend name of a member of a cluster (None: none).
    """
    try:
        return _upsert(db, host, binary, topic, zone, rpc_version, cluster_name)
    except exc.IntegrityError:
        return _upsert(db, host, binary, topic, zone, rpc_version, cluster_name)


@db_api.writer
def heartbeat(session: Session, service_id: int, capabilities: dict | None = None) -> None:
    """Record that the service is alive (and, if given, what it can do)."""
    row = session.get(models.Service, service_id)
    if row is None:
        raise exception.ServiceNotFound(host=str(service_id))
    now = clock.utc_now()
    row.last_heartbeat = now
    row.report_count += 1
    if capabilities is not None:
        row.capabilities = json.dumps(capabilities, sort_keys=True)
        row.capabilities_updated_at = now


@db_api.reader
def get_by_host(session: Session, host: str, binary: str, down_time: int | None = None) -> dict:
    stmt = sa.select(models.Service, clock.utc_now()).where(
        models.Service.host == host, models.Service.binary == binary
    )
    found = session.execute(stmt).first()
    if found is None:
        raise exception.ServiceNotFound(host=host)
    row, now = found
    return to_dict(row, down_time, now)


@db_api.reader
def get_backend(session: Session, name: str, binary: str, down_time: int) -> dict:
    """The service a request naming ``name`` (a host or a cluster) is for, with ``is_up``.

    A service whose host is ``name`` answers first (its ``backend`` is its cluster
    if it is a member of one). Otherwise ``name`` is a cluster: the answer is its
    member that serves best (enabled and up, else up, else the newest heartbeat),
    named as the cluster (``host`` and ``backend`` are ``name``), with that member's
    zone and capabilities. Raises ServiceNotFound when ``name`` is neither.
    """
    own = sa.select(models.Service, clock.utc_now()).where(
        models.Service.host == name, models.Service.binary == binary
    )
    found = session.execute(own).first()
    if found is not None:
        return to_dict(found[0], down_time, found[1])
    members = sa.select(models.Service, clock.utc_now()).where(
        models.Service.cluster_name == name, models.Service.binary == binary
    )
    candidates = [to_dict(row, down_time, now) for row, now in session.execute(members)]
    if not candidates:
        raise exception.ServiceNotFound(host=name)
    best = max(
        candidates,
        key=lambda s: (s["is_up"] and not s["disabled"], s["is_up"], s["last_heartbeat"] or ""),
    )
    return {**best, "host": name}


@db_api.reader
def list_all(
    session: Session,
    binary: str | None = None,
    down_time: int | None = None,
    host: str | None = None,
) -> list[dict]:
    """Every service (of ``binary``, on ``host``), by binary and host."""
    stmt = sa.select(models.Service, clock.utc_now()).order_by(
        models.Service.binary, models.Service.host
    )
    if binary is not None:
        stmt = stmt.where(models.Service.binary == binary)
    if host is not None:
        stmt = stmt.where(models.Service.host == host)
    return [to_dict(row, down_time, now) for row, now in session.execute(stmt)]


@db_api.writer
def set_disabled(
    session: Session, host: str, binary: str, disabled: bool, reason: str | None = None
) -> dict:
    """Disable (with ``reason``, which a manage refused for it names) or enable the service
    ``binary`` on ``host``; enabling clears the reason. Returns the service; raises
    ServiceNotFound."""
    stmt = sa.select(models.Service).where(
        models.Service.host == host, models.Service.binary == binary
    )
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.ServiceNotFound(host=host, binary=binary)
    row.disabled = disabled
    row.disabled_reason = reason if disabled else None
    session.flush()
    return to_dict(row)


@db_api.reader
def rpc_versions(session: Session, binary: str) -> list[str | None]:
    """The RPC version each recorded service ``binary`` answers, up or down (None: one
    that started before the schema recorded it); what ``[upgrade_levels] = auto`` caps
    by."""
    stmt = sa.select(models.Service.rpc_version).where(models.Service.binary == binary)
    return list(session.scalars(stmt))


@db_api.writer
def remove(session: Session, host: str, binary: str, down_time: int) -> dict:
    """Forget the service ``binary`` on ``host`` (retired, or renamed): its row goes, so
    it no longer shows in listings nor holds back an ``auto`` upgrade level. A service
    that is up is refused (ServiceUnavailable): stop it first. Its volumes are untouched.
    Returns the removed service; raises ServiceNotFound."""
    stmt = sa.select(models.Service, clock.utc_now()).where(
        models.Service.host == host, models.Service.binary == binary
    )
    found = session.execute(stmt).first()
    if found is None:
        raise exception.ServiceNotFound(host=host, binary=binary)
    row, now = found
    if is_up(row.last_heartbeat, down_time, now):
        raise exception.ServiceUnavailable(
            host=host,
            reason=f"{binary} is up (last heartbeat {row.last_heartbeat:%Y-%m-%d %H:%M:%S}); "
            "stop it before removing it",
        )
    removed = to_dict(row)
    session.delete(row)
    session.flush()
    return removed
