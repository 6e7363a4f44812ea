"""The snapshot commands of ``volmgr``: snapshot-manage, snapshot-manageable-list,
snapshot-list, snapshot-show, snapshot-unmanage (and snapshot-delete for the record
of a failed manage). Each takes the parsed arguments and a client, prints, returns
its exit code; output formats as every command's (-f, -c, --json)."""

import argparse
from collections.abc import Callable
from typing import Any

from volmgr_api.cli import bulk
from volmgr_api.cli.client import Client
from volmgr_api.cli.commands import (
    FAILED,
    delete_record,
    fail,
    parse_metadata,
    unmanage_resource,
    wait_resource,
)
from volmgr_common import output

SNAPSHOT_COLUMNS = ["id", "volume_id", "status", "name", "size"]
SNAPSHOT_HEADERS = ["ID", "Volume ID", "Status", "Name", "Size"]


def _snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: snapshot[key] for key in sorted(snapshot) if key != "links"}


def wait_snapshot(client: Client, snapshot_id: str, leave: str, timeout: float) -> dict[str, Any]:
    """The snapshot once its status is no longer ``leave`` (``{"status": "deleted"}`` if gone)."""
    return wait_resource(client, "snapshots", snapshot_id, leave, timeout)


def manage(args: argparse.Namespace, client: Client) -> int:
    fields = {
        "volume_id": args.volume,
        "ref": {args.id_type: args.identifier},
        "name": args.name,
        "description": args.description,
        "metadata": parse_metadata(args.metadata),
    }
    body = {"snapshot": {key: value for key, value in fields.items() if value is not None}}
    snapshot = client.post("os-snapshot-manage", body)["snapshot"]
    if args.wait:
        snapshot = wait_snapshot(client, snapshot["id"], "creating", args.timeout)
    output.emit_one(args, _snapshot(snapshot))
    if snapshot["status"] == FAILED:
        reason = bulk.failure_reason(client, snapshot["id"])
        return fail(f"the manage of snapshot {snapshot['id']} failed: {reason}")
    return 0


def manageable_list(args: argparse.Namespace, client: Client) -> int:
    path = "os-snapshot-manage" if args.summary else "os-snapshot-manage/detail"
    data = client.get(
        path,
        host=args.host,
        marker=args.marker,
        limit=args.limit,
        offset=args.offset,
        sort=args.sort,
    )
    columns = ["reference", "size", "safe_to_manage", "source_reference"]
    if not args.summary:
        columns += ["reason_not_safe", "cinder_id"]
    output.emit_rows(args, columns, data["manageable-snapshots"])
    return 0


def list_snapshots(args: argparse.Namespace, client: Client) -> int:
    params = {
        "all_tenants": 1 if args.all_projects else None,
        "status": args.status,
        "volume_id": args.volume_id,
        "limit": args.limit,
        "marker": args.marker,
    }
    data = client.get("snapshots/detail", **params)
    rows = [[s.get(column) for column in SNAPSHOT_COLUMNS] for s in data["snapshots"]]
    output.emit_list(args, SNAPSHOT_HEADERS, rows)
    return 0


def show(args: argparse.Namespace, client: Client) -> int:
    output.emit_one(args, _snapshot(client.get(f"snapshots/{args.snapshot}")["snapshot"]))
    return 0


def unmanage(args: argparse.Namespace, client: Client) -> int:
    return unmanage_resource(args, client, "snapshots", args.snapshot)


def delete(args: argparse.Namespace, client: Client) -> int:
    return delete_record(args, client, "snapshots", args.snapshot)


def _waiting(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--wait", action="store_true", help=f"Wait until {what} (default: return at once)."
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="With --wait: seconds (default: 600)."
    )


def add_commands(
    sub: argparse._SubParsersAction,
    command: Callable[[argparse._SubParsersAction, str, str], argparse.ArgumentParser],
) -> None:
    """The snapshot commands, made with ``command(sub, name, help)``."""
    parser = command(sub, "snapshot-manage", "Manage an existing snapshot of a managed volume.")
    parser.add_argument("volume", help="Id of the managed volume the object is a snapshot of.")
    parser.add_argument("identifier", help="Name (or, with --id-type, id) of the snapshot object.")
    parser.add_argument(
        "--id-type", default="source-name", help="Reference key (default: source-name)."
    )
    parser.add_argument("--name", help="Name of the snapshot (default: none).")
    parser.add_argument("--description", help="Description of the snapshot (default: none).")
    parser.add_argument(
        "--metadata", nargs="*", metavar="KEY=VALUE", help="Metadata (default: none)."
    )
    _waiting(parser, "the manage ends; a failure exits with code 1")
    parser.set_defaults(command=manage)

    parser = command(
        sub, "snapshot-manageable-list", "Snapshot objects of a backend, each with its origin."
    )
    parser.add_argument("host", help="Backend: host@backend.")
    parser.add_argument(
        "--summary", action="store_true", help="Without the reasons (default: with them)."
    )
    parser.add_argument("--marker", help="Start after this reference (default: at the first).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument("--offset", type=int, help="Skip this many (default: 0).")
    parser.add_argument(
        "--sort", default="reference:asc", help="KEY[:asc|desc] (default: reference:asc)."
    )
    parser.set_defaults(command=manageable_list)

    parser = command(sub, "snapshot-list", "Snapshots, newest first.")
    parser.add_argument(
        "--all-projects", action="store_true", help="Every project's (admin; default: own)."
    )
    parser.add_argument("--status", help="Only snapshots of this status (default: any).")
    parser.add_argument("--volume-id", help="Only snapshots of this volume (default: any).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument("--marker", help="Start after this snapshot id (default: at the first).")
    parser.set_defaults(command=list_snapshots)

    for name, function, text in (
        ("snapshot-show", show, "Show a snapshot."),
        ("snapshot-unmanage", unmanage, "Stop managing a snapshot; the object stays."),
        ("snapshot-delete", delete, "Delete the record of a failed snapshot manage."),
    ):
        parser = command(sub, name, text)
        parser.add_argument("snapshot", help="Snapshot id.")
        if function is unmanage:
            _waiting(parser, "the snapshot is unmanaged")
        parser.set_defaults(command=function)
