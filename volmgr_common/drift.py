"""Drift: how a managed volume's backend object no longer matches what volmgr recorded.

An audit (``volmgr_volume.audit``) checks each ``available`` volume of a backend
against one reading of that backend (``VolumeDriver.start_audit``) and finds, per
volume, nothing or one :class:`Drift`, the first of these kinds that applies:

``missing``
    Nothing is under the managed name and the object (by its identity) is nowhere
    on the backend: it was deleted, or moved where the driver does not look.
``renamed``
    The object, known by its identity, is on the backend under another name (e.g.
    renamed back by hand); ``found["name"]`` says which.
``replaced``
    Another object (another identity) is under the managed name, and the volume's
    own object is nowhere.
``resized``
    The object is under its managed name but its size is not the size recorded
    (exact bytes when the provenance holds them, else whole GiB).
``mark_missing``
    An ownership mark the driver put on the object is gone (the LVM driver's
    ``volmgr-origin:`` tag of a volume managed by ``source-id``). A check that does
    not apply to a driver or a volume is never reported.

A drift is recorded on the volume (``drift_kind`` and ``drift`` with ``since``, the
first time it was seen), reported by a user message and a ``volume.drift``
notification when it appears and when it clears. An audit never changes a backend
object.
"""

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any

from volmgr_common.limits import size_in_gib

MISSING = "missing"
RENAMED = "renamed"
REPLACED = "replaced"
RESIZED = "resized"
MARK_MISSING = "mark_missing"
KINDS = (MISSING, RENAMED, REPLACED, RESIZED, MARK_MISSING)
"""Every kind of drift, most serious first."""

DETECTED = "detected"
CLEARED = "cleared"
CHANGED = "changed"


@dataclasses.dataclass(frozen=True)
class Drift:
    """What differs: its kind, what volmgr expected and what the backend shows."""

    kind: str
    expected: dict[str, Any]
    found: dict[str, Any]

    def record(self, since: str) -> dict[str, Any]:
        """The drift as stored on the volume (``drift`` column) and shown to admins."""
        return {"kind": self.kind, "expected": self.expected, "found": self.found, "since": since}


@dataclasses.dataclass
class AuditedVolume:
    """What an audit knows of one managed volume: the little it reads of its row.

    ``size_bytes`` is the exact size the provenance recorded (None for a volume
    managed before provenance, whose ``size_gib`` is compared instead). The
    reference is kept as the row stores it (JSON text) and decoded only by a
    driver that asks for it.
    """

    id: str
    managed_name: str
    identity: str | None
    size_gib: int | None
    size_bytes: int | None
    reference_json: str
    original_name: str | None
    drift: dict[str, Any] | None = None

    @functools.cached_property
    def reference(self) -> Mapping[str, Any]:
        """The reference the volume was managed by."""
        decoded = json.loads(self.reference_json)
        return decoded if isinstance(decoded, dict) else {}

    @property
    def drift_kind(self) -> str | None:
        return None if self.drift is None else self.drift.get("kind")


def size_drift(volume: AuditedVolume, found_bytes: int) -> Drift | None:
    """A ``resized`` drift when ``found_bytes`` is not the volume's recorded size."""
    if volume.size_bytes is not None:
        if found_bytes == volume.size_bytes:
            return None
        return Drift(RESIZED, {"size_bytes": volume.size_bytes}, {"size_bytes": found_bytes})
    if volume.size_gib is None:
        return None
    found_gib = size_in_gib(found_bytes)
    if found_gib == volume.size_gib:
        return None
    return Drift(RESIZED, {"size_gb": volume.size_gib}, {"size_gb": found_gib})


def gone(volume: AuditedVolume, holder_identity: str | None) -> Drift:
    """``replaced`` when another object holds the managed name, else ``missing``."""
    expected = {"name": volume.managed_name, "identity": volume.identity}
    if holder_identity is not None:
        return Drift(REPLACED, expected, {"name": volume.managed_name, "identity": holder_identity})
    return Drift(MISSING, expected, {"name": None, "identity": None})


def renamed(volume: AuditedVolume, name: str, holder_identity: str | None) -> Drift:
    """``renamed``: the object is under ``name``; ``holder_identity`` holds the managed name."""
    return Drift(
        RENAMED,
        {"name": volume.managed_name, "identity": volume.identity},
        {"name": name, "identity": volume.identity, "managed_name_holder": holder_identity},
    )
