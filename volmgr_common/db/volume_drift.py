"""The audit's queries: managed volumes read in pages, drift recorded and cleared.

An audit reads the ``available`` volumes of a backend in pages ordered by id
(keyset paging: each page starts after the last id of the previous one, along
the ``(status, id)`` index, so that a page costs the same wherever it is), and
only the columns it compares, so that its memory does not grow with the number
of volumes. It writes only what changed: a drift that appears, changes or goes
away, each in a conditional update (the row is still ``available`` and still has
the drift kind the audit saw), with its user message in the same transaction.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import drift, message_field
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import messages, models
from volmgr_common.db.volume_record import AVAILABLE, VolumeRecord, to_record

SQLITE_CACHE_KIB = 32 * 1024
"""The page cache an audit gives its SQLite connection: the rows of a page are read
in id order, which is not the order they are stored in, and SQLite's default cache
(2 MiB) would read most of them from the file again."""

MESSAGE_LEVELS = {drift.DETECTED: "WARNING", drift.CLEARED: "INFO"}
"""The level of the user message of each change that has one."""


@dataclasses.dataclass(frozen=True)
class DriftChange:
    """What an audit changes on one volume: ``record`` (None: the drift cleared) in
    place of the drift of kind ``previous_kind`` it read."""

    volume_id: str
    previous_kind: str | None
    record: dict[str, Any] | None

    @property
    def event(self) -> str:
        if self.record is None:
            return drift.CLEARED
        if self.record["kind"] == self.previous_kind:
            return drift.CHANGED
        return drift.DETECTED


def _integer(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _audited(row: Any, managed_name: str) -> drift.AuditedVolume:
    return drift.AuditedVolume(
        id=row.id,
        managed_name=row.provider_location or managed_name,
        identity=row.backend_identity,
        size_gib=row.size,
        size_bytes=_integer(row.size_bytes),
        reference_json=row.reference,
        original_name=row.original_name,
        drift=row.drift,
    )


def _enlarge_sqlite_cache(session: Session) -> None:
    """Give an SQLite connection the audit's page cache, once (it keeps it in the pool)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.info.get("audit_cache"):
        connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        connection.info["audit_cache"] = True


@db_api.reader
def audit_page(
    session: Session,
    backends: Sequence[str],
    name_template: str,
    after: str | None,
    limit: int,
) -> list[drift.AuditedVolume]:
    """Up to ``limit`` ``available`` volumes placed on ``backends``, by id, after the id
    ``after``; ``name_template`` (``%s`` = the id) names a volume without a provider
    location."""
    table = models.table_of(models.Volume)
    # Two keys of the provenance, extracted by the database: decoding the whole
    # document of every row would cost more than the rest of the audit.
    stmt = (
        sa.select(
            table.c.id,
            table.c.provider_location,
            table.c.backend_identity,
            table.c.size,
            table.c.reference,
            table.c.provenance["size_bytes"].as_string().label("size_bytes"),
            table.c.provenance["original_name"].as_string().label("original_name"),
            table.c.drift,
        )
        .where(rows_db.placed_on(backends), table.c.status == AVAILABLE)
        .order_by(table.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    _enlarge_sqlite_cache(session)
    return [_audited(row, name_template % row.id) for row in session.execute(stmt)]


@db_api.writer
def record_changes(
    session: Session, changes: Sequence[DriftChange], request_id: str | None
) -> list[tuple[DriftChange, VolumeRecord]]:
    """Make each change whose row is still ``available`` with the drift kind the audit
    read; a drift that appears or clears leaves a user message. Returns the changes
    made, each with its volume as it is now."""
    made: list[tuple[DriftChange, VolumeRecord]] = []
    for change in changes:
        row = rows_db.locked(session, change.volume_id)
        if row is None or row.status != AVAILABLE or row.drift_kind != change.previous_kind:
            continue
        row.drift = change.record
        row.drift_kind = None if change.record is None else change.record["kind"]
        level = MESSAGE_LEVELS.get(change.event)
        if level is not None:
            detail = (
                message_field.Detail.DRIFT_CLEARED
                if change.record is None
                else message_field.Detail.DRIFT[change.record["kind"]]
            )
            action = message_field.Action.AUDIT
            messages.add_event_in(
                session, row.project_id, request_id, row.id, action, detail, level=level
            )
        session.flush()
        made.append((change, to_record(row)))
    return made
