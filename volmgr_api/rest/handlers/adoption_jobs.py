"""``os-adoption-jobs``: apply an adoption plan, list and show jobs, and their actions.

``POST os-adoption-jobs`` with ``{"job": {"plan_id", "strict", "max_in_flight"}}``
starts the plan's job (202 with the job). ``GET os-adoption-jobs/{id}`` shows the
job with its counters, rate, start and end, and a page of its items (``marker`` a
position, ``limit``, ``status``). ``POST os-adoption-jobs/{id}/action`` takes
exactly one of ``{"pause": null}``, ``{"resume": null}``, ``{"cancel": null}`` (200
with the job) or ``{"undo": null}`` (202 with the undo job). Admin only.
"""

from typing import Any

from volmgr_api.policies import adoption as policy
from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, is_uuid
from volmgr_api.rest.request import ApiRequest, Reply
from volmgr_api.schemas import adoption_jobs as schema
from volmgr_common.db import adoption_jobs as jobs_db

ITEM_PARAMS = ("status", "marker", "limit")
LIST_PARAMS = ("status", "marker", "limit")
JOB_STATUSES = (*jobs_db.LIVE, jobs_db.COMPLETED, jobs_db.CANCELLED)


def _target(req: ApiRequest) -> dict[str, Any]:
    return {"project_id": req.ctxt.project_id}


def _job_id(job_id: str) -> str:
    if not is_uuid(job_id):
        raise faults.not_found(f"Adoption job {job_id[:40]} could not be found.")
    return job_id


def _status(params: Params, allowed: tuple[str, ...]) -> str | None:
    status = params.get("status")
    if status is not None and status not in allowed:
        raise faults.bad_request(f"status must be one of {', '.join(allowed)}")
    return status


def create(req: ApiRequest) -> Reply:
    req.authorize(policy.JOB_CREATE, _target(req))
    body = req.json_body(schema.CREATE)["job"]
    job = req.api.adoption_jobs.apply(
        req.ctxt, body["plan_id"], body.get("strict", False), body.get("max_in_flight")
    )
    return Reply(202, {"job": job})


def index(req: ApiRequest) -> Reply:
    req.authorize(policy.JOB_GET_ALL, _target(req))
    params = Params(req.webob.GET, LIST_PARAMS)
    marker = params.get("marker")
    if marker is not None:
        _job_id(marker)
    jobs = req.api.adoption_jobs.list_jobs(
        req.ctxt, marker, params.limit(req.conf.api.max_list_limit), _status(params, JOB_STATUSES)
    )
    return Reply(200, {"jobs": jobs})


def show(req: ApiRequest, job_id: str) -> Reply:
    req.authorize(policy.JOB_GET, _target(req))
    params = Params(req.webob.GET, ITEM_PARAMS)
    marker_text = params.get("marker")
    try:
        marker = int(marker_text) if marker_text is not None else None
    except ValueError:
        raise faults.bad_request("marker must be the position of an item (an integer)") from None
    job = req.api.adoption_jobs.get(req.ctxt, _job_id(job_id))
    items = req.api.adoption_jobs.items(
        req.ctxt,
        job_id,
        _status(params, jobs_db.ITEM_STATUSES),
        marker,
        params.limit(req.conf.api.max_list_limit),
    )
    return Reply(200, {"job": dict(job, items=items)})


def action(req: ApiRequest, job_id: str) -> Reply:
    req.authorize(policy.JOB_ACTION, _target(req))
    [name] = req.json_body(schema.ACTION)
    job_id = _job_id(job_id)
    adoption = req.api.adoption_jobs
    if name == "undo":
        return Reply(202, {"job": adoption.undo(req.ctxt, job_id)})
    switch = {"pause": adoption.pause, "resume": adoption.resume, "cancel": adoption.cancel}
    return Reply(200, {"job": switch[name](req.ctxt, job_id)})
