"""The audit of one backend: every managed volume checked against one reading of it,
and the orphans found in that same reading.

:class:`Auditor` reads the backend once (``VolumeDriver.start_audit``), then the
backend's ``available`` volumes from the database a page at a time
(``[audit] page_size``), checks each against the reading and writes only what
changed: a drift that appears (recorded with ``since``, a user message and a
``volume.drift`` notification), a drift whose details changed (recorded, ``since``
kept), a drift that went away (cleared, a user message and a notification).

From the same reading it then takes the objects in managed form that no row knows
(``volmgr_volume.orphans``) and records them as the backend's orphans
(``volmgr_common.db.backend_orphans``, listed by ``GET os-orphans``), a page at a
time: an orphan seen for the first time sends a ``volume.orphan`` notification
(``detected``), one that is gone since the last audit (re-adopted, renamed,
deleted) another (``cleared``). Orphans have no row and often no recorded
project, so they leave no user message: they are the operator's business.

An audit never changes a backend object, holds no lock the manages or the listing
take, and holds no transaction between pages. One audit runs at a time per
service; a second waits for the first to end, then reads the backend afresh.
"""

import dataclasses
import datetime as dt
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import drift, notifications
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import backend_orphans, models, volume_drift
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_volume import orphans
from volmgr_volume.drivers.base import BackendAudit, VolumeDriver

LOG = logging.getLogger(__name__)
REPORTED_DRIFTS = 1000
"""At most this many drifted volumes are listed in an audit's summary (all are counted)."""
NOTIFIED = (drift.DETECTED, drift.CLEARED)
"""The changes that send a ``volume.drift`` notification."""


@dataclasses.dataclass
class AuditSummary:
    """What one audit of a backend found, as the REST API and the CLI show it."""

    host: str
    checked: int = 0
    drifted: int = 0
    detected: int = 0
    changed: int = 0
    cleared: int = 0
    kinds: dict[str, int] = dataclasses.field(default_factory=dict)
    drifts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    orphans: int = 0
    orphans_detected: int = 0
    orphans_cleared: int = 0
    started_at: str = ""
    seconds: float = 0.0

    def count(self, volume: drift.AuditedVolume, found: drift.Drift | None) -> None:
        self.checked += 1
        if found is None:
            return
        self.drifted += 1
        self.kinds[found.kind] = self.kinds.get(found.kind, 0) + 1
        if len(self.drifts) < REPORTED_DRIFTS:
            self.drifts.append({"volume_id": volume.id, "kind": found.kind, "found": found.found})

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["drifts_truncated"] = self.drifted > len(self.drifts)
        return values


def change_for(
    volume: drift.AuditedVolume, found: drift.Drift | None, now: str
) -> volume_drift.DriftChange | None:
    """What to write for ``volume`` given what the audit ``found`` (None: nothing)."""
    stored = volume.drift
    if found is None:
        return (
            None if stored is None else volume_drift.DriftChange(volume.id, volume.drift_kind, None)
        )
    if stored is None or stored.get("kind") != found.kind:
        return volume_drift.DriftChange(volume.id, volume.drift_kind, found.record(now))
    if (stored.get("expected"), stored.get("found")) == (found.expected, found.found):
        return None
    since = stored.get("since") or now
    return volume_drift.DriftChange(volume.id, found.kind, found.record(since))


class Auditor:
    """Audits the volumes placed on ``backends`` (a backend's names) with its driver."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        driver: VolumeDriver,
        backends: Sequence[str],
        notifier: Any,
    ) -> None:
        self.conf = conf
        self.db = db
        self.driver = driver
        self.backends = tuple(backends)
        self.notifier = notifier
        self._lock = threading.Lock()

    def run_periodic(self) -> None:
        """The periodic task: one audit on the service's own behalf."""
        self.run(get_admin_context())

    def run(self, ctxt: RequestContext) -> AuditSummary:
        """Audit every ``available`` volume of the backend; what it found."""
        with self._lock:
            started = time.monotonic()
            summary = AuditSummary(self.backends[0], started_at=models.utcnow().isoformat())
            read_at = backend_orphans.reading_time(self.db)
            with self.driver.start_audit() as reading:
                audited = self._check_all(ctxt, reading, summary)
                self._record_orphans(ctxt, reading, read_at, audited, summary)
            summary.seconds = round(time.monotonic() - started, 3)
        LOG.info(
            "Audit of %s: %d volumes checked in %.1fs, %d with drift (%d new, %d cleared), "
            "%d orphans (%d new, %d cleared)",
            summary.host,
            summary.checked,
            summary.seconds,
            summary.drifted,
            summary.detected,
            summary.cleared,
            summary.orphans,
            summary.orphans_detected,
            summary.orphans_cleared,
        )
        return summary

    def _record_orphans(
        self,
        ctxt: RequestContext,
        reading: BackendAudit,
        read_at: dt.datetime,
        audited: set[str],
        summary: AuditSummary,
    ) -> None:
        """Record the orphans of ``reading`` (read at ``read_at``) a page at a time, drop
        those no reading since saw, and report both. The ``audited`` volumes' objects
        are known without asking the database again."""
        backend = self.backends[0]
        objects = reading.managed_objects(known_ids=audited)
        found = orphans.find_orphans(self.db, self.backends, objects)
        while page := list(itertools.islice(found, orphans.PAGE_SIZE)):
            seen = [backend_orphans.SeenOrphan.from_dict(obj.as_dict()) for obj in page]
            summary.orphans += len(seen)
            new = backend_orphans.record_seen(self.db, backend, seen, read_at)
            summary.orphans_detected += len(new)
            self._report_orphans(ctxt, drift.DETECTED, new)
        while gone := backend_orphans.drop_unseen(self.db, backend, read_at, orphans.PAGE_SIZE):
            summary.orphans_cleared += len(gone)
            self._report_orphans(ctxt, drift.CLEARED, gone)

    def _report_orphans(
        self, ctxt: RequestContext, state: str, changed: Sequence[backend_orphans.SeenOrphan]
    ) -> None:
        for orphan in changed:
            if state == drift.DETECTED:
                LOG.warning(
                    "Orphan on %s: %s (volume %s, identity %s) is in managed form; no "
                    "volume row knows it",
                    self.backends[0],
                    orphan.name,
                    orphan.volume_id,
                    orphan.identity,
                )
            else:
                LOG.info("Orphan %s of %s is no longer one", orphan.name, self.backends[0])
        notifications.notify_orphans(
            self.notifier, ctxt, self.backends[0], state, [o.as_dict() for o in changed]
        )

    def _check_all(
        self, ctxt: RequestContext, reading: BackendAudit, summary: AuditSummary
    ) -> set[str]:
        """Check every available volume, a page at a time; the ids of those checked."""
        page_size = self.conf.audit.page_size
        template = self.conf.volume.volume_name_template
        after: str | None = None
        audited: set[str] = set()
        while True:
            page = volume_drift.audit_page(self.db, self.backends, template, after, page_size)
            if page:
                self._check_page(ctxt, reading, page, summary)
                audited.update(volume.id for volume in page)
                after = page[-1].id
            if len(page) < page_size:
                return audited

    def _check_page(
        self,
        ctxt: RequestContext,
        reading: BackendAudit,
        page: Sequence[drift.AuditedVolume],
        summary: AuditSummary,
    ) -> None:
        now = models.utcnow().isoformat()
        changes = []
        for volume in page:
            found = reading.check(volume)
            summary.count(volume, found)
            change = change_for(volume, found, now)
            if change is not None:
                changes.append(change)
        if not changes:
            return
        for change, record in volume_drift.record_changes(self.db, changes, ctxt.request_id):
            self._report(ctxt, change, record, summary)

    def _report(
        self,
        ctxt: RequestContext,
        change: volume_drift.DriftChange,
        volume: VolumeRecord,
        summary: AuditSummary,
    ) -> None:
        event = change.event
        setattr(summary, event, getattr(summary, event) + 1)
        if change.record is None:
            LOG.info("Volume %s: its %s drift cleared", change.volume_id, change.previous_kind)
        else:
            LOG.warning(
                "Volume %s: drift %s: expected %s, found %s",
                change.volume_id,
                change.record["kind"],
                change.record["expected"],
                change.record["found"],
            )
        if event in NOTIFIED:
            notifications.notify(
                self.notifier,
                ctxt,
                "drift",
                volume,
                state=event,
                drift=change.record,
                previous_kind=change.previous_kind,
            )
