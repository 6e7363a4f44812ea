"""volmgr-manage: database and quota administration.

``volmgr-manage [--config-file F] db sync|version``,
``quota show PROJECT``, ``quota set PROJECT RESOURCE LIMIT``, ``quota check``
(exit 1 on drift; one line on stderr when there is none), ``quota sync``,
``type create NAME [KEY=VALUE ...]``, ``type list``, ``service list``,
``service disable HOST BINARY [--reason R]``, ``service enable HOST BINARY``.

Without a config file it finds the database that ``volmgr-all`` uses when run from
the same directory (``state_path`` ``./volmgr-state``). Results print as a table,
or as ``-f json|yaml|value|csv``, ``-c COLUMN`` chooses columns. A bad argument
ends with one line and exit code 2, an error of the command with exit code 1.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception, output
from volmgr_common.cmd import open_database
from volmgr_common.conf import startup
from volmgr_common.db import migration, quota, quota_audit
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db
from volmgr_common.db.api import Database
from volmgr_common.limits import STRING_WIDTH

PROG = "volmgr-manage"
USAGE_ERROR = 2
DRIFT_COLUMNS = ("project_id", "resource", "in_use", "true_in_use", "reserved", "true_reserved")
DRIFT_HEADERS = ("Project", "Resource", "In Use", "True In Use", "Reserved", "True Reserved")
TYPE_FIELDS = (
    ("id", "ID"),
    ("name", "Name"),
    ("description", "Description"),
    ("is_public", "Is Public"),
    ("extra_specs", "Extra Specs"),
)


class UsageError(Exception):
    """An argument that cannot be right: one line, exit code 2."""


def _leaf(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    output.add_options(parser)
    return parser


def _command(
    subparsers: argparse._SubParsersAction, name: str, help_text: str
) -> argparse._SubParsersAction:
    """A command (``quota``, ``type``, …) whose action must be given."""
    actions = subparsers.add_parser(name, help=help_text).add_subparsers(
        dest="action", metavar="ACTION"
    )
    actions.required = True
    return actions


def _add_quota(subparsers: argparse._SubParsersAction) -> None:
    q = _command(subparsers, "quota", "Quota limits and usage.")
    _leaf(q, "show", "Limits and usage of a project.").add_argument(
        "project_id", metavar="PROJECT", help="Project id."
    )
    _leaf(q, "check", "Report usage that differs from the truth (exit code 1 if any).")
    _leaf(q, "sync", "Repair usage that differs from the truth.")
    qset = _leaf(q, "set", "Set a project's limit for one resource.")
    qset.add_argument("project_id", metavar="PROJECT", help="Project id.")
    qset.add_argument(
        "resource",
        metavar="RESOURCE",
        help=(
            "volumes, snapshots, gigabytes, or volumes_<type>, snapshots_<type> or "
            "gigabytes_<type> of an existing type."
        ),
    )
    qset.add_argument("hard_limit", metavar="LIMIT", help="The limit; -1 for unlimited.")


def _add_parsers(subparsers: argparse._SubParsersAction) -> None:
    db = _command(subparsers, "db", "Database schema.")
    db.add_parser("sync", help="Upgrade the schema to the newest revision.")
    db.add_parser("version", help="Print the schema revision.")
    _add_quota(subparsers)
    t = _command(subparsers, "type", "Volume types.")
    tcreate = _leaf(t, "create", "Create a volume type.")
    tcreate.add_argument("type_name", metavar="NAME", help="Name of the type.")
    tcreate.add_argument(
        "specs",
        nargs="*",
        metavar="KEY=VALUE",
        help="Extra specs, matched against the backends' capabilities "
        "(e.g. volume_backend_name=files).",
    )
    _leaf(t, "list", "List volume types.")
    s = _command(subparsers, "service", "Services.")
    _leaf(s, "list", "List services and whether they are up.")
    sdisable = _leaf(
        s, "disable", "Disable a service: a disabled volume service takes no new manages."
    )
    enable = _leaf(s, "enable", "Enable a service again (its disabled reason is cleared).")
    sremove = _leaf(
        s,
        "remove",
        "Forget a service that no longer runs (retired or renamed): its row goes from "
        "listings and no longer holds back [upgrade_levels] = auto. Refused while it is up.",
    )
    for parser in (sdisable, enable, sremove):
        parser.add_argument("service_host", metavar="HOST", help="Host, e.g. node1@files.")
        parser.add_argument(
            "binary", metavar="BINARY", help="volmgr-volume (or cinder-volume) and so on."
        )
    sdisable.add_argument(
        "--reason", help="Why it is disabled; a manage refused for it names the reason."
    )


CATEGORY = cfg.SubCommandOpt("category", title="Commands", handler=_add_parsers)


def parse_specs(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict; a pair without ``=`` or key is a UsageError."""
    specs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"extra specs are KEY=VALUE, not {pair!r}")
        specs[key.strip()] = value
    return specs


def parse_limit(text: str) -> int:
    """A quota limit: an integer of at least -1 (unlimited)."""
    try:
        limit = int(text)
    except ValueError:
        raise UsageError(f"a limit is an integer (-1 for unlimited), not {text!r}") from None
    if limit < quota.UNLIMITED:
        raise UsageError(f"a limit is at least -1 (unlimited), not {limit}")
    return limit


def _quota_set(db: Database, cmd: Any) -> None:
    limit = parse_limit(cmd.hard_limit)
    known = quota.resource_names(t["name"] for t in types_db.list_all(db))
    if cmd.resource not in known:
        raise UsageError(f"unknown quota resource {cmd.resource!r}; known: {', '.join(known)}")
    quota.set_limit(db, cmd.project_id, cmd.resource, limit)
    values = {"Project": cmd.project_id, "Resource": cmd.resource, "Limit": limit}
    output.emit_one(cmd, values)


def _quota(db: Database, conf: cfg.ConfigOpts, cmd: Any) -> None:
    if cmd.action == "set":
        _quota_set(db, cmd)
    elif cmd.action == "show":
        usage = quota.usage(db, cmd.project_id, quota.DefaultLimits.from_conf(conf))
        rows = [
            [name, *(usage[name][k] for k in ("in_use", "reserved", "limit"))]
            for name in sorted(usage)
        ]
        output.emit_list(cmd, ["Resource", "In Use", "Reserved", "Limit"], rows)
    else:
        drifts = quota_audit.check(db) if cmd.action == "check" else quota_audit.sync(db)
        rows = [[d.as_dict()[c] for c in DRIFT_COLUMNS] for d in drifts]
        output.emit_list(cmd, DRIFT_HEADERS, rows)
        if not drifts:  # an empty table prints nothing: say so, beside the results
            print("quota usage matches the volumes: no drift", file=sys.stderr)
        elif cmd.action == "check":
            raise SystemExit(1)


def _types(db: Database, cmd: Any) -> None:
    if cmd.action == "create":
        created = types_db.create(db, cmd.type_name, parse_specs(cmd.specs))
        output.emit_one(cmd, {header: created[key] for key, header in TYPE_FIELDS})
    else:
        rows = [[t[key] for key, _ in TYPE_FIELDS] for t in types_db.list_all(db)]
        output.emit_list(cmd, [header for _, header in TYPE_FIELDS], rows)


SERVICE_STATUS_FIELDS = (
    ("host", "Host"),
    ("binary", "Binary"),
    ("status", "Status"),
    ("disabled_reason", "Disabled Reason"),
)
BINARY_ALIASES = {"cinder-volume": "volmgr-volume", "cinder-scheduler": "volmgr-scheduler"}


def _service_status(db: Database, cmd: Any) -> None:
    reason = cmd.reason if cmd.action == "disable" else None
    if reason is not None and not 0 < len(reason.strip()) <= STRING_WIDTH:
        raise UsageError(f"a reason is 1 to {STRING_WIDTH} characters, not only spaces")
    binary = BINARY_ALIASES.get(cmd.binary, cmd.binary)
    service = services_db.set_disabled(
        db, cmd.service_host, binary, cmd.action == "disable", reason
    )
    service["status"] = "disabled" if service["disabled"] else "enabled"
    output.emit_one(cmd, {header: service[key] for key, header in SERVICE_STATUS_FIELDS})


def _remove_service(db: Database, conf: cfg.ConfigOpts, cmd: Any) -> None:
    binary = BINARY_ALIASES.get(cmd.binary, cmd.binary)
    service = services_db.remove(db, cmd.service_host, binary, conf.service_down_time)
    output.emit_one(
        cmd,
        {"Binary": service["binary"], "Host": service["host"], "Removed": True},
    )


def _services(db: Database, conf: cfg.ConfigOpts, cmd: Any) -> None:
    if cmd.action in ("disable", "enable"):
        _service_status(db, cmd)
        return
    if cmd.action == "remove":
        _remove_service(db, conf, cmd)
        return
    rows = [
        [
            s["binary"],
            s["host"],
            s["cluster_name"] or "",
            s["availability_zone"],
            "disabled" if s["disabled"] else "enabled",
            "up" if s["is_up"] else "down",
            s["last_heartbeat"],
            s["disabled_reason"],
        ]
        for s in services_db.list_all(db, down_time=conf.service_down_time)
    ]
    headers = [
        "Binary",
        "Host",
        "Cluster",
        "Zone",
        "Status",
        "State",
        "Last Heartbeat",
        "Disabled Reason",
    ]
    output.emit_list(cmd, headers, rows)


def _dispatch(conf: cfg.ConfigOpts) -> None:
    cmd = conf.category
    if cmd.name == "type" and cmd.action == "create":
        parse_specs(cmd.specs)  # a bad argument fails before the database is opened
    sync = (cmd.name, cmd.action) == ("db", "sync")
    db = open_database(conf, PROG, sync=sync, check=cmd.name != "db")
    if cmd.name == "db":
        print(migration.current_revision(db) if cmd.action == "version" else "database is current")
    elif cmd.name == "quota":
        _quota(db, conf, cmd)
    elif cmd.name == "type":
        _types(db, cmd)
    else:
        _services(db, conf, cmd)


def main(argv: Sequence[str] | None = None) -> None:
    conf = startup.new_conf()
    # the schema check of every command is routine; ``db sync`` still says what it ran
    quiet = [*logging.get_default_log_levels(), "alembic.runtime.migration=WARN"]
    if not {"db", "sync"} <= set(sys.argv[1:] if argv is None else argv):
        logging.set_defaults(default_log_levels=quiet)
    startup.default_to_local_state(conf)
    conf.register_cli_opt(CATEGORY)
    startup.parse_args(sys.argv[1:] if argv is None else argv, conf, PROG)
    try:
        _dispatch(conf)
    except UsageError as error:
        _fail(str(error), USAGE_ERROR)
    except (exception.VolmgrException, output.OutputError, ValueError) as error:
        _fail(str(error), 1)


def _fail(reason: str, code: int) -> None:
    print(f"{PROG}: error: {reason}", file=sys.stderr)
    raise SystemExit(code)
