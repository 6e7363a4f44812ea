"""Who works on a ``managing`` row: the scheduler's placement and the flow that owns it.

A scheduler records the pool it chose once (:func:`place_many`); a volume service
claims the rows its flows will run (:func:`claim_flows`), and frees the rows a
dead process's flows owned (:func:`take_over_flow`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import clock, models
from volmgr_common.db.volume_record import MANAGING, ClaimedVolume, as_record


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
    session: Session, volume_ids: Sequence[str], owner: str
) -> dict[str, ClaimedVolume]:
    """Take the ``managing`` rows among ``volume_ids`` that no flow owns, in one transaction.

    Returns ``{volume_id: volume}`` of the rows taken; a row absent, done or owned
    is left out. Each volume also carries ``held_gigabytes``: the gigabytes of quota
    an earlier run of the same request already committed to the row.
    """
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
        }
        for volume_id, row in rows.items()
    }
    if claimed:
        session.execute(
            sa.update(models.Volume)
            .where(models.Volume.id.in_(sorted(claimed)))
            .values(flow_owner=owner, updated_at=clock.utc_now())
            .execution_options(synchronize_session=False)
        )
    return claimed


def claim_flow(db: db_api.Database, volume_id: str, owner: str) -> ClaimedVolume | None:
    """Take one ``managing`` row that no flow owns; None if absent, done or owned."""
    return claim_flows(db, [volume_id], owner).get(volume_id)


@db_api.writer
def take_over_flow(session: Session, volume_id: str, dead_owner: str) -> bool:
    """Free a ``managing`` row that a flow of a dead process owned."""
    return rows_db.update_where(
        session,
        volume_id,
        models.Volume.status == MANAGING,
        models.Volume.flow_owner == dead_owner,
        flow_owner=None,
    )
