"""The audit's queries: managed volumes read in pages, drift recorded and cleared.

An audit reads the ``available`` volumes of a backend in pages ordered by id
(keyset paging: each page starts after the last id of the previous one), and
only the columns it compares, so that its memory does not grow with the number
of volumes. It writes only what changed: a drift that appears, changes or goes
away, each in a conditional update (the row is still ``available`` and still has
the drift kind the audit saw), with its user message in the same transaction.
"""

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import drift, message_field
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import messages, models
from volmgr_common.db.volume_record import AVAILABLE, VolumeRecord, to_record

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


def _audited(row: Any, managed_name: str) -> drift.AuditedVolume:
    provenance = row.provenance or {}
    size_bytes = provenance.get("size_bytes")
    return drift.AuditedVolume(
        id=row.id,
        managed_name=row.provider_location or managed_name,
        identity=row.backend_identity,
        size_gib=row.size,
        size_bytes=size_bytes if isinstance(size_bytes, int) else None,
        reference=json.loads(row.reference),
        original_name=provenance.get("original_name"),
        drift=row.drift,
    )


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
    stmt = (
        sa.select(
            table.c.id,
            table.c.provider_location,
            table.c.backend_identity,
            table.c.size,
            table.c.reference,
            table.c.provenance,
            table.c.drift,
        )
        .where(rows_db.placed_on(backends), table.c.status == AVAILABLE)
        .order_by(table.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(table.c.id > after)
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
            messages.add_in(
                session,
                row.project_id,
                request_id,
                row.id,
                message_field.event_id(action, detail),
                message_field.user_message(action, detail),
                level=level,
            )
        session.flush()
        made.append((change, to_record(row)))
    return made
