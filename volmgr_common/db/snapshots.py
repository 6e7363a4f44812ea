"""Reading snapshots: one by id, a page of them, those of a volume, managed names.

Statuses and the record are in :mod:`volmgr_common.db.snapshot_record`; writes are
in ``snapshot_creation``, ``snapshot_identity``, ``snapshot_ownership``,
``snapshot_transitions`` and ``snapshot_recovery``.

API (stable): ``get(db, snapshot_id, project_id=None) -> SnapshotRecord``;
``list_snapshots(db, page, project_id=None, filters=None) -> list[SnapshotRecord]``
(filters ``status``, ``volume_id``, ``name``, ``name~``, ``metadata``; any other
filter matches no snapshot, as Cinder answers an administrator); ``count_of_volume(db, volume_id) ->
int``; ``managed_objects(db, backend) -> {name: snapshot_id}``.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging, volume_filters
from volmgr_common.db.snapshot_record import ERROR_MANAGING, SnapshotRecord, to_record
from volmgr_common.page_request import PageRequest

S = models.Snapshot
_T = models.table_of(S)

SORT_KEYS: dict[str, sa.ColumnElement[Any]] = {
    "id": _T.c.id,
    "created_at": _T.c.created_at,
    "updated_at": _T.c.updated_at,
    "name": _T.c.display_name,
    "display_name": _T.c.display_name,
    "status": _T.c.status,
    "size": _T.c.volume_size,
    "volume_size": _T.c.volume_size,
    "volume_id": _T.c.volume_id,
    "project_id": _T.c.project_id,
}
"""The keys a snapshot listing may be sorted by (Cinder's names), and their columns."""

EVERY_SNAPSHOT = PageRequest()
"""The page of a listing that wants every snapshot."""

FILTERS = {"status": S.status, "volume_id": S.volume_id, "name": S.display_name}
"""The filters a snapshot listing takes (Cinder's), and the columns they compare; also
``name~`` (the name contains the text), ``metadata`` (a mapping every pair of which
the snapshot carries) and ``availability_zone`` (that of the snapshot's volume)."""


def _metadata(pairs: Any) -> list[sa.ColumnElement[bool]]:
    if not isinstance(pairs, Mapping):
        return [sa.false()]
    return [
        sa.exists().where(
            models.SnapshotMetadata.snapshot_id == S.id,
            models.SnapshotMetadata.key == str(key),
            models.SnapshotMetadata.value == str(value),
        )
        for key, value in pairs.items()
    ]


def conditions(filters: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a listing's ``filters``; a filter no snapshot has (an
    administrator may pass any) matches none, as in Cinder."""
    found: list[sa.ColumnElement[bool]] = []
    for key, value in filters.items():
        if key == "metadata":
            found.extend(_metadata(value))
        elif key == "availability_zone":  # the zone of the snapshot's volume, as in Cinder
            found.append(
                sa.exists().where(
                    models.Volume.id == S.volume_id,
                    models.Volume.availability_zone == str(value),
                )
            )
        elif key.endswith("~") and key[:-1] in FILTERS:
            found.append(volume_filters.like(_T.c[FILTERS[key[:-1]].key], value))
        elif key in FILTERS:
            found.append(FILTERS[key] == str(value))
        else:
            found.append(sa.false())
    return found


def placed_on(backends: str | Sequence[str]) -> sa.ColumnElement[bool]:
    """The snapshot's volume is placed on one of ``backends`` (any pool of it)."""
    names = [backends] if isinstance(backends, str) else list(backends)
    return sa.or_(*(c for n in names for c in (S.host == n, S.host.like(f"{n}#%"))))


@db_api.reader
def get(session: Session, snapshot_id: str, project_id: str | None = None) -> SnapshotRecord:
    """The snapshot; with ``project_id``, only if that project owns it."""
    row = session.get(S, snapshot_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id[:40])
    return to_record(row)


@db_api.reader
def list_snapshots(
    session: Session,
    page: PageRequest = EVERY_SNAPSHOT,
    project_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
) -> list[SnapshotRecord]:
    """One page of snapshots (of ``project_id``, or of every project), Cinder's order:
    the page's keys, then ``created_at`` and ``id`` (newest first by default), after
    the marker (a snapshot the caller may see, else SnapshotNotFound)."""
    columns = paging.sort_columns(paging.with_default_keys(page.sort), SORT_KEYS)
    scope = [] if project_id is None else [S.project_id == project_id]
    where = conditions(filters or {})
    anchor = None
    if page.marker is not None:
        anchor = session.execute(
            paging.anchor_of(columns).where(S.id == page.marker, *scope)
        ).first()
        if anchor is None:
            raise exception.SnapshotNotFound(snapshot_id=page.marker[:40])
    stmt = paging.paged(sa.select(S).where(*scope, *where), columns, page, anchor)
    return [to_record(row) for row in session.scalars(stmt)]


@db_api.reader
def count_snapshots(
    session: Session, project_id: str | None = None, filters: Mapping[str, Any] | None = None
) -> int:
    """How many snapshots (of ``project_id``, or of every project) pass ``filters``, in
    all pages: one SQL count (a listing's ``with_count``)."""
    scope = [] if project_id is None else [S.project_id == project_id]
    stmt = sa.select(sa.func.count(S.id)).where(*scope, *conditions(filters or {}))
    return int(session.execute(stmt).scalar_one())


@db_api.reader
def count_of_volume(session: Session, volume_id: str) -> int:
    """How many snapshot rows (any status) name ``volume_id`` as their volume."""
    stmt = sa.select(sa.func.count(S.id)).where(S.volume_id == volume_id)
    return int(session.execute(stmt).scalar_one())


@db_api.reader
def managed_objects(session: Session, backend: str | Sequence[str]) -> dict[str, str]:
    """``{name: snapshot_id}`` of the snapshots on ``backend``: their provider location,
    or for a row still ``managing`` its reference's ``source-name`` (so a listing does
    not offer it as safe)."""
    stmt = sa.select(S.provider_location, S.reference, S.id).where(
        placed_on(backend), S.status != ERROR_MANAGING
    )
    managed: dict[str, str] = {}
    for location, reference, snapshot_id in session.execute(stmt):
        name = location or json.loads(reference).get("source-name")
        if isinstance(name, str):
            managed[name] = snapshot_id
    return managed
