"""Runs adoption jobs in the volume service of their backend.

A job is data, not a process: a runner thread owns the job row (owner and
heartbeat), takes its pending items in batches, and takes each batch through the
manage path a single request takes:

1. the backend's fingerprint of each object is compared with the plan's; an object
   that changed since is ``stale`` (what changed in ``detail``), never managed;
2. the ``managing`` rows are written with their quota by
   ``volume_creation.create_managing_many`` (the double-manage guard), the items
   marked ``managing`` with their volume ids in the same transaction;
3. the rows run the volume worker's batched ``manage_many`` (flows, reverts,
   fencing, compensation) through the service's batcher;
4. each item takes its volume's outcome (``available`` or ``failed`` with the
   reason); one item's failure never touches another.

The steps of two batches overlap: while one batch's flows run in the job's flow
thread, the runner compares the next batch's fingerprints and writes its rows, and
hands it over when the flows are done (a two-stage pipeline; the flows wait on the
database and the broker, the runner's steps on the database and the backend). Items
in flight are the job's ``managing`` items: a batch is at most half the job's
``max_in_flight`` and never more than its room, the job's limit (and what
``[adoption] max_in_flight`` leaves for the backend's other jobs) less the items
still in flight, so the limit holds over both batches together.

Any crash leaves rows the existing recovery knows: a ``managing`` row placed on this
backend is resumed by the worker's recovery scan, and a job whose heartbeat went
stale is taken again by the volume service that scans for it
(:meth:`AdoptionRunner.resume_stale`), which waits for the items in flight and
goes on with the pending ones. Undo jobs are run by :mod:`volmgr_volume.adoption_undo`.
"""

import concurrent.futures
import datetime as dt
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception, notifications
from volmgr_common.context import RequestContext, get_admin_context
from volmgr_common.db import adoption_items as items_db
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import api as db_api
from volmgr_common.db import quota, volume_creation
from volmgr_common.db import volume_types as types_db
from volmgr_volume import adoption_undo, capabilities
from volmgr_volume.drivers.base import VolumeDriver, fingerprint_changes

LOG = logging.getLogger(__name__)

Submit = Callable[[Sequence[tuple[RequestContext, str]]], object]
"""Runs manage requests ``(context, volume_id)`` through the worker's batched
``manage_many`` and returns when they are done."""

IDLE_WAIT = 0.5
"""Seconds a runner waits for items in flight it does not run itself."""
PIPELINE_DEPTH = 2
"""Batches of an adopt job in flight at once: one in its flows, the next being written."""
STRICT_PAGE = 5000
"""Plan items a strict check reads at a time."""


def stale_detail(
    planned: dict[str, Any] | None, current: dict[str, Any] | None
) -> dict[str, Any] | None:
    """What changed of an object since the plan, key by key (None: nothing)."""
    if not planned:  # a plan item without a fingerprint: only its absence counts
        return None if current is not None else {"name": {"planned": None, "current": None}}
    return fingerprint_changes(planned, current) or None


class BatchFlows:
    """The flow thread of one job: runs the manage flows of one batch at a time, so that
    the runner prepares the next batch meanwhile."""

    def __init__(self, submit: Submit, name: str) -> None:
        self._submit = submit
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._batch: concurrent.futures.Future[object] | None = None

    @property
    def started(self) -> bool:
        """Whether a batch was handed over that :meth:`wait` has not waited for yet."""
        return self._batch is not None

    def wait(self) -> None:
        """Wait for the batch handed over last to end; raise what its flows raised."""
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.result()

    def start(self, requests: Sequence[tuple[RequestContext, str]]) -> None:
        """Run the flows of ``requests`` once the batch before them has ended."""
        self.wait()
        self._batch = self._executor.submit(self._submit, requests)

    def close(self) -> None:
        """Wait for the batch in the flows to end (its error is logged), end the thread."""
        batch, self._batch = self._batch, None
        self._executor.shutdown(wait=True)
        if batch is not None and batch.exception() is not None:
            LOG.error("The flows of an adoption batch failed", exc_info=batch.exception())


class AdoptionRunner:
    """The adoption jobs of one backend, each run by a thread of this service."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        db: db_api.Database,
        driver: VolumeDriver,
        backends: Sequence[str],
        owner: str,
        submit: Submit,
        notifier: Any,
    ) -> None:
        self.conf = conf
        self.db = db
        self.driver = driver
        self.backends = tuple(backends)
        self.owner = owner
        self._submit = submit
        self._notifier = notifier
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._undoer = adoption_undo.Undoer(db, driver, notifier)

    # -- starting jobs -------------------------------------------------------------

    def create_job(
        self,
        ctxt: RequestContext,
        plan_id: str,
        project_id: str | None,
        strict: bool,
        max_in_flight: int | None,
    ) -> dict[str, Any]:
        """Apply a plan: check it (strict: every object unchanged), write the job and its
        items with the plan's "applies once" guard in one transaction, start it."""
        limit = self.conf.adoption.max_in_flight
        if max_in_flight is None:
            max_in_flight = limit
        if not isinstance(max_in_flight, int) or not 1 <= max_in_flight <= limit:
            raise exception.InvalidInput(
                reason=f"max_in_flight must be an integer from 1 to {limit} (the backend's "
                "[adoption] max_in_flight)"
            )
        if strict:
            self._check_unchanged(plan_id)
        job = jobs_db.create_adopt_job(
            self.db,
            plan_id,
            project_id,
            {
                "strict": bool(strict),
                "max_in_flight": max_in_flight,
                "user_id": ctxt.user_id,
                "request_id": ctxt.request_id,
            },
        )
        LOG.info("Adoption job %s applies plan %s (%d items)", job["id"], plan_id, job["total"])
        self.start(job["id"])
        return job

    def _check_unchanged(self, plan_id: str) -> None:
        """AdoptionPlanStale listing every object that changed since the plan."""
        current = self.driver.fingerprints(None)
        changed: dict[str, Any] = {}
        after: int | None = None
        while True:
            page = items_db.plan_items_to_manage(self.db, plan_id, after, STRICT_PAGE)
            for item in page:
                detail = stale_detail(item.fingerprint, current.get(item.source_name))
                if detail:
                    changed[item.source_name] = detail
            if len(page) < STRICT_PAGE:
                break
            after = page[-1].position
        if changed:
            summary = "; ".join(
                f"{name}: {', '.join(sorted(detail))}"
                for name, detail in list(changed.items())[:20]
            )
            more = f" (and {len(changed) - 20} more)" if len(changed) > 20 else ""
            raise exception.AdoptionPlanStale(count=len(changed), summary=summary + more)

    def start(self, job_id: str) -> None:
        """Run the job in a thread of this service, unless one already runs it here."""
        with self._lock:
            running = self._threads.get(job_id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._run_guarded, args=(job_id,), name=f"adoption-{job_id[:8]}", daemon=True
            )
            self._threads[job_id] = thread
        thread.start()

    def resume_stale(self) -> None:
        """Take the live jobs of this backend that no live runner owns (a periodic task)."""
        for job_id in items_db.resumable(self.db, self.backends, self.conf.recovery.stale_after):
            LOG.warning("Resuming adoption job %s, which no running service owns", job_id)
            self.start(job_id)

    def stop(self) -> None:
        """Ask every runner of this process to stop after its batch (a graceful stop)."""
        self._stopping.set()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Wait for this process's runner of the job to end (tests, benchmarks)."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    # -- running a job -------------------------------------------------------------

    def _run_guarded(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception:
            # The job stays owned until its heartbeat goes stale; a scan resumes it.
            LOG.exception("Adoption job %s stopped on an error; it will be resumed", job_id)

    def _run(self, job_id: str) -> None:
        before = items_db.job_row(self.db, job_id)
        if not before or not items_db.claim(
            self.db, job_id, self.owner, self.conf.recovery.stale_after
        ):
            return
        job = items_db.job_row(self.db, job_id)
        ctxt = get_admin_context(request_id=job["request_id"])
        if before["started_at"] is None:
            notifications.notify_adoption_job(
                self._notifier, ctxt, "start", jobs_db.get(self.db, job_id)
            )
        flows = BatchFlows(self._submit, f"adoption-flows-{job_id[:8]}")
        try:
            self._loop(ctxt, job, flows)
        finally:
            flows.close()

    def _loop(self, ctxt: RequestContext, job: dict[str, Any], flows: BatchFlows) -> None:
        """Batch after batch until the job ends, pauses, is lost or this service stops."""
        job_id = job["id"]
        if job["kind"] == jobs_db.ADOPT:
            step: Callable[..., None] = functools.partial(
                self._adopt, flows=flows, pool=self._pool(job)
            )
            batch = -(-job["max_in_flight"] // PIPELINE_DEPTH)
        else:
            step, batch = self._undoer.step, job["max_in_flight"]
        while not self._stopping.is_set():
            status = items_db.heartbeat(self.db, job_id, self.owner)
            if status is None:
                LOG.warning("Adoption job %s is run by another service now; stopping", job_id)
                return
            undecided = items_db.settle(self.db, job_id)
            room = self._room(job, undecided) if status == jobs_db.RUNNING else 0
            if room > 0:
                pending = items_db.next_pending(self.db, job_id, min(room, batch))
                if pending:
                    step(ctxt, job, pending)
                    continue
            if flows.started:  # its items end before any other can
                flows.wait()
                continue
            if undecided or (status == jobs_db.RUNNING and room <= 0):
                time.sleep(IDLE_WAIT)
                continue
            if status == jobs_db.PAUSED:
                items_db.release(self.db, job_id, self.owner)
                LOG.info("Adoption job %s paused", job_id)
                return
            ended = items_db.finish(self.db, job_id, self.owner)
            if ended is not None:
                shown = jobs_db.get(self.db, job_id)
                LOG.info("Adoption job %s %s: %s", job_id, ended, shown["counters"])
                notifications.notify_adoption_job(self._notifier, ctxt, "end", shown)
                return
        flows.wait()
        items_db.release(self.db, job_id, self.owner)

    def _room(self, job: dict[str, Any], undecided: int) -> int:
        """Items the job may start now: its own limit, within the backend's, less its
        ``undecided`` items (still in flight)."""
        others = items_db.in_flight(self.db, job["backend"], job["id"])
        return min(job["max_in_flight"], self.conf.adoption.max_in_flight - others) - undecided

    # -- one batch of an adopt job -------------------------------------------------

    def _adopt(
        self,
        ctxt: RequestContext,
        job: dict[str, Any],
        pending: list[items_db.PendingItem],
        flows: BatchFlows,
        pool: str,
    ) -> None:
        """Compare the batch's fingerprints, write its rows, hand it to the flow thread."""
        current = self.driver.fingerprints([item.source_name for item in pending])
        stale: list[tuple[int, dict[str, Any]]] = []
        fresh: list[items_db.PendingItem] = []
        for item in pending:
            detail = stale_detail(item.fingerprint, current.get(item.source_name))
            if detail:
                reason = "changed since the plan: " + ", ".join(sorted(detail))
                stale.append(
                    (item.id, {"status": jobs_db.STALE, "reason": reason, "detail": detail})
                )
            else:
                fresh.append(item)
        if stale:  # a transaction only when there is something to write
            items_db.mark(self.db, stale)
        if not fresh:
            return
        plan = job["plan"]
        vtype = types_db.get_by_name_or_id(self.db, plan["volume_type_id"])
        item_of: dict[str, int] = {}
        new = []
        for item in fresh:
            volume = self._new_volume(job, plan, vtype, item, pool)
            item_of[volume.values["id"]] = item.id
            new.append(volume)

        def along_with(session: Any, written: Any, refusals: Any) -> None:
            items_db.write_items(
                session,
                [
                    (
                        item_of[n.values["id"]],
                        {
                            "status": jobs_db.MANAGING if refused is None else jobs_db.FAILED,
                            "volume_id": n.values["id"] if refused is None else None,
                            "reason": None if refused is None else str(refused),
                        },
                    )
                    for n, refused in zip(written, refusals, strict=True)
                ],
                only_from=jobs_db.PENDING,
            )

        written = volume_creation.create_managing_many(
            self.db, new, quota.DefaultLimits.from_conf(self.conf), along_with
        )
        requests = [
            (self._context(job, plan), volume["id"])
            for volume in written
            if not isinstance(volume, exception.VolmgrException)
        ]
        if requests:
            flows.start(requests)

    def _pool(self, job: dict[str, Any]) -> str:
        """The pool the job's volumes are placed in, as the scheduler places a single
        manage's: the backend's first pool that meets the plan's volume type (the plan
        checked that one does), read once per run of the job."""
        vtype = types_db.get_by_name_or_id(self.db, job["plan"]["volume_type_id"])
        pool, _reasons = capabilities.fitting_pool(self.conf, self.driver, job["backend"], vtype)
        return pool or ""

    @staticmethod
    def _context(job: dict[str, Any], plan: dict[str, Any]) -> RequestContext:
        return RequestContext(
            detached=True,
            user_id=job["user_id"],
            project_id=plan["target_project_id"],
            request_id=job["request_id"],
            roles=["admin"],
            overwrite=False,
        )

    def _new_volume(
        self,
        job: dict[str, Any],
        plan: dict[str, Any],
        vtype: dict[str, Any],
        item: items_db.PendingItem,
        pool: str,
    ) -> volume_creation.NewVolume:
        values = plan["values"] or {}
        reference = item.reference or {"source-name": item.source_name}
        backend = job["backend"]
        return volume_creation.NewVolume(
            {
                "id": str(uuid.uuid4()),
                "project_id": plan["target_project_id"],
                "user_id": job["user_id"],
                "display_name": item.volume_name,
                "display_description": values.get("description"),
                "host": f"{backend}#{pool}" if pool else backend,
                "cluster_name": backend if backend != self.backends[-1] else None,
                "availability_zone": self.conf.storage_availability_zone,
                "volume_type_id": vtype["id"],
                "bootable": bool(values.get("bootable", False)),
                "reference": json.dumps(reference, sort_keys=True),
                "reference_key": volume_creation.reference_key(backend, reference),
                "request_id": job["request_id"],
                # Placed on this backend at once (the plan checked it): recovery resumes it.
                "scheduled_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            },
            dict(values.get("metadata") or {}),
            vtype["name"],
        )
