"""The provenance of a managed volume: where its backend object came from.

Recorded once, on the row, in the transaction that records the object's identity
(:func:`volmgr_common.db.volume_identity.record_identities`), and never changed
after: the reference as the request gave it, the object's name before volmgr
renamed it, its exact size in bytes and its backend identity (a file's
``device:inode``, an LV's uuid), on which backend, when, and for whom (user,
project, request id). ``adoption_job_id`` names the adoption job that asked for
the manage (null for a single request); it is filled in the transaction that
records the identity, from the job's item that names the volume. Admins see the record
as ``os-vol-provenance-attr:provenance`` in a volume's detail; it also travels in
the ``volume.unmanage.end`` notification, which is what remains of it once the
row is gone.
"""

import datetime as dt
from typing import Any

from volmgr_common.db.volume_record import VolumeRecord

KEYS = (
    "reference",
    "original_name",
    "size_bytes",
    "backend",
    "backend_identity",
    "requested_at",
    "recorded_at",
    "user_id",
    "project_id",
    "request_id",
    "adoption_job_id",
)
"""Every key of a provenance record, in the order they are documented."""


def record(
    volume: VolumeRecord,
    backend: str,
    identity: str,
    original_name: str | None,
    size_bytes: int | None,
) -> dict[str, Any]:
    """The provenance of ``volume``'s object as the driver found it on ``backend``."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {
        "reference": dict(volume["reference"]),
        "original_name": original_name,
        "size_bytes": size_bytes,
        "backend": backend,
        "backend_identity": identity,
        "requested_at": volume["created_at"],
        "recorded_at": now.isoformat(),
        "user_id": volume["user_id"],
        "project_id": volume["project_id"],
        "request_id": volume["request_id"],
        "adoption_job_id": None,
    }
