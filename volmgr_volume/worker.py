"""What volmgr-volume does for one backend: manage flows, unmanage, listing, recovery.

The worker claims a volume row before running its flow, so that a message delivered
twice, or a message racing a recovery scan, runs one flow. When a flow fails it has
reverted its own work; the worker notes the reason on the row and casts the
compensating ``manage_existing_failed`` to the API, which records the outcome. A
flow that lost its row to another process (its ownership token no longer matches)
has changed nothing and ends with one log line.
"""

import threading
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from taskflow.types import failure

from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import exception, message_field, metrics, notifications, rpc
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    reservations,
    volume_ownership,
    volume_record,
    volume_recovery,
    volume_transitions,
)
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import make_context_current, run_flow_batch
from volmgr_common.page_request import PageRequest
from volmgr_volume import orphans
from volmgr_volume.drivers.base import VolumeDriver
from volmgr_volume.flows import manage_chain, manage_existing

LOG = logging.getLogger(__name__)


def failure_reason(error: BaseException, ctxt: RequestContext) -> str:
    """The reason a user sees: our own errors verbatim, anything else generic."""
    if isinstance(error, exception.VolmgrException):
        return str(error)
    return f"Internal error in the volume service (request {ctxt.request_id})."


Resumed = tuple[RequestContext, str]
"""A request recovery resumes: its context and volume id."""


def _resumed(volume: volume_record.RecoveryRow) -> Resumed:
    """The request of a row recovery resumes, its log lines carrying its request id."""
    ctxt = get_admin_context(request_id=volume["request_id"])
    ctxt.update_store()
    return ctxt, volume["id"]


class VolumeWorker:
    """Runs the requests of one backend (``host@backend``, or a cluster's ``cluster@backend``).

    ``backend`` is the name the backend's rows are placed on; a member of a cluster
    is given the cluster's, and its ``own_host`` too: rows placed on the member's
    own name before it joined the cluster are still its to resume and to list.
    """

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        messaging: rpc.Messaging,
        driver: VolumeDriver,
        backend: str,
        owner: str,
        own_host: str | None = None,
    ) -> None:
        self.conf = conf
        self.db = db
        self.driver = driver
        self.backend = backend
        self.backends = tuple(dict.fromkeys([backend, own_host or backend]))
        self.owner = owner
        # Published as the member that did the work (its own host), as Cinder's are.
        self.notifier = messaging.notifier.prepare(
            publisher_id=f"volmgr.volume.{own_host or backend}"
        )
        self.api = api_rpcapi.ApiAPI(messaging)
        # Built once: run_flow does not change a flow, so every request shares it.
        self._manage_flow = manage_existing.get_flow(conf, db, driver, self.notifier)
        # A volume adopted with its snapshots (its row says ``with_snapshots``).
        self._chain_flow = manage_chain.get_flow(conf, db, driver, self.notifier)
        self._recovered_once = False
        # Ownership tokens of the flows running in this process: the claims it renews.
        self._running: set[str] = set()
        self._running_lock = threading.Lock()

    def manage(self, ctxt: RequestContext, volume_id: str) -> None:
        """Run the manage flow of one request in this thread."""
        self.manage_many([(ctxt, volume_id)])

    def manage_many(self, requests: Sequence[tuple[RequestContext, str]]) -> list[None]:
        """Run the manage flow for ``(context, volume_id)`` requests together.

        One transaction claims every row; the flow's database steps run once for all
        (``run_flow_batch``); a request that fails is reverted and compensated alone
        (its outcome is on its row, not in what this returns: one None each).
        """
        volume_ids = [volume_id for _, volume_id in requests]
        claimed = volume_ownership.claim_flows(self.db, volume_ids, self.owner)
        tokens = {volume["flow_owner"] for volume in claimed.values()}
        with self._running_lock:
            self._running |= tokens
        try:
            self._run_claimed(requests, claimed)
        finally:
            with self._running_lock:
                self._running -= tokens
        return [None] * len(requests)

    def _run_claimed(
        self,
        requests: Sequence[tuple[RequestContext, str]],
        claimed: dict[str, volume_record.ClaimedVolume],
    ) -> None:
        stores: list[dict[str, Any]] = []
        for ctxt, volume_id in requests:
            ctxt.update_store()  # this thread's log lines carry the request's id
            volume = claimed.pop(volume_id, None)  # the same id twice in a batch runs once
            if volume is None:
                LOG.info("Volume %s is not waiting for a manage here; nothing to do", volume_id)
                continue
            LOG.debug(
                "Managing %s on %s as volume %s", volume["reference"], volume["host"], volume_id
            )
            stores.append({manage_existing.CONTEXT: ctxt, manage_existing.VOLUME: volume})
        singles = [s for s in stores if not s[manage_existing.VOLUME]["with_snapshots"]]
        chains = [s for s in stores if s[manage_existing.VOLUME]["with_snapshots"]]
        with metrics.manage_flows(len(stores)):
            outcomes = run_flow_batch(self._manage_flow, singles, enter=make_context_current)
            outcomes += run_flow_batch(self._chain_flow, chains, enter=make_context_current)
        for store, outcome in zip([*singles, *chains], outcomes, strict=True):
            if isinstance(outcome, failure.Failure):
                make_context_current(store)
                self._fail(store[manage_existing.CONTEXT], store[manage_existing.VOLUME], outcome)
            else:
                metrics.MANAGES.labels("volume", "available").inc()

    def _fail(
        self, ctxt: RequestContext, volume: volume_record.ClaimedVolume, outcome: failure.Failure
    ) -> None:
        """After a reverted flow: note the reason on the row and tell the API.

        Nothing of it when the flow lost its row: whoever owns it now decides.
        """
        if outcome.check(exception.FlowOwnershipLost):
            metrics.MANAGES.labels("volume", "taken_over").inc()
            LOG.warning(
                "Volume %s: another process took this manage over; this flow stopped and "
                "left the backend and the row alone",
                volume["id"],
            )
            return
        reason = failure_reason(outcome.exception or RuntimeError(outcome.exception_str), ctxt)
        if outcome.check(exception.VolmgrException) is None:  # unexpected: say where
            LOG.error(
                "Manage of volume %s failed with an internal error and was reverted: %s",
                volume["id"],
                outcome.exception_str,
                exc_info=outcome.exc_info,
            )
        else:
            LOG.warning("Manage of volume %s failed and was reverted: %s", volume["id"], reason)
        try:
            self._put_back(volume)
            if volume["with_snapshots"]:
                manage_chain.fail_members(self.db, self.notifier, ctxt, volume, reason)
            detail = message_field.detail_for(outcome.exception)
            if not volume_recovery.record_failure(
                self.db, volume["id"], reason, volume["flow_owner"], detail.id
            ):
                raise exception.FlowOwnershipLost(volume_id=volume["id"])
            metrics.MANAGES.labels("volume", "error_managing").inc()
            self.api.manage_existing_failed(ctxt, volume["id"], reason, stage="volume")
        except exception.FlowOwnershipLost:
            LOG.warning(
                "Volume %s: no longer this flow's; its failure is not recorded", volume["id"]
            )
        except Exception:
            # The row stays ``managing`` and owned; a later process's recovery resumes it.
            LOG.exception("Volume %s: the failure could not be recorded", volume["id"])

    def _put_back(self, volume: volume_record.ClaimedVolume) -> None:
        """Undo a rename an earlier run of this request may have made before it died.

        The flow reverts only the tasks that ran in this run; ``undo_manage`` (for a
        chain, ``undo_manage_chain`` with the members its rows recorded) is
        idempotent, so calling it when nothing was renamed changes nothing. Fenced
        like every step: raises FlowOwnershipLost when the row is no longer ours.
        """
        try:
            if volume["with_snapshots"]:
                manage_chain.put_back_chain(self.db, self.driver, volume)
            else:
                manage_existing.put_back(self.db, self.driver, volume)
        except exception.FlowOwnershipLost:
            raise
        except Exception as error:
            LOG.warning("Volume %s: nothing put back on the backend (%s)", volume["id"], error)

    def renew_claims(self) -> None:
        """Renew the claims of the flows running in this process (a periodic task).

        A claim whose flow ended without finishing its row (the failure could not
        be recorded) is no longer renewed, so recovery resumes that row too.
        """
        with self._running_lock:
            tokens = sorted(self._running)
        if tokens:
            volume_ownership.renew_claims(self.db, tokens)

    def unmanage(self, ctxt: RequestContext, volume_id: str) -> None:
        try:
            volume = volumes_db.get(self.db, volume_id)
        except exception.VolumeNotFound:
            LOG.info("Volume %s is already gone; nothing to unmanage", volume_id)
            return
        if volume["status"] != volume_record.UNMANAGING:
            LOG.info("Volume %s is %s, not unmanaging; nothing to do", volume_id, volume["status"])
            return
        self.driver.unmanage(volume)
        removed = volume_transitions.remove_unmanaged(self.db, volume_id)
        if removed is not None:
            LOG.info(
                "Volume %s unmanaged; the object stays as %s",
                volume_id,
                removed["provider_location"],
            )
            # The row is gone: this notification is what remains of its provenance.
            notifications.notify(
                self.notifier, ctxt, "unmanage.end", removed, provenance=removed["provenance"]
            )

    def list_manageable(self, page: PageRequest) -> list[dict[str, Any]]:
        managed = volumes_db.managed_objects(self.db, self.backends)
        return self.driver.list_manageable(managed, page)

    def list_orphans(self) -> list[dict[str, Any]]:
        """The backend's objects in managed form that no row knows, sorted by name
        (see :mod:`volmgr_volume.orphans`); reads only."""
        found = orphans.find_orphans(self.db, self.backends, self.driver.list_managed_objects())
        return sorted((obj.as_dict() for obj in found), key=lambda entry: entry["name"])

    def recover(self) -> None:
        """Resume what this backend left in ``managing``/``unmanaging`` (a periodic task).

        A flow owned by another process, or by a flow of this one that ended without
        finishing its row, is taken over once its claim has not been renewed for
        ``[recovery] stale_after`` seconds (that process is gone or frozen; a live
        one renews the claims of its running flows, see :meth:`renew_claims`). The first
        scan after start also resumes requests nobody owns, whatever their age;
        later scans those that have been still for ``stale_after`` seconds (their
        message was lost).

        Taken-over flows resume first, together (a member that died: its flows as
        they ran); requests whose message was lost follow in batches of
        ``[DEFAULT] manage_batch_size``, and claims that went stale meanwhile are
        taken over between two of those batches, so that a long backlog does not
        delay a takeover.
        """
        first, self._recovered_once = not self._recovered_once, True
        rows = volume_recovery.transitional(
            self.db,
            (volume_record.MANAGING, volume_record.UNMANAGING),
            backend=self.backends,
            scheduled=True,
            still_for=None if first else self.conf.recovery.stale_after,
        )
        taken: list[Resumed] = []
        lost: list[Resumed] = []
        for volume in rows:
            if volume["status"] == volume_record.UNMANAGING:
                self._finish_unmanage(volume)
            elif volume["flow_owner"] is not None:
                taken += self._take_over([volume])
            elif not volume["failure_reason"]:  # failed rows: the API's scan records them
                LOG.warning("Resuming volume %s, whose manage message was lost", volume["id"])
                lost.append(_resumed(volume))
        self._resume(taken)
        size = self.conf.manage_batch_size
        for start in range(0, len(lost), size):
            self._resume(lost[start : start + size])
            self._resume(self._take_over(self._stale_claims()))

    def _stale_claims(self) -> list[volume_record.RecoveryRow]:
        """The claimed ``managing`` rows of this backend still for ``stale_after``."""
        return volume_recovery.transitional(
            self.db,
            (volume_record.MANAGING,),
            backend=self.backends,
            scheduled=True,
            still_for=self.conf.recovery.stale_after,
            owned=True,
        )

    def _resume(self, requests: list[Resumed]) -> None:
        if requests:
            self.manage_many(requests)

    def _is_running(self, token: str) -> bool:
        with self._running_lock:
            return token in self._running

    def _finish_unmanage(self, volume: volume_record.RecoveryRow) -> None:
        ctxt, volume_id = _resumed(volume)
        self.unmanage(ctxt, volume_id)

    def _take_over(self, rows: Sequence[volume_record.RecoveryRow]) -> list[Resumed]:
        """Free the rows among ``rows`` whose claim went unrenewed; the requests to resume.

        A claim of a flow running in this process is its own, renewed: never taken;
        a row whose flow noted a failure is left to the API's scan.
        """
        taken = []
        for volume in rows:
            owner = volume["flow_owner"]
            if owner is None or volume["failure_reason"] or self._is_running(owner):
                continue
            if volume_ownership.take_over_flow(
                self.db, volume["id"], owner, self.conf.recovery.stale_after
            ):
                request = _resumed(volume)
                LOG.warning(
                    "Resuming volume %s: the claim of process %s went unrenewed",
                    volume["id"],
                    volume_ownership.instance_of(owner),
                )
                reservations.rollback_for_volume(self.db, volume["id"])
                taken.append(request)
        return taken
