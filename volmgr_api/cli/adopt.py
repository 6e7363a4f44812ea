"""``volmgr adopt``: adopt a whole backend — plan it, and see the plans.

``adopt plan HOST`` asks the API for a plan (``POST os-adoption-plans``) and prints
every object with its verdict, then the totals; ``adopt plans`` lists the plans and
``adopt plan-show ID`` shows one with its items; the job subcommands (apply,
status, watch, pause, resume, cancel, undo, list) are in ``adopt_jobs``. Each
subcommand is a function of its own (``_add_*`` builds its parser, the command
function runs it). With ``--json`` (``-f json``) a plan prints as one JSON document, items included.
"""

import argparse
import json
from collections.abc import Callable, Iterator
from typing import Any

from volmgr_api.cli import adopt_jobs
from volmgr_api.cli.client import ApiError, Client
from volmgr_common import output

CommandParser = Callable[[argparse._SubParsersAction, str, str], argparse.ArgumentParser]
"""Makes a subcommand's parser with the output options (``volmgr_api.cli._command``)."""

PLANS = "os-adoption-plans"
ITEM_COLUMNS = ["position", "source_name", "size", "verdict", "volume_name", "reason"]
PLAN_COLUMNS = ["id", "status", "host", "objects", "manage", "skip", "gigabytes", "expires_at"]
ITEMS_PAGE = 1000


def add_parsers(sub: argparse._SubParsersAction, command: CommandParser) -> None:
    """The ``adopt`` group and its subcommands."""
    group = sub.add_parser(
        "adopt",
        help="Adopt a whole backend: plan, then apply.",
        description="Adopt every object of a backend (or those a filter selects).",
    )
    adopt_sub = group.add_subparsers(dest="adopt_command", required=True, metavar="COMMAND")
    _add_plan(adopt_sub, command)
    _add_plans(adopt_sub, command)
    _add_plan_show(adopt_sub, command)
    adopt_jobs.add_job_commands(adopt_sub, command)


def _metadata(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ApiError(0, f"metadata must be key=value, not {pair!r}")
        result[key] = value
    return result


# -- adopt plan ------------------------------------------------------------------------


def _add_plan(sub: argparse._SubParsersAction, command: CommandParser) -> None:
    parser = command(sub, "plan", "Plan the adoption of a backend: every object with "
                     "what a manage of it would do; nothing is changed.")  # fmt: skip
    parser.add_argument("host", help="Backend: host@backend or cluster@backend.")
    parser.add_argument("--name", metavar="GLOB", help="Only objects whose name matches GLOB.")
    parser.add_argument("--min-size", type=int, metavar="GIB", help="Only objects of GIB or more.")
    parser.add_argument("--max-size", type=int, metavar="GIB", help="Only objects of GIB or less.")
    parser.add_argument(
        "--safe-only",
        action="store_true",
        help="Only objects the manageable listing calls safe (default: every object).",
    )
    parser.add_argument("--volume-type", help="Volume type (default: the default type).")
    parser.add_argument(
        "--name-template",
        help="Each volume's name: {source-name}, {size-gb}, {position} (default: {source-name}).",
    )
    parser.add_argument("--description", help="Description of every volume (default: none).")
    parser.add_argument(
        "--metadata", nargs="*", metavar="KEY=VALUE", help="Metadata of every volume."
    )
    parser.add_argument(
        "--bootable", action="store_true", default=None, help="Mark every volume bootable."
    )
    parser.add_argument(
        "--project",
        dest="target_project",
        help="Project the volumes will belong to (default: the caller's; after the "
        "command, this is not the caller's own --project).",
    )
    parser.add_argument(
        "--totals-only", action="store_true", help="Print the totals, not every object."
    )
    parser.set_defaults(command=plan)


def plan_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST os-adoption-plans`` body of ``adopt plan``'s arguments."""
    filters = {
        "name": args.name,
        "min_size": args.min_size,
        "max_size": args.max_size,
        "safe_only": args.safe_only or None,
    }
    fields = {
        "host": args.host,
        "filters": {key: value for key, value in filters.items() if value is not None},
        "volume_type": args.volume_type,
        "name_template": args.name_template,
        "description": args.description,
        "metadata": _metadata(args.metadata),
        "bootable": args.bootable,
        "project_id": args.target_project,
    }
    return {"plan": {key: value for key, value in fields.items() if value is not None}}


def plan(args: argparse.Namespace, client: Client) -> int:
    made = client.post(PLANS, plan_body(args))["plan"]
    items = [] if args.totals_only else list(_items(client, made["id"]))
    _print_plan(args, made, items)
    return 0


# -- adopt plans -----------------------------------------------------------------------


def _add_plans(sub: argparse._SubParsersAction, command: CommandParser) -> None:
    parser = command(sub, "plans", "Adoption plans, newest first.")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument("--marker", help="Start after this plan id (default: at the first).")
    parser.set_defaults(command=plans)


def _plan_row(found: dict[str, Any]) -> dict[str, Any]:
    totals = found["totals"]
    return {
        **{key: found[key] for key in ("id", "status", "host", "expires_at")},
        **{key: totals.get(key) for key in ("objects", "manage", "skip", "gigabytes")},
    }


def plans(args: argparse.Namespace, client: Client) -> int:
    params = {key: getattr(args, key) for key in ("limit", "marker") if getattr(args, key)}
    found = client.get(PLANS, **params)["plans"]
    if args.formatter == "json" and not args.columns:
        print(json.dumps(found, indent=2, sort_keys=True))
        return 0
    output.emit_rows(args, PLAN_COLUMNS, [_plan_row(p) for p in found])
    return 0


# -- adopt plan-show -------------------------------------------------------------------


def _add_plan_show(sub: argparse._SubParsersAction, command: CommandParser) -> None:
    parser = command(sub, "plan-show", "Show an adoption plan with its objects.")
    parser.add_argument("plan_id", metavar="PLAN", help="Plan id.")
    parser.add_argument(
        "--verdict", choices=("manage", "skip"), help="Only objects of this verdict."
    )
    parser.add_argument(
        "--totals-only", action="store_true", help="Print the totals, not every object."
    )
    parser.set_defaults(command=plan_show)


def plan_show(args: argparse.Namespace, client: Client) -> int:
    found = client.get(f"{PLANS}/{args.plan_id}", limit=0)["plan"]
    items = [] if args.totals_only else list(_items(client, args.plan_id, args.verdict))
    _print_plan(args, found, items)
    return 0


# -- shared ----------------------------------------------------------------------------


def _items(client: Client, plan_id: str, verdict: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item of the plan, a page at a time."""
    params: dict[str, Any] = {"limit": ITEMS_PAGE}
    if verdict:
        params["verdict"] = verdict
    while True:
        page = client.get(f"{PLANS}/{plan_id}", **params)["plan"]["items"]
        yield from page
        if len(page) < ITEMS_PAGE:
            return
        params["marker"] = page[-1]["position"]


def _totals_text(found: dict[str, Any]) -> str:
    totals = found["totals"]
    lines = [
        f"Plan {found['id']} ({found['status']}, expires {found['expires_at']}) of "
        f"{found['host']} for project {found['target_project_id']}:",
        f"  objects on the backend: {totals['objects_seen']}; in the plan: {totals['objects']}",
        f"  to manage: {totals['manage']} ({totals['gigabytes']} GiB); skipped: {totals['skip']}",
    ]
    lines += [f"    {reason}: {count}" for reason, count in totals["skipped_by_reason"].items()]
    for resource, usage in totals["quota"].items():
        limit = "unlimited" if usage["limit"] < 0 else usage["limit"]
        lines.append(f"  quota {resource}: {usage['after']} after the plan (limit {limit})")
    return "\n".join(lines)


def _print_plan(args: argparse.Namespace, found: dict[str, Any], items: list[dict]) -> None:
    """The items as rows, then the totals; as one JSON document with ``--json``."""
    if args.formatter == "json" and not args.columns:
        document = {key: value for key, value in found.items() if key not in ("links", "items")}
        print(json.dumps(dict(document, items=items), indent=2, sort_keys=True))
        return
    if items:
        output.emit_rows(args, ITEM_COLUMNS, [dict(i, reason=i["reason"] or "") for i in items])
    if args.formatter == output.DEFAULT_FORMAT:
        print(_totals_text(found))
