"""``volmgr manage --all-safe HOST``: adopt every object a backend lists as safe to manage.

It is an adoption plan plus its job: ``POST os-adoption-plans`` with the filter
``safe_only`` (and the volume's fields: type, description, metadata, bootable), then
``POST os-adoption-jobs`` to apply it, then a progress bar fed by the job's
counters until the job ends. The job runs in the backend's volume service: each
object goes through the same manage path as a single request, at most
``--page-size`` in flight at a time.

Resume: the job is durable and goes on without the command. After an interruption
(Ctrl-C, a lost connection) ``volmgr adopt watch JOB`` follows it again; running the
same command again makes a new plan, in which objects already managed (or being
managed) are no longer safe to manage, so it continues where things stand and never
manages an object twice (the double-manage guard refuses an object another job took
meanwhile; it is counted as skipped).
"""

import dataclasses
import time
from typing import Any

from volmgr_api.cli.client import Client
from volmgr_api.cli.output import Progress

SOURCE_NAME = "source-name"
POLL_SECONDS = 0.2


@dataclasses.dataclass
class Summary:
    """What a bulk run did, reference by reference."""

    found: int = 0
    available: list[str] = dataclasses.field(default_factory=list)
    pending: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    interrupted: bool = False
    job_id: str | None = None

    def lines(self) -> list[str]:
        lines = [
            f"safe to manage: {self.found}, now available: {len(self.available)}, "
            f"still in progress: {len(self.pending)}, failed: {len(self.failed)}, "
            f"skipped: {len(self.skipped)}"
        ]
        lines += [f"  failed  {ref}: {reason}" for ref, reason in self.failed]
        lines += [f"  skipped {ref}: {reason}" for ref, reason in self.skipped]
        if self.interrupted and self.job_id:
            lines.append(
                f"interrupted: adoption job {self.job_id} goes on; follow it with "
                f"volmgr adopt watch {self.job_id}, or run the same command again to "
                "continue (objects already managed are no longer safe to manage)"
            )
        elif self.interrupted:
            lines.append("interrupted: run the same command again to continue")
        return lines


def failure_reason(client: Client, volume_id: str) -> str:
    """Why the manage of a volume failed: the user message recorded about it."""
    messages = client.get("messages", resource_uuid=volume_id)["messages"]
    return messages[0]["user_message"] if messages else "the manage failed"


PLANS = "os-adoption-plans"
JOBS = "os-adoption-jobs"
ITEMS_PAGE = 1000
ENDED = ("completed", "cancelled")
CANCELLED = "cancelled"


def _plan(client: Client, host: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The adoption plan of every safe object of ``host``, with the volumes' fields."""
    body: dict[str, Any] = {"host": host, "filters": {"safe_only": True}}
    for key in ("volume_type", "description", "metadata", "bootable"):
        if key in fields:
            body[key] = fields[key]
    if "name" in fields:
        body["name_template"] = fields["name"]
    return client.post(PLANS, {"plan": body})["plan"]


def _items(client: Client, job_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": ITEMS_PAGE}
        if items:
            params["marker"] = items[-1]["position"]
        page = client.get(f"{JOBS}/{job_id}", **params)["job"]["items"]
        items += page
        if len(page) < ITEMS_PAGE:
            return items


def _follow(
    client: Client, job: dict[str, Any], progress: Progress, timeout: float
) -> dict[str, Any]:
    """The job once it has ended (or at ``timeout``), advancing ``progress`` as it goes."""
    deadline = time.monotonic() + timeout
    while True:
        for _ in range(job["done"] - progress.done):
            progress.advance()
        if job["status"] in ENDED or time.monotonic() > deadline:
            return job
        time.sleep(POLL_SECONDS)
        job = client.get(f"{JOBS}/{job['id']}", limit=0)["job"]


def _summarize(items: list[dict[str, Any]], summary: Summary) -> None:
    """Each item of the job into the summary; items the plan skipped (not safe) were
    never among the objects found, and are left out."""
    for item in items:
        name, status, reason = item["source_name"], item["status"], item["reason"] or ""
        if status == "available":
            summary.available.append(name)
        elif status in ("pending", "managing"):
            summary.pending.append(name)
        elif status == "failed":
            summary.failed.append((name, reason))
        elif status == "stale" or (status == "skipped" and reason == CANCELLED):
            summary.skipped.append((name, reason))


def manage_all_safe(
    client: Client,
    host: str,
    fields: dict[str, Any],
    page_size: int = 50,
    timeout: float = 600.0,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Plan and adopt every safe object of ``host``; ``summary`` fills in as it goes."""
    summary = summary or Summary()
    plan = _plan(client, host, fields)
    summary.found = plan["totals"].get("manage", 0)
    if not summary.found:
        return summary
    job = client.post(JOBS, {"job": {"plan_id": plan["id"], "max_in_flight": page_size}})["job"]
    summary.job_id = job["id"]
    progress = progress or Progress(summary.found)
    progress.total = summary.found
    try:
        job = _follow(client, job, progress, timeout)
    finally:
        progress.close()
    _summarize(_items(client, job["id"]), summary)
    return summary
