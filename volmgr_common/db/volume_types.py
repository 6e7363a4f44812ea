"""Queries on volume types and their extra specs; their listing is paged in SQL."""

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, paging
from volmgr_common.db.volume_filters import typed_value
from volmgr_common.page_request import PageRequest

COLUMNS = {column.key: column for column in models.table_of(models.VolumeType).columns}
"""What a listing of types may be sorted and filtered by (and ``extra_specs``)."""


def to_dict(volume_type: models.VolumeType) -> dict:
    return {
        "id": volume_type.id,
        "name": volume_type.name,
        "description": volume_type.description,
        "is_public": volume_type.is_public,
        "extra_specs": {s.key: s.value for s in volume_type.extra_specs},
    }


@db_api.reader
def get_by_name_or_id(session: Session, name_or_id: str) -> dict:
    stmt = sa.select(models.VolumeType).where(
        sa.or_(models.VolumeType.id == name_or_id, models.VolumeType.name == name_or_id)
    )
    row = session.scalars(stmt).first()
    if row is None:
        raise exception.VolumeTypeNotFound(volume_type=name_or_id)
    return to_dict(row)


@db_api.reader
def list_all(session: Session) -> list[dict]:
    """Every type, by name."""
    return [
        to_dict(t)
        for t in session.scalars(sa.select(models.VolumeType).order_by(models.VolumeType.name))
    ]


def _conditions(filters: Mapping[str, Any]) -> list[sa.ColumnElement[bool]] | None:
    """The WHERE conditions of ``filters``; None when they name what no type has."""
    found: list[sa.ColumnElement[bool]] = []
    for key, value in filters.items():
        if key == "extra_specs":
            if not isinstance(value, Mapping):
                return None
            found.extend(
                sa.exists().where(
                    models.VolumeTypeExtraSpec.volume_type_id == models.VolumeType.id,
                    models.VolumeTypeExtraSpec.key == str(spec),
                    models.VolumeTypeExtraSpec.value == str(wanted),
                )
                for spec, wanted in value.items()
            )
        elif key in COLUMNS:
            found.append(COLUMNS[key] == typed_value(COLUMNS[key], value))
        else:
            return None
    return found


@db_api.reader
def list_page(session: Session, filters: Mapping[str, Any], page: PageRequest) -> list[dict]:
    """One page of types passing ``filters`` (columns, ``extra_specs`` as a mapping
    every pair of which the type has), in the page's order then Cinder's default
    (``created_at``, ``id``; newest first when the page names no order)."""
    columns = paging.sort_columns(paging.with_default_keys(page.sort), COLUMNS)
    anchor = None
    if page.marker is not None:
        anchor = session.execute(
            paging.anchor_of(columns).where(models.VolumeType.id == page.marker)
        ).first()
        if anchor is None:
            raise exception.VolumeTypeNotFound(volume_type=page.marker[:40])
    where = _conditions(filters)
    if where is None:
        return []
    stmt = paging.paged(sa.select(models.VolumeType).where(*where), columns, page, anchor)
    return [to_dict(t) for t in session.scalars(stmt)]


@db_api.writer
def _insert(
    session: Session, name: str, extra_specs: dict[str, str], description: str | None
) -> dict:
    row = models.VolumeType(id=str(uuid.uuid4()), name=name, description=description)
    row.extra_specs = [models.VolumeTypeExtraSpec(key=k, value=v) for k, v in extra_specs.items()]
    session.add(row)
    session.flush()
    return to_dict(row)


def create(
    db: db_api.Database,
    name: str,
    extra_specs: dict[str, str] | None = None,
    description: str | None = None,
) -> dict:
    """Create a volume type; raises Invalid if the name is taken."""
    try:
        return _insert(db, name, extra_specs or {}, description)
    except exc.IntegrityError as error:
        raise exception.Invalid(reason=f"volume type {name!r} already exists") from error


def get_or_create(db: db_api.Database, name: str) -> dict:
    """The named type, created without extra specs if it does not exist yet."""
    try:
        return get_by_name_or_id(db, name)
    except exception.VolumeTypeNotFound:
        pass
    try:
        return _insert(db, name, {}, "Default volume type")
    except exc.IntegrityError:
        return get_by_name_or_id(db, name)
