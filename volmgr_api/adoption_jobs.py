"""What volmgr-api does for adoption jobs: apply a plan, show, list, pause, resume,
cancel and undo.

Applying asks the volume service of the plan's backend (an RPC call: it compares
fingerprints for a strict apply and writes the job with the plan's guard); the
other switches are rows (a job is data) and a cast that wakes the job's runner
when it must go on. Admin-only by policy (checked by the REST faces); a caller
who is not an admin would see only its own project's jobs.
"""

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_api import api as api_module
from volmgr_api.flows.manage_existing import up_backend
from volmgr_common import exception, rpc
from volmgr_common.conf.adoption import MAX_IN_FLIGHT_LIMIT
from volmgr_common.context import RequestContext
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_common.db import api as db_api
from volmgr_common.page_request import capped_limit
from volmgr_volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


class AdoptionJobs:
    """Adoption jobs, for the REST handlers and the CLI."""

    def __init__(
        self, conf: cfg.ConfigOpts, db: db_api.Database, volume: volume_rpcapi.VolumeAPI
    ) -> None:
        self.conf = conf
        self.db = db
        self.volume = volume

    def apply(
        self,
        ctxt: RequestContext,
        plan_id: str,
        strict: bool = False,
        max_in_flight: int | None = None,
    ) -> dict[str, Any]:
        """Start the job of a plan (202): AdoptionPlanNotFound, AdoptionConflict (expired,
        applied), AdoptionPlanStale (strict and something changed), InvalidInput."""
        if max_in_flight is not None and not 1 <= max_in_flight <= MAX_IN_FLIGHT_LIMIT:
            raise exception.InvalidInput(
                reason=f"max_in_flight must be from 1 to {MAX_IN_FLIGHT_LIMIT}"
            )
        scope = api_module.project_scope(ctxt)
        plan_backend = jobs_db.plan_backend(self.db, plan_id, scope)
        backend = up_backend(self.db, plan_backend, self.conf.service_down_time)
        with rpc.bus_unavailable_as_503():
            return self.volume.create_adoption_job(
                ctxt, backend, plan_id, scope, strict, max_in_flight
            )

    def get(self, ctxt: RequestContext, job_id: str) -> dict[str, Any]:
        return jobs_db.get(self.db, job_id, api_module.project_scope(ctxt))

    def list_jobs(
        self, ctxt: RequestContext, marker: str | None, limit: int | None, status: str | None
    ) -> list[dict[str, Any]]:
        limit = capped_limit(limit, self.conf.api.max_list_limit)
        return jobs_db.list_jobs(self.db, api_module.project_scope(ctxt), marker, limit, status)

    def items(
        self,
        ctxt: RequestContext,
        job_id: str,
        status: str | None,
        marker: int | None,
        limit: int | None,
    ) -> list[dict[str, Any]]:
        limit = capped_limit(limit, self.conf.api.max_list_limit)
        scope = api_module.project_scope(ctxt)
        return jobs_db.list_items(self.db, job_id, scope, status, marker, limit)

    def pause(self, ctxt: RequestContext, job_id: str) -> dict[str, Any]:
        return jobs_db.set_paused(self.db, job_id, api_module.project_scope(ctxt), True)

    def resume(self, ctxt: RequestContext, job_id: str) -> dict[str, Any]:
        job = jobs_db.set_paused(self.db, job_id, api_module.project_scope(ctxt), False)
        self._wake(ctxt, job)
        return job

    def cancel(self, ctxt: RequestContext, job_id: str) -> dict[str, Any]:
        return jobs_db.cancel(self.db, job_id, api_module.project_scope(ctxt))

    def undo(self, ctxt: RequestContext, job_id: str) -> dict[str, Any]:
        """The undo job of ``job_id`` (started now, or the one started before)."""
        columns = {
            "max_in_flight": self.conf.adoption.max_in_flight,
            "user_id": ctxt.user_id,
            "request_id": ctxt.request_id,
        }
        scope = api_module.project_scope(ctxt)
        undo, created = jobs_db.create_undo_job(self.db, job_id, scope, columns)
        if created or undo["status"] in (jobs_db.RUNNING, jobs_db.CANCELLING):
            self._wake(ctxt, undo)
        return undo

    def _wake(self, ctxt: RequestContext, job: dict[str, Any]) -> None:
        """Cast to the job's volume service; should the bus be away, its scan for jobs
        nobody runs takes it within ``[recovery] interval``."""
        try:
            self.volume.run_adoption_job(ctxt, job["backend"], job["id"])
        except Exception as error:  # the job is in the database: it will run anyway
            LOG.warning(
                "Job %s: its volume service was not told (%s); its scan will take it",
                job["id"],
                error,
            )
