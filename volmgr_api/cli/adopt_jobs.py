"""The job subcommands of ``volmgr adopt``: apply a plan as a job, watch it, pause,
resume, cancel or undo it, list jobs.

Each subcommand is a function of its own taking the parsed arguments and a client;
``watch`` draws a live tqdm progress bar (rate and ETA) from the job's counters,
which the server counts from the job's items.
"""

import argparse
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from volmgr_api.cli.client import Client
from volmgr_common import output

JOBS = "os-adoption-jobs"
ENDED = ("completed", "cancelled")
JOB_COLUMNS = ["id", "kind", "status", "backend", "total", "done", "rate", "started_at",
               "finished_at"]  # fmt: skip
ITEM_COLUMNS = ["position", "source_name", "status", "volume_id", "reason"]
POLL_SECONDS = 0.5
Command = Callable[[argparse.Namespace, Client], int]
CommandParser = Callable[[argparse._SubParsersAction, str, str], argparse.ArgumentParser]
"""Makes a subcommand's parser with the output options (``volmgr_api.cli._command``)."""


def job_summary(job: dict[str, Any]) -> str:
    """One readable line of a job: status, counters, rate."""
    counts = ", ".join(f"{k}: {v}" for k, v in job["counters"].items() if v)
    return (
        f"job {job['id']} ({job['kind']}) {job['status']}: {job['done']}/{job['total']} "
        f"done ({counts or 'no items'}), {job['rate']} items/s"
    )


def _flat(job: dict[str, Any]) -> dict[str, Any]:
    """A job's fields for -f/-c output: its columns, then each counter."""
    values = {key: job[key] for key in job if key not in ("counters", "items")}
    values.update(job["counters"])
    return values


def _emit_job(args: argparse.Namespace, job: dict[str, Any]) -> None:
    if args.formatter == output.DEFAULT_FORMAT and not args.columns:
        print(job_summary(job))
        return
    output.emit_one(args, _flat(job))


def apply(args: argparse.Namespace, client: Client) -> int:
    body: dict[str, Any] = {"plan_id": args.plan, "strict": args.strict}
    if args.max_in_flight is not None:
        body["max_in_flight"] = args.max_in_flight
    job = client.post(JOBS, {"job": body})["job"]
    if args.watch:
        return _watch(args, client, job["id"])
    _emit_job(args, job)
    return 0


def status(args: argparse.Namespace, client: Client) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.item_status:
        params["status"] = args.item_status
    job = client.get(f"{JOBS}/{args.job}", **params)["job"]
    if not args.items:
        _emit_job(args, job)
        return 0
    if args.formatter == output.DEFAULT_FORMAT:
        print(job_summary(job))
    output.emit_rows(args, ITEM_COLUMNS, job["items"])
    return 0


def watch(args: argparse.Namespace, client: Client) -> int:
    return _watch(args, client, args.job)


def _watch(args: argparse.Namespace, client: Client, job_id: str) -> int:
    """A live bar (done of total, rate, ETA) until the job ends; its summary; exit code 1
    when an item failed."""
    job = client.get(f"{JOBS}/{job_id}", limit=0)["job"]
    deadline = time.monotonic() + args.timeout
    with tqdm(total=job["total"], unit="object", dynamic_ncols=True, initial=job["done"]) as bar:
        while True:
            bar.update(job["done"] - bar.n)
            bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in job["counters"].items() if v))
            if job["status"] in ENDED or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
            job = client.get(f"{JOBS}/{job_id}", limit=0)["job"]
    _emit_job(args, job)
    if job["status"] not in ENDED:
        return 2
    return 1 if job["counters"]["failed"] else 0


def _action(name: str) -> Command:
    def act(args: argparse.Namespace, client: Client) -> int:
        job = client.post(f"{JOBS}/{args.job}/action", {name: None})["job"]
        _emit_job(args, job)
        return 0

    act.__name__ = name
    act.__doc__ = f"``volmgr adopt {name} JOB``."
    return act


def list_jobs(args: argparse.Namespace, client: Client) -> int:
    params = {"status": args.status, "limit": args.limit}
    jobs = client.get(JOBS, **{k: v for k, v in params.items() if v is not None})["jobs"]
    output.emit_rows(args, JOB_COLUMNS, jobs)
    return 0


def _command(
    sub: argparse._SubParsersAction, command: CommandParser, name: str, text: str, function: Command
) -> argparse.ArgumentParser:
    parser = command(sub, name, text)
    parser.set_defaults(command=function)
    return parser


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=86400.0,
        help="Seconds to watch before giving up (exit code 2; the job goes on; default: a day).",
    )


def add_job_commands(sub: argparse._SubParsersAction, command: CommandParser) -> None:
    """The job subcommands of ``volmgr adopt``: apply, status, watch, pause, resume,
    cancel, undo, list."""
    parser = _command(sub, command, "apply", "Apply an adoption plan: start its job.", apply)
    parser.add_argument("plan", help="Plan id.")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="Refuse the whole apply if any object changed since the plan (default: "
        "changed objects are skipped as stale).",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        help="At most this many objects in flight (default and upper bound: the "
        "backend's [adoption] max_in_flight).",
    )
    parser.add_argument("--watch", action="store_true", help="Watch the job until it ends.")
    _add_timeout(parser)
    parser = _command(sub, command, "status", "Show a job: counters, rate, start, end.", status)
    parser.add_argument("job", help="Job id.")
    parser.add_argument("--items", action="store_true", help="List the job's items too.")
    parser.add_argument("--item-status", help="With --items: only items of this status.")
    parser.add_argument("--limit", type=int, default=1000, help="With --items: at most this many.")
    parser = _command(
        sub, command, "watch", "Watch a job with a live progress bar until it ends.", watch
    )
    parser.add_argument("job", help="Job id.")
    _add_timeout(parser)
    for name, text in (
        ("pause", "Pause a job: no new items; items in flight finish."),
        ("resume", "Resume a paused job."),
        ("cancel", "Cancel a job: no new items; items in flight finish; the rest skipped."),
        ("undo", "Undo a job: give every object it adopted back under its original name."),
    ):
        _command(sub, command, name, text, _action(name)).add_argument("job", help="Job id.")
    parser = _command(sub, command, "list", "Adoption jobs, newest first.", list_jobs)
    parser.add_argument("--status", help="Only jobs of this status (default: any).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
