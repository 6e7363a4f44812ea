"""``volmgr orphans`` and ``volmgr readopt``: objects in managed form no volume knows,
and their re-adoption (admin).

``volmgr orphans HOST`` lists one page of what the last audit of HOST found
(``volmgr audit HOST`` audits it now), by name unless ``--sort`` says otherwise,
after ``--marker`` (an orphan's name), at most ``--limit`` (a table, or ``-f
json``/``--json``). ``volmgr readopt HOST NAME`` re-adopts one under the volume id
its name carries and its original project (``--project`` when the backend records
none); ``--all`` re-adopts every orphan of HOST the last audit found (all pages)
but the released ones (a user's unmanage let them go: ``released_at`` is set; it
says how many it skipped), one request each, and reports each outcome: an orphan
that is refused (no project recorded and none given, say) does not stop the
others. A released orphan is re-adopted only by name.
"""

import argparse
import sys
from typing import Any

from volmgr_api.cli import commands
from volmgr_api.cli.client import ApiError, Client
from volmgr_common import output

ORPHAN_COLUMNS = [
    "name",
    "volume_id",
    "size",
    "project_id",
    "original_name",
    "identity",
    "released_at",
    "first_seen_at",
]
OUTCOME_COLUMNS = ["name", "volume_id", "project_id", "result"]
COLLECTION = "os-orphans"


def orphans(args: argparse.Namespace, client: Client) -> int:
    params = {"host": args.host, "marker": args.marker, "limit": args.limit, "sort": args.sort}
    found = client.get(COLLECTION, **params)["orphans"]
    output.emit_rows(args, ORPHAN_COLUMNS, found)
    return 0


def every_orphan(client: Client, host: str) -> list[dict[str, Any]]:
    """Every orphan the last audit of ``host`` found, page after page."""
    found: list[dict[str, Any]] = []
    while True:
        marker = found[-1]["name"] if found else None
        data = client.get(COLLECTION, host=host, marker=marker)
        found += data["orphans"]
        if not data.get("orphans_links") or not data["orphans"]:
            return found


def _readopt_one(
    args: argparse.Namespace, client: Client, orphan: dict[str, Any]
) -> dict[str, Any]:
    """Re-adopt ``orphan``: its outcome row (``result`` is the volume's status, or why
    it was refused)."""
    body: dict[str, Any] = {"host": args.host, "name": orphan["name"]}
    if args.owner_project and not orphan.get("project_id"):
        body["project_id"] = args.owner_project
    if args.volume_type:
        body["volume_type"] = args.volume_type
    row = {"name": orphan["name"], "volume_id": orphan.get("volume_id")}
    try:
        volume = client.post("os-orphans/action", {"os-readopt": body})["volume"]
    except ApiError as error:
        return {**row, "project_id": body.get("project_id"), "result": f"refused: {error}"}
    if args.wait:
        volume = commands.wait_volume(client, volume["id"], "creating", args.timeout)
    project = volume.get("os-vol-tenant-attr:tenant_id")
    return {**row, "project_id": project, "result": volume["status"]}


def readopt(args: argparse.Namespace, client: Client) -> int:
    if args.all == bool(args.name):
        raise ApiError(0, "name one orphan, or use --all (not both)")
    if args.all:
        found = every_orphan(client, args.host)
        wanted = [orphan for orphan in found if not orphan.get("released_at")]
        skipped = len(found) - len(wanted)
        if skipped:
            print(
                f"Skipped {skipped} released orphan(s): a user's unmanage let them go; "
                "re-adopt one by name to take it back.",
                file=sys.stderr,
            )
    else:
        wanted = [{"name": args.name, "volume_id": None, "project_id": None}]
    rows = [_readopt_one(args, client, orphan) for orphan in wanted]
    output.emit_rows(args, OUTCOME_COLUMNS, rows)
    failed = [row for row in rows if row["result"] == commands.FAILED or "refused" in row["result"]]
    return 1 if failed else 0


def add_commands(sub: argparse._SubParsersAction, command: Any) -> None:
    """``orphans`` and ``readopt`` (``command`` makes a subcommand's parser)."""
    text = (
        "Objects of a backend in managed form that no volume knows, as its last audit "
        "found them (admin)."
    )
    parser = command(sub, "orphans", text)
    parser.add_argument("host", help="Backend: host@backend.")
    parser.add_argument("--marker", help="Start after this orphan's name (default: the first).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument(
        "--sort",
        help="KEY[:asc|desc],... of name, volume_id, size_bytes, first_seen_at, "
        "last_seen_at (default: name:asc).",
    )
    parser.set_defaults(command=orphans)

    text = (
        "Re-adopt an orphan (or, with --all, every orphan of HOST) under its volume id "
        "and original project, without a rename (admin)."
    )
    parser = command(sub, "readopt", text)
    parser.add_argument("host", help="Backend: host@backend.")
    parser.add_argument("name", nargs="?", help="The orphan's name on the backend.")
    parser.add_argument(
        "--project",
        dest="owner_project",  # the identity's --project goes before the command
        help="Project to re-adopt for when the backend records none (LVM; file systems "
        "without user extended attributes); default: the recorded one.",
    )
    parser.add_argument(
        "--volume-type", help="Volume type, by name or id (default: the default type)."
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="Re-adopt every orphan of HOST but the released ones, which a user's unmanage "
        "let go (default: NAME only; a released orphan is re-adopted only by name).",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="Wait until each re-adoption ends (default: return at once).",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="With --wait: seconds to wait for each (default: 600).",
    )
    parser.set_defaults(command=readopt)
