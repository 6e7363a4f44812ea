"""User messages as Cinder builds them: an event id and a text from an action and a detail.

A message's ``event_id`` is ``VOLUME_<resource>_<action id>_<detail id>`` (Cinder's
``VOLUME_VOLUME_001_003``) and its ``user_message`` is ``"<action>: <detail>"``
(``"manage existing volume: Could not find any available weighted backend."``),
both from fixed tables: a user message never carries an internal status, an
exception's name or a server path; the volume's ``failure_reason`` and the service
log keep the particulars for the operator.

The ids that Cinder defines (``cinder/message/message_field.py``) mean the same
here; what Cinder has no id for (managing an existing object is not one of its
message actions) takes an id of volmgr's own from 901 on, a range Cinder's
sequential ids will not reach.
"""

import dataclasses

from volmgr_common import exception

RESOURCE_VOLUME = "VOLUME"
RESOURCE_SNAPSHOT = "VOLUME_SNAPSHOT"  # Cinder's resource type of a snapshot


@dataclasses.dataclass(frozen=True)
class Field:
    """An action or a detail: its three-digit id and its words."""

    id: str
    text: str


class Action:
    MANAGE_EXISTING = Field("901", "manage existing volume")  # volmgr's own
    MANAGE_EXISTING_SNAPSHOT = Field("902", "manage existing snapshot")  # volmgr's own
    AUDIT = Field("903", "audit volume")  # volmgr's own

    ALL = (MANAGE_EXISTING, MANAGE_EXISTING_SNAPSHOT, AUDIT)


class Detail:
    UNKNOWN_ERROR = Field("001", "An unknown error occurred.")
    NO_BACKEND_AVAILABLE = Field("003", "Could not find any available weighted backend.")
    QUOTA_EXCEED = Field("006", "Not enough quota resource for operation.")
    # volmgr's own:
    INVALID_REFERENCE = Field(
        "901", "The backend reference does not name an object that can be managed."
    )
    ALREADY_MANAGED = Field("902", "The backend object is already managed or being managed.")
    DRIVER_FAILED_MANAGE = Field("903", "The volume driver failed to manage the backend object.")
    SERVICE_UNAVAILABLE = Field("904", "The volume service of the backend is unavailable.")
    # What an audit found (volmgr_common.drift), one detail per kind of drift:
    DRIFT_MISSING = Field("905", "The backend object of the volume is missing.")
    DRIFT_RENAMED = Field("906", "The backend object of the volume was renamed on the backend.")
    DRIFT_REPLACED = Field("907", "Another backend object has taken the volume's name.")
    DRIFT_RESIZED = Field("908", "The size of the volume's backend object changed.")
    DRIFT_MARK_MISSING = Field("909", "The ownership mark of the volume's backend object is gone.")
    DRIFT_CLEARED = Field("910", "The volume's backend object matches its record again.")
    SNAPSHOTS_NOT_SUPPORTED = Field("911", "The backend of the volume does not manage snapshots.")

    ALL = (
        UNKNOWN_ERROR,
        NO_BACKEND_AVAILABLE,
        QUOTA_EXCEED,
        INVALID_REFERENCE,
        ALREADY_MANAGED,
        DRIVER_FAILED_MANAGE,
        SERVICE_UNAVAILABLE,
        DRIFT_MISSING,
        DRIFT_RENAMED,
        DRIFT_REPLACED,
        DRIFT_RESIZED,
        DRIFT_MARK_MISSING,
        DRIFT_CLEARED,
        SNAPSHOTS_NOT_SUPPORTED,
    )

    DRIFT = {
        "missing": DRIFT_MISSING,
        "renamed": DRIFT_RENAMED,
        "replaced": DRIFT_REPLACED,
        "resized": DRIFT_RESIZED,
        "mark_missing": DRIFT_MARK_MISSING,
    }
    """The detail of each kind of drift (volmgr_common.drift.KINDS)."""


# The detail of each failure volmgr records, by exception class (the first match wins).
EXCEPTION_DETAILS: tuple[tuple[type[BaseException], Field], ...] = (
    (exception.NoValidBackend, Detail.NO_BACKEND_AVAILABLE),
    (exception.QuotaError, Detail.QUOTA_EXCEED),
    (exception.ManageExistingAlreadyManaged, Detail.ALREADY_MANAGED),
    (exception.ManageExistingInvalidReference, Detail.INVALID_REFERENCE),
    (exception.VolumeDriverException, Detail.DRIVER_FAILED_MANAGE),
    (exception.ServiceUnavailable, Detail.SERVICE_UNAVAILABLE),
    (exception.SnapshotsNotSupported, Detail.SNAPSHOTS_NOT_SUPPORTED),
    (exception.InvalidSnapshot, Detail.INVALID_REFERENCE),
    (exception.MessagingUnavailable, Detail.SERVICE_UNAVAILABLE),
)


def detail_for(error: BaseException | None) -> Field:
    """The detail of a failure: by its exception's class, else UNKNOWN_ERROR."""
    for kind, detail in EXCEPTION_DETAILS:
        if isinstance(error, kind):
            return detail
    return Detail.UNKNOWN_ERROR


def detail_by_id(detail_id: str | None) -> Field:
    """The detail of an id; UNKNOWN_ERROR for None or an id volmgr does not know."""
    return next((d for d in Detail.ALL if d.id == detail_id), Detail.UNKNOWN_ERROR)


def event_id(action: Field, detail: Field, resource: str = RESOURCE_VOLUME) -> str:
    """Cinder's event id, e.g. ``VOLUME_VOLUME_901_003``."""
    return f"VOLUME_{resource}_{action.id}_{detail.id}"


def user_message(action: Field, detail: Field) -> str:
    """Cinder's user message: ``"<action>: <detail>"``."""
    return f"{action.text}: {detail.text}"
