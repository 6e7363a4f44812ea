"""Reading volumes: one by id, listings with their filters, counts, managed names.

The statuses and the record every query returns are in
:mod:`volmgr_common.db.volume_record`; writes are in ``volume_creation``,
``volume_ownership``, ``volume_transitions`` and ``volume_recovery``.
"""

import json
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import _volume_rows as rows_db
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging
from volmgr_common.db.volume_record import ERROR_MANAGING, VolumeRecord, to_record
from volmgr_common.page_request import PageRequest

CREATED_AT = "created_at"
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
    status: str | None = None,
    host: str | None = None,
    name: str | None = None,
    bootable: bool | None = None,
    metadata: Mapping[str, str] | None = None,
) -> list[VolumeRecord]:
    """One page of volumes ordered by creation time then id (the only order offered);
    by default, every volume.

    Each filter given narrows the listing: ``name`` exactly, ``bootable``, and every
    key and value of ``metadata``.
    """
    if page.sort not in ((), ((CREATED_AT, "asc"),)):
        raise exception.InvalidInput(reason="volumes are listed oldest first only")
    columns: list[paging.SortColumn] = [
        (models.Volume.created_at, paging.ASC),
        (models.Volume.id, paging.ASC),
    ]
    stmt = sa.select(models.Volume).order_by(*paging.order_by(columns))
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    if status is not None:
        stmt = stmt.where(models.Volume.status == status)
    if name is not None:
        stmt = stmt.where(models.Volume.display_name == name)
    if bootable is not None:
        stmt = stmt.where(models.Volume.bootable == bootable)
    for key, value in (metadata or {}).items():
        stmt = stmt.where(
            sa.exists().where(
                models.VolumeMetadata.volume_id == models.Volume.id,
                models.VolumeMetadata.key == key,
                models.VolumeMetadata.value == value,
            )
        )
    if host is not None:
        stmt = stmt.where(sa.or_(models.Volume.host == host, models.Volume.host.like(f"{host}#%")))
    if page.marker is not None:
        anchor = session.get(models.Volume, page.marker)
        if anchor is None:
            raise exception.VolumeNotFound(volume_id=page.marker)
        stmt = stmt.where(paging.after(columns, (anchor.created_at, anchor.id)))
    stmt = stmt.offset(page.offset or None).limit(page.limit)
    return [to_record(r) for r in session.scalars(stmt)]


@db_api.reader
def count_and_size(session: Session, project_id: str | None = None) -> tuple[int, int]:
    """How many volumes (of ``project_id``, or of every project) and their GiB in all."""
    stmt = sa.select(
        sa.func.count(models.Volume.id), sa.func.coalesce(sa.func.sum(models.Volume.size), 0)
    )
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)
    count, size = session.execute(stmt).one()
    return int(count), int(size or 0)
