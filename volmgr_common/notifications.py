"""Notifications on the message bus (``volume.<event>.*`` and ``snapshot.<event>.*``)."""

from collections.abc import Mapping
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

from volmgr_common.context import RequestContext

LOG = logging.getLogger(__name__)

_PAYLOAD_KEYS = (
    "id",
    "project_id",
    "user_id",
    "name",
    "status",
    "host",
    "availability_zone",
    "volume_type",
    "size",
    "provider_location",
    "failure_reason",
)


def volume_payload(volume: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    payload = {key: volume.get(key) for key in _PAYLOAD_KEYS}
    payload["volume_id"] = volume.get("id")
    payload.update(extra)
    return payload


def snapshot_payload(snapshot: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Cinder's snapshot payload keys, from a snapshot record."""
    payload = {
        "snapshot_id": snapshot.get("id"),
        "volume_id": snapshot.get("volume_id"),
        "tenant_id": snapshot.get("project_id"),
        "user_id": snapshot.get("user_id"),
        "display_name": snapshot.get("name"),
        "status": snapshot.get("status"),
        "volume_size": snapshot.get("volume_size"),
        "provider_location": snapshot.get("provider_location"),
        "failure_reason": snapshot.get("failure_reason"),
        "created_at": snapshot.get("created_at"),
    }
    payload.update(extra)
    return payload


def _send(
    notifier: messaging.Notifier,
    ctxt: RequestContext,
    event_type: str,
    payload: dict[str, Any],
    error: bool,
) -> None:
    """Send one notification; one that cannot be sent is logged, not raised."""
    try:
        if error:
            notifier.error(ctxt, event_type, payload)
        else:
            notifier.info(ctxt, event_type, payload)
    except Exception:
        LOG.exception("Could not send notification %s", event_type)


def notify(
    notifier: messaging.Notifier,
    ctxt: RequestContext,
    event: str,
    volume: Mapping[str, Any],
    error: bool = False,
    **extra: Any,
) -> None:
    """Send ``volume.<event>``; a notification that cannot be sent is logged, not raised."""
    _send(notifier, ctxt, f"volume.{event}", volume_payload(volume, **extra), error)


def notify_snapshot(
    notifier: messaging.Notifier,
    ctxt: RequestContext,
    event: str,
    snapshot: Mapping[str, Any],
    error: bool = False,
    **extra: Any,
) -> None:
    """Send ``snapshot.<event>`` (``manage_existing.start``, …) with Cinder's snapshot
    payload; a notification that cannot be sent is logged, not raised."""
    _send(notifier, ctxt, f"snapshot.{event}", snapshot_payload(snapshot, **extra), error)
