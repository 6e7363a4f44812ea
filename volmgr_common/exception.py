"""Named exceptions of volmgr.

Each carries a message template filled from keyword arguments and an HTTP-like
``code``. Only subclasses of :class:`VolmgrException` listed in
:data:`REMOTE_EXCEPTIONS` may cross an RPC boundary; anything else is turned
into :class:`InternalError` by the server before it leaves the process.
"""

from typing import Any


class VolmgrException(Exception):
    """Base class: ``message`` is a template filled with the keyword arguments."""

    message = "An unknown error occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError, ValueError):
                message = self.message
        self.msg = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.msg


class InternalError(VolmgrException):
    message = "Internal error while handling request %(request_id)s; see the service log."


class NotAuthorized(VolmgrException):
    message = "Not authorized: %(reason)s"
    code = 403


class Invalid(VolmgrException):
    message = "Invalid request: %(reason)s"
    code = 400


class InvalidInput(Invalid):
    message = "Invalid input: %(reason)s"


class InvalidHost(Invalid):
    message = "Invalid host %(host)r: %(reason)s"


class InvalidVolume(Invalid):
    message = "Invalid volume: %(reason)s"


class InvalidMarker(Invalid):
    message = "Marker %(marker)s could not be found."


class NotFound(VolmgrException):
    message = "Resource could not be found."
    code = 404


class VolumeNotFound(NotFound):
    message = "Volume %(volume_id)s could not be found."


class SnapshotNotFound(NotFound):
    message = "Snapshot %(snapshot_id)s could not be found."


class InvalidSnapshot(Invalid):
    message = "Invalid snapshot: %(reason)s"


class SnapshotsNotSupported(Invalid):
    message = "Backend %(backend)s does not manage snapshots: %(reason)s"


class MessageNotFound(NotFound):
    message = "Message %(message_id)s could not be found."


class VolumeTypeNotFound(NotFound):
    message = "Volume type %(volume_type)s could not be found."


class ServiceNotFound(NotFound):
    message = "Service %(host)s could not be found."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        if message is None and kwargs.get("binary"):
            message = f"Service {kwargs['binary']} on host {kwargs.get('host')} could not be found."
        super().__init__(message, **kwargs)


class BackendNotFound(Invalid):
    """A host or cluster named in a request body that no volume service serves.

    Cinder answers a manage request for an unknown host with 400 ("Host 'x' not
    found"), not 404: what is missing is a referenced thing, not the URL's resource.
    """

    message = "%(kind)s '%(host)s' not found"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("kind", "Host")
        super().__init__(message, **kwargs)


class InvalidVolumeType(Invalid):
    message = "Invalid volume type: %(reason)s"


class ServiceUnavailable(VolmgrException):
    message = "Service %(host)s is unavailable: %(reason)s"
    code = 400


class AvailabilityZoneNotFound(NotFound):
    message = "Availability zone %(zone)s could not be found."


class ManageExistingInvalidReference(Invalid):
    message = "Manage existing volume failed due to invalid backend reference %(ref)s: %(reason)s"


class ManageExistingAlreadyManaged(Invalid):
    message = "Backend object %(ref)s on %(host)s is already managed or being managed%(by)s."
    code = 409

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        volume_id = kwargs.get("volume_id")
        kwargs.setdefault("by", f" by volume {volume_id}" if volume_id else "")
        super().__init__(message, **kwargs)


class OrphanNotFound(NotFound):
    message = "No orphan named %(name)s on %(host)s (an object in managed form no volume knows)."


class InvalidOrphan(Invalid):
    message = "Orphan %(name)s on %(host)s cannot be re-adopted: %(reason)s"


class VolumeDriverException(VolmgrException):
    message = "Volume driver reported an error: %(reason)s"


class NoValidBackend(VolmgrException):
    message = "No valid backend was found. %(reason)s"
    code = 400


class QuotaError(VolmgrException):
    message = "Quota exceeded: %(reason)s"
    code = 413


class OverQuota(QuotaError):
    message = (
        "Requested %(requested)s of %(resource)s exceeds the quota of project "
        "%(project_id)s: limit %(limit)s, in use %(in_use)s, reserved %(reserved)s."
    )


class ReservationNotFound(NotFound):
    message = "Quota reservation %(uuid)s could not be found."


class InvalidStatus(Invalid):
    message = "Volume %(volume_id)s is %(status)s; expected %(expected)s."
    code = 409


class AdoptionPlanNotFound(NotFound):
    message = "Adoption plan %(plan_id)s could not be found."


class AdoptionPlanApplied(Invalid):
    message = "Adoption plan %(plan_id)s was applied by job %(job_id)s."
    code = 409


class FlowOwnershipLost(VolmgrException):
    """A flow's row is no longer ``managing`` under its ownership token.

    Another process took the flow over, or the request was decided meanwhile: the
    flow must leave the backend and the row alone. It never crosses RPC.
    """

    message = "Volume %(volume_id)s is no longer owned by this flow; it leaves it alone."


class DatabaseUnavailable(VolmgrException):
    message = (
        "The database is unavailable (%(attempts)d attempts failed: locked, read-only, "
        "out of resources or unreachable); try again later."
    )
    code = 503


class MessagingUnavailable(VolmgrException):
    message = "The message bus is unavailable (%(reason)s); try again later."
    code = 503


class AdoptionJobNotFound(NotFound):
    message = "Adoption job %(job_id)s could not be found."


class AdoptionConflict(VolmgrException):
    """An adoption plan or job is not in a state that allows what was asked (409)."""

    message = "%(reason)s"
    code = 409


class AdoptionPlanStale(AdoptionConflict):
    """A strict apply found objects that changed since the plan; ``changes`` lists them."""

    message = "%(count)d object(s) changed since the plan; a strict apply adopts none: %(summary)s"


REMOTE_EXCEPTIONS: tuple[type[VolmgrException], ...] = (
    InternalError,
    NotAuthorized,
    InvalidInput,
    InvalidHost,
    InvalidVolume,
    VolumeNotFound,
    SnapshotNotFound,
    InvalidSnapshot,
    SnapshotsNotSupported,
    VolumeTypeNotFound,
    ServiceNotFound,
    BackendNotFound,
    InvalidVolumeType,
    ServiceUnavailable,
    AvailabilityZoneNotFound,
    ManageExistingInvalidReference,
    ManageExistingAlreadyManaged,
    OrphanNotFound,
    InvalidOrphan,
    VolumeDriverException,
    NoValidBackend,
    OverQuota,
    InvalidStatus,
    DatabaseUnavailable,
    MessagingUnavailable,
    AdoptionJobNotFound,
    AdoptionPlanNotFound,
    AdoptionConflict,
    AdoptionPlanStale,
    AdoptionPlanApplied,
)
"""Exceptions that may cross an RPC boundary and be raised again in the caller."""
