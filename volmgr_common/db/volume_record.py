"""The volume record: its statuses, its shape, and how a row becomes one.

A record is plain data (a TypedDict): what every query returns, what flows and
workers pass along and what crosses RPC, so both sides see the same keys and
mypy checks them. Queries that add keys of their own extend it.
"""

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TypedDict

from volmgr_common.db import models

MANAGING = "managing"
AVAILABLE = "available"
ERROR_MANAGING = "error_managing"
UNMANAGING = "unmanaging"
DELETING = "error_managing_deleting"


class VolumeRecord(TypedDict):
    """A volume as every caller sees it; times are ISO 8601 strings (naive UTC)."""

    id: str
    project_id: str
    user_id: str | None
    name: str | None
    description: str | None
    status: str
    host: str
    availability_zone: str
    volume_type_id: str
    volume_type: str | None
    size: int | None
    bootable: bool
    reference: dict[str, Any]
    provider_location: str | None
    backend_identity: str | None
    provenance: dict[str, Any] | None
    drift: dict[str, Any] | None
    consumes_quota: bool
    metadata: dict[str, str]
    failure_reason: str | None
    request_id: str | None
    with_snapshots: bool
    created_at: str | None
    updated_at: str | None
    launched_at: str | None
    scheduled_at: str | None


class ClaimedVolume(VolumeRecord):
    """A volume a flow has claimed: its ownership token, and the gigabytes an earlier
    run already committed."""

    held_gigabytes: int
    flow_owner: str


class RecoveryRow(VolumeRecord):
    """A volume found by a recovery scan: the flow that owns it and when it last changed."""

    flow_owner: str | None
    last_change: dt.datetime


COLUMNS = tuple(column.key for column in models.table_of(models.Volume).columns)
"""The names of every column of a volume row."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_record(
    columns: Mapping[Any, Any], type_name: str | None, metadata: Mapping[str, str]
) -> VolumeRecord:
    """The record of a row given as its column values, type name and metadata."""
    return {
        "id": columns["id"],
        "project_id": columns["project_id"],
        "user_id": columns["user_id"],
        "name": columns["display_name"],
        "description": columns["display_description"],
        "status": columns["status"],
        "host": columns["host"],
        "availability_zone": columns["availability_zone"],
        "volume_type_id": columns["volume_type_id"],
        "volume_type": type_name,
        "size": columns["size"],
        "bootable": columns["bootable"],
        "reference": json.loads(columns["reference"]),
        "provider_location": columns["provider_location"],
        "backend_identity": columns["backend_identity"],
        "provenance": columns["provenance"],
        "drift": columns["drift"],
        "consumes_quota": bool(columns["quota_volumes"]),
        "metadata": dict(metadata),
        "failure_reason": columns["failure_reason"],
        "request_id": columns["request_id"],
        "with_snapshots": bool(columns.get("with_snapshots")),
        "created_at": _iso(columns["created_at"]),
        "updated_at": _iso(columns["updated_at"]),
        "launched_at": _iso(columns["launched_at"]),
        "scheduled_at": _iso(columns["scheduled_at"]),
    }


def to_record(row: models.Volume) -> VolumeRecord:
    """The record of a loaded row (with its type and metadata)."""
    return as_record(
        {name: getattr(row, name) for name in COLUMNS},
        row.volume_type.name if row.volume_type else None,
        {m.key: m.value for m in row.volume_metadata},
    )
