"""Notifications on the message bus (``volume.<event>.*``, ``snapshot.<event>.*``,
``adoption.job.*``, ``volume.orphan``).

Each notification waits for the broker's publisher confirm (about a millisecond on
a local broker). A batch of requests sends its notifications side by side
(:func:`notify_many`), so that a batch of 500 volumes does not wait for 500 confirms
one after the other.
"""

import concurrent.futures
from collections.abc import Mapping, Sequence
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


PUBLISHERS = 2
"""Notifications of a batch in flight at once (each takes a pooled connection). More
threads send no faster: oslo.messaging's send costs 0.5-0.6 ms of CPU, and beyond two
they only wait for the interpreter's lock (8 publishers cost 1.0 ms of CPU a
notification and were no quicker; see docs/performance.rst, "Adoption")."""
_publishers = concurrent.futures.ThreadPoolExecutor(PUBLISHERS, "volmgr-notify")


def notify_many(
    notifier: messaging.Notifier,
    sends: Sequence[tuple[RequestContext, str, Mapping[str, Any], dict[str, Any]]],
) -> None:
    """:func:`notify` each ``(context, event, volume, extra)``, side by side; returns when
    every one is sent (or logged as not sent)."""
    if len(sends) <= 1:
        for ctxt, event, volume, extra in sends:
            notify(notifier, ctxt, event, volume, **extra)
        return
    # One task per publisher, each sending its share in turn: a future per
    # notification cost more CPU (its lock, its waiter) than the send itself.
    shares = [sends[start::PUBLISHERS] for start in range(min(PUBLISHERS, len(sends)))]
    concurrent.futures.wait([_publishers.submit(_notify_each, notifier, s) for s in shares])


def _notify_each(
    notifier: messaging.Notifier,
    sends: Sequence[tuple[RequestContext, str, Mapping[str, Any], dict[str, Any]]],
) -> None:
    for ctxt, event, volume, extra in sends:
        notify(notifier, ctxt, event, volume, **extra)


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


ADOPTION_JOB_KEYS = (
    "id",
    "kind",
    "plan_id",
    "undo_of",
    "project_id",
    "backend",
    "status",
    "counters",
    "total",
    "rate",
    "started_at",
    "finished_at",
)


def notify_adoption_job(
    notifier: messaging.Notifier, ctxt: RequestContext, event: str, job: Mapping[str, Any]
) -> None:
    """Send ``adoption.job.<event>`` (start, end) for an adoption job; logged, not raised."""
    payload = {key: job.get(key) for key in ADOPTION_JOB_KEYS}
    payload["job_id"] = job.get("id")
    _send(notifier, ctxt, f"adoption.job.{event}", payload, error=False)


ORPHAN_KEYS = (
    "volume_id",
    "name",
    "identity",
    "size",
    "size_bytes",
    "original_name",
    "project_id",
    "marks",
    "released_at",
)


def notify_orphans(
    notifier: messaging.Notifier,
    ctxt: RequestContext,
    host: str,
    state: str,
    orphans: Sequence[Mapping[str, Any]],
) -> None:
    """Send one ``volume.orphan`` per orphan of ``host`` (``state``: ``detected`` when an
    audit first sees it, ``cleared`` when it is no longer one), side by side; returns
    when every one is sent (or logged as not sent)."""
    payloads = [
        {**{key: orphan.get(key) for key in ORPHAN_KEYS}, "host": host, "state": state}
        for orphan in orphans
    ]
    futures = [
        _publishers.submit(_send, notifier, ctxt, "volume.orphan", payload, False)
        for payload in payloads
    ]
    concurrent.futures.wait(futures)
