"""Notifications on the message bus (``volume.<event>.start/.end/.error``).

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


PUBLISHERS = 8
"""Notifications of a batch in flight at once (each takes a pooled connection)."""
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
    futures = [
        _publishers.submit(notify, notifier, ctxt, event, volume, **extra)
        for ctxt, event, volume, extra in sends
    ]
    concurrent.futures.wait(futures)


def notify(
    notifier: messaging.Notifier,
    ctxt: RequestContext,
    event: str,
    volume: Mapping[str, Any],
    error: bool = False,
    **extra: Any,
) -> None:
    """Send ``volume.<event>``; a notification that cannot be sent is logged, not raised."""
    payload = volume_payload(volume, **extra)
    try:
        if error:
            notifier.error(ctxt, f"volume.{event}", payload)
        else:
            notifier.info(ctxt, f"volume.{event}", payload)
    except Exception:
        LOG.exception("Could not send notification volume.%s for %s", event, volume.get("id"))


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
    try:
        notifier.info(ctxt, f"adoption.job.{event}", payload)
    except Exception:
        LOG.exception("Could not send notification adoption.job.%s for %s", event, job.get("id"))
