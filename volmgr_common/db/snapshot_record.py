"""The snapshot record: its statuses, its shape, and how a row becomes one.

A snapshot goes through the statuses a volume does (``managing`` → ``available`` |
``error_managing``; ``available`` → ``unmanaging`` → removed; ``error_managing`` →
removed), with the same names (:mod:`volmgr_common.db.volume_record`), and the REST
view maps them as Cinder's snapshot view does. A record is plain data (a TypedDict):
what every snapshot query returns, what flows pass along and what crosses RPC.

Shape (stable; the chain adoption builds on it): ``id``, ``volume_id``,
``project_id``, ``user_id``, ``name``, ``description``, ``status``, ``host`` (the
parent volume's ``host@backend#pool``), ``volume_type_id``, ``volume_size`` (GiB,
None until the driver reported it), ``progress``, ``reference`` (dict),
``provider_location``, ``backend_identity``, ``provenance``, ``consumes_quota``,
``metadata`` (dict), ``failure_reason``, ``request_id``, ``created_at``,
``updated_at`` (ISO 8601, naive UTC).
"""

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TypedDict

from volmgr_common.db import models
from volmgr_common.db.volume_record import (  # noqa: F401 - the snapshot's statuses too
    AVAILABLE,
    DELETING,
    ERROR_MANAGING,
    MANAGING,
    UNMANAGING,
)


class SnapshotRecord(TypedDict):
    """A snapshot as every caller sees it."""

    id: str
    volume_id: str
    project_id: str
    user_id: str | None
    name: str | None
    description: str | None
    status: str
    host: str
    volume_type_id: str | None
    volume_size: int | None
    progress: str | None
    reference: dict[str, Any]
    provider_location: str | None
    backend_identity: str | None
    provenance: dict[str, Any] | None
    consumes_quota: bool
    metadata: dict[str, str]
    failure_reason: str | None
    request_id: str | None
    created_at: str | None
    updated_at: str | None


class ClaimedSnapshot(SnapshotRecord):
    """A snapshot a flow has claimed: its ownership token and the gigabytes it holds."""

    flow_owner: str
    held_gigabytes: int


class SnapshotRecoveryRow(SnapshotRecord):
    """A snapshot found by a recovery scan: its flow owner and when it last changed."""

    flow_owner: str | None
    last_change: dt.datetime


COLUMNS = tuple(column.key for column in models.table_of(models.Snapshot).columns)
"""The names of every column of a snapshot row."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_record(columns: Mapping[Any, Any], metadata: Mapping[str, str]) -> SnapshotRecord:
    """The record of a row given as its column values and metadata."""
    return {
        "id": columns["id"],
        "volume_id": columns["volume_id"],
        "project_id": columns["project_id"],
        "user_id": columns["user_id"],
        "name": columns["display_name"],
        "description": columns["display_description"],
        "status": columns["status"],
        "host": columns["host"],
        "volume_type_id": columns["volume_type_id"],
        "volume_size": columns["volume_size"],
        "progress": columns["progress"],
        "reference": json.loads(columns["reference"]),
        "provider_location": columns["provider_location"],
        "backend_identity": columns["backend_identity"],
        "provenance": columns["provenance"],
        "consumes_quota": bool(columns["quota_snapshots"]),
        "metadata": dict(metadata),
        "failure_reason": columns["failure_reason"],
        "request_id": columns["request_id"],
        "created_at": _iso(columns["created_at"]),
        "updated_at": _iso(columns["updated_at"]),
    }


def to_record(row: models.Snapshot) -> SnapshotRecord:
    """The record of a loaded row (with its metadata)."""
    return as_record(
        {name: getattr(row, name) for name in COLUMNS},
        {m.key: m.value for m in row.snapshot_metadata},
    )
