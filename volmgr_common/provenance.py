"""The provenance of a managed volume: where its backend object came from.

Recorded once, on the row, in the transaction that records the object's identity
(:func:`volmgr_common.db.volume_identity.record_identities`), and never changed
after: the reference as the request gave it, the object's name before volmgr
renamed it, its exact size in bytes and its backend identity (a file's
``device:inode``, an LV's uuid), on which backend, when, and for whom (user,
project, request id). ``adoption_job_id`` names the adoption job that asked for
the manage (null for a single request); it is filled in the transaction that
records the identity, from the job's item that names the volume. ``readopted`` is
true when the manage re-adopted an orphan (an object left in managed form by a
volume its database forgot, see ``volmgr_volume.orphans``) where it stood, without
a rename: the record then says when and by whom (``recorded_at``, ``user_id``,
``request_id``) it was re-adopted, for which project, and ``original_name`` is the
managed name it already had. Admins see the record
as ``os-vol-provenance-attr:provenance`` in a volume's detail; it also travels in
the ``volume.unmanage.end`` notification, which is what remains of it once the
row is gone.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

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
    "readopted",
)
"""Every key of a provenance record, in the order they are documented."""


def record(
    volume: Mapping[str, Any],
    backend: str,
    identity: str,
    original_name: str | None,
    size_bytes: int | None,
    readopted: bool = False,
) -> dict[str, Any]:
    """The provenance of ``volume``'s object (or a snapshot's: any record with a
    reference, a creation time, a user, a project and a request id) as the driver
    found it on ``backend`` (``readopted``: an orphan re-adopted where it stood)."""
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
        "readopted": readopted,
    }
