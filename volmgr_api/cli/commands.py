"""The commands of ``volmgr``: each takes the parsed arguments and a client, prints, returns."""

import argparse
import sys
import time
from typing import Any

from volmgr_api.cli import bulk
from volmgr_api.cli.client import ApiError, Client
from volmgr_common import output

VOLUME_COLUMNS = ["id", "status", "name", "size", "volume_type", "bootable"]
VOLUME_HEADERS = ["ID", "Status", "Name", "Size", "Volume Type", "Bootable"]
FAILED = "error"
"""The status the API shows for a failed manage (``error_managing`` in the database)."""


def emit_result(args: argparse.Namespace, values: dict[str, Any], text: str) -> None:
    """``text`` for the default table format, else ``values`` in the chosen format."""
    if args.formatter == output.DEFAULT_FORMAT and not args.columns:
        print(text)
    else:
        output.emit_one(args, values)


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    return {key: volume[key] for key in sorted(volume) if key != "links"}


def parse_metadata(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ApiError(0, f"metadata must be key=value, not {pair!r}")
        result[key] = value
    return result


def _manage_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "name": args.name,
        "description": args.description,
        "volume_type": args.volume_type,
        "availability_zone": args.availability_zone,
        "metadata": parse_metadata(args.metadata),
        "bootable": args.bootable,
        "with_snapshots": args.with_snapshots,
    }
    return {key: value for key, value in fields.items() if value is not None}


def wait_resource(
    client: Client, collection: str, resource_id: str, leave: str, timeout: float
) -> dict[str, Any]:
    """The volume or snapshot (``collection``: ``volumes`` or ``snapshots``) once its
    status is no longer ``leave`` (``{"status": "deleted"}`` if gone)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            resource = client.get(f"{collection}/{resource_id}")[collection[:-1]]
        except ApiError as error:
            if error.status == 404:
                return {"id": resource_id, "status": "deleted"}
            raise
        if resource["status"] != leave or time.monotonic() > deadline:
            return dict(resource)
        time.sleep(bulk.POLL_SECONDS)


def wait_volume(client: Client, volume_id: str, leave: str, timeout: float) -> dict[str, Any]:
    """The volume once its status is no longer ``leave`` (``{"status": "deleted"}`` if gone)."""
    return wait_resource(client, "volumes", volume_id, leave, timeout)


def unmanage_resource(
    args: argparse.Namespace, client: Client, collection: str, resource_id: str
) -> int:
    """``os-unmanage`` a volume or snapshot; with ``--wait``, until it is gone."""
    client.post(f"{collection}/{resource_id}/action", {"os-unmanage": None})
    status = "unmanage requested"
    if args.wait:
        status = wait_resource(client, collection, resource_id, "unmanaging", args.timeout)[
            "status"
        ]
        status = "unmanaged" if status == "deleted" else status
    emit_result(args, {"id": resource_id, "result": status}, f"{resource_id}: {status}")
    return 0


def delete_record(
    args: argparse.Namespace, client: Client, collection: str, resource_id: str
) -> int:
    """Delete the record of a volume or snapshot whose manage failed."""
    client.delete(f"{collection}/{resource_id}")
    values = {"id": resource_id, "result": "deleted"}
    emit_result(args, values, f"{resource_id}: record deleted")
    return 0


def manage(args: argparse.Namespace, client: Client) -> int:
    if args.all_safe:
        if args.with_snapshots:
            raise ApiError(0, "--with-snapshots adopts one chain: name its base, not --all-safe")
        return manage_all(args, client)
    if not args.identifier:
        raise ApiError(0, "name the object to manage, or use --all-safe")
    body = {"volume": {"host": args.host, "ref": {args.id_type: args.identifier}}}
    body["volume"].update(_manage_fields(args))
    volume = client.post("manageable_volumes", body)["volume"]
    if not args.wait:
        output.emit_one(args, _volume(volume))
        return 0
    volume = wait_volume(client, volume["id"], "creating", args.timeout)
    if volume["status"] != FAILED:
        shown = _volume(volume)
        if args.with_snapshots:
            listed = client.get("snapshots/detail", volume_id=volume["id"])["snapshots"]
            shown["snapshots"] = " ".join(snapshot["id"] for snapshot in listed)
        output.emit_one(args, shown)
        return 0
    reason = bulk.failure_reason(client, volume["id"])
    output.emit_one(args, {**_volume(volume), "failure_reason": reason})
    return fail(f"the manage of {volume['id']} failed: {reason}")


def manage_all(args: argparse.Namespace, client: Client) -> int:
    if args.identifier:
        raise ApiError(0, "--all-safe manages every safe object: name no identifier")
    summary = bulk.Summary()
    try:
        bulk.manage_all_safe(
            client, args.host, _manage_fields(args), args.page_size, args.timeout, summary=summary
        )
    except KeyboardInterrupt:
        summary.interrupted = True
    emit_result(args, dataclasses_dict(summary), "\n".join(summary.lines()))
    if summary.interrupted:
        return 130
    return 1 if summary.failed else 0


def dataclasses_dict(summary: bulk.Summary) -> dict[str, Any]:
    return {
        "found": summary.found,
        "available": summary.available,
        "pending": summary.pending,
        "failed": [{"reference": r, "reason": why} for r, why in summary.failed],
        "skipped": [{"reference": r, "reason": why} for r, why in summary.skipped],
        "interrupted": summary.interrupted,
        "job_id": summary.job_id,
    }


def manageable_list(args: argparse.Namespace, client: Client) -> int:
    path = "manageable_volumes" if args.summary else "manageable_volumes/detail"
    data = client.get(
        path,
        host=args.host,
        marker=args.marker,
        limit=args.limit,
        offset=args.offset,
        sort=args.sort,
    )
    columns = ["reference", "size", "safe_to_manage"]
    entries = data["manageable-volumes"]
    if not args.summary:
        columns += ["reason_not_safe", "cinder_id", "chain"]
        entries = [{**entry, "chain": _chain(entry)} for entry in entries]
    output.emit_rows(args, columns, entries)
    return 0


def _chain(entry: dict[str, Any]) -> str:
    """The members a base's chain lists (``manage --with-snapshots`` adopts them with
    it), in order from the base; empty for an object without one."""
    members = (entry.get("extra_info") or {}).get("chain") or []
    return " <- ".join(str(member) for member in members)


def list_volumes(args: argparse.Namespace, client: Client) -> int:
    params = {
        "all_tenants": 1 if args.all_projects else None,
        "status": args.status,
        "name": args.name,
        "limit": args.limit,
        "marker": args.marker,
        "drifted": "true" if args.drifted else None,
        "drift_kind": args.drift_kind,
    }
    data = client.get("volumes/detail", **params)
    columns, headers = list(VOLUME_COLUMNS), list(VOLUME_HEADERS)
    if args.all_projects:
        columns.insert(1, "os-vol-tenant-attr:tenant_id")
        headers.insert(1, "Project")
    rows = [[volume.get(column) for column in columns] for volume in data["volumes"]]
    output.emit_list(args, headers, rows)
    return 0


def show(args: argparse.Namespace, client: Client) -> int:
    output.emit_one(args, _volume(client.get(f"volumes/{args.volume}")["volume"]))
    return 0


def unmanage(args: argparse.Namespace, client: Client) -> int:
    return unmanage_resource(args, client, "volumes", args.volume)


def delete(args: argparse.Namespace, client: Client) -> int:
    return delete_record(args, client, "volumes", args.volume)


def services(args: argparse.Namespace, client: Client) -> int:
    data = client.get("os-services")
    columns = ["binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"]
    output.emit_rows(args, columns, data["services"])
    return 0


def quota_usage(args: argparse.Namespace, client: Client) -> int:
    project = args.project_id or client.project
    data = client.get(f"os-quota-sets/{project}", usage="True")
    rows = [
        {"resource": key, **value}
        for key, value in sorted(data["quota_set"].items())
        if isinstance(value, dict)
    ]
    output.emit_rows(args, ["resource", "in_use", "reserved", "limit"], rows)
    return 0


def messages(args: argparse.Namespace, client: Client) -> int:
    data = client.get("messages", resource_uuid=args.volume)
    columns = ["created_at", "resource_uuid", "event_id", "user_message"]
    output.emit_rows(args, columns, data["messages"])
    return 0


AUDIT_COLUMNS = ["volume_id", "kind", "found"]


def audit(args: argparse.Namespace, client: Client) -> int:
    """Audit a backend: a summary line, a table of the drifted volumes and a line of
    orphans (or, in another format, the whole summary)."""
    client.timeout = max(client.timeout, args.timeout)
    summary = client.post("os-audit", {"audit": {"host": args.host}})["audit"]
    if args.formatter != output.DEFAULT_FORMAT or args.columns:
        output.emit_one(args, summary)
        return 0
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary["kinds"].items()))
    print(
        f"{summary['host']}: {summary['checked']} volumes checked in {summary['seconds']}s, "
        f"{summary['drifted']} with drift{f' ({kinds})' if kinds else ''}; "
        f"{summary['detected']} new, {summary['cleared']} cleared"
    )
    if summary["drifts"]:
        output.emit_rows(args, AUDIT_COLUMNS, summary["drifts"])
    if summary.get("drifts_truncated"):
        print(f"(the first {len(summary['drifts'])} drifted volumes are listed)")
    if "orphans" in summary:  # an older volume service's audit finds no orphans
        print(
            f"{summary['orphans']} orphans ({summary['orphans_detected']} new, "
            f"{summary['orphans_cleared']} cleared): volmgr orphans {summary['host']}"
        )
    return 0


def fail(message: str) -> int:
    print(f"volmgr: error: {message}", file=sys.stderr)
    return 1
