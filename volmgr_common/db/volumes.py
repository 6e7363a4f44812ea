"""Reading volumes: one by id, listings with their filters, counts, managed names.

The statuses and the record every query returns are in
:mod:`volmgr_common.db.volume_record`; writes are in ``volume_creation``,
``volume_ownership``, ``volume_transitions`` and ``volume_recovery``.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging, volume_filters
from volmgr_common.db.volume_record import ERROR_MANAGING, VolumeRecord, to_record
from volmgr_common.page_request import PageRequest

EVERY_VOLUME = PageRequest()
"""The page of a listing that wants every volume."""


@db_api.reader
def get(session: Session, volume_id: str, project_id: str | None = None) -> VolumeRecord:
    """The volume; with ``project_id``, only if that project owns it."""
    row = session.get(models.Volume, volume_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    return to_record(row)


@db_api.reader
def get_many(session: Session, volume_ids: Sequence[str]) -> dict[str, VolumeRecord]:
    """The volumes among ``volume_ids`` that exist, by id (one query; types and
    metadata loaded with them)."""
    rows = session.scalars(
        sa.select(models.Volume).where(models.Volume.id.in_(sorted(set(volume_ids))))
    ).unique()
    return {row.id: to_record(row) for row in rows}


@db_api.reader
def managed_objects(session: Session, backend: str | Sequence[str]) -> dict[str, str]:
    """``{provider_location: volume_id}`` of the volumes placed on ``backend`` (or on
    any of several names of one backend: a cluster's and a member's own).

    Rows still ``managing`` have no provider location yet; they are keyed by the
    reference's ``source-name`` so that a listing does not offer them as safe.
    """
    stmt = sa.select(
        models.Volume.provider_location, models.Volume.reference, models.Volume.id
    ).where(
        rows_db.placed_on(backend),
        models.Volume.status != ERROR_MANAGING,
    )
    managed: dict[str, str] = {}
    for location, reference, volume_id in session.execute(stmt):
        name = location or json.loads(reference).get("source-name")
        if isinstance(name, str):
            managed[name] = volume_id
    return managed


@db_api.reader
def list_volumes(
    session: Session,
    page: PageRequest = EVERY_VOLUME,
    project_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
) -> list[VolumeRecord]:
    """One page of volumes (of ``project_id``, or of every project) in one statement;
    by default every volume, newest first.

    ``filters`` are those of :mod:`volmgr_common.db.volume_filters` (a name no volume
    has gives an empty page). The page is sorted by its keys of
    :data:`~volmgr_common.db.volume_filters.SORT_KEYS`, then ``created_at`` and ``id``
    (Cinder's order; by default both descending), continued after its marker (a
    volume the caller may see, else VolumeNotFound), then offset and limited.
    """
    sort = paging.with_default_keys(page.sort)
    columns = paging.sort_columns(sort, volume_filters.SORT_KEYS)
    scope = [] if project_id is None else [models.Volume.project_id == project_id]
    anchor = None
    if page.marker is not None:
        anchor = session.execute(
            paging.anchor_of(columns).where(models.Volume.id == page.marker, *scope)
        ).first()
        if anchor is None:
            raise exception.VolumeNotFound(volume_id=page.marker[:40])
    try:
        where = volume_filters.conditions(filters or {})
    except volume_filters.NoMatch:
        return []
    stmt = paging.paged(sa.select(models.Volume).where(*scope, *where), columns, page, anchor)
    return [to_record(r) for r in session.scalars(stmt)]


@db_api.reader
def count_and_size(
    session: Session, project_id: str | None = None, filters: Mapping[str, Any] | None = None
) -> tuple[int, int]:
    """How many volumes (of ``project_id``, or of every project, passing ``filters``)
    and their GiB in all."""
    stmt = sa.select(
        sa.func.count(models.Volume.id), sa.func.coalesce(sa.func.sum(models.Volume.size), 0)
    )
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    try:
        stmt = stmt.where(*volume_filters.conditions(filters or {}))
    except volume_filters.NoMatch:
        return 0, 0
    count, size = session.execute(stmt).one()
    return int(count), int(size or 0)


@db_api.reader
def distinct_metadata(session: Session, project_id: str | None = None) -> dict[str, list[str]]:
    """Every metadata key of the volumes (of ``project_id``, or of every project) and
    its distinct values, both sorted."""
    meta = models.VolumeMetadata
    stmt = (
        sa.select(meta.key, meta.value)
        .distinct()
        .join(models.Volume, models.Volume.id == meta.volume_id)
        .order_by(meta.key, meta.value)
    )
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    found: dict[str, list[str]] = {}
    for key, value in session.execute(stmt):
        found.setdefault(key, []).append(value)
    return found


@db_api.reader
def known_objects(
    session: Session, volume_ids: Sequence[str], identity_keys: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Which of ``volume_ids`` a row has (in any status), and which of ``identity_keys``
    (``volume_identity.identity_key``) a row holds: one page of an orphan search."""
    v = models.table_of(models.Volume).c  # Core: no ORM work per row of a large search
    conn = session.connection()
    ids = set(conn.scalars(sa.select(v.id).where(v.id.in_(set(volume_ids)))))
    keys = set(
        conn.scalars(sa.select(v.identity_key).where(v.identity_key.in_(set(identity_keys))))
    )
    return ids, {key for key in keys if key is not None}
