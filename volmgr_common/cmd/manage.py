"""volmgr-manage: database and quota administration.

``volmgr-manage [--config-file F] db sync|version``,
``quota show PROJECT``, ``quota set PROJECT RESOURCE LIMIT``, ``quota check``
(exit 1 on drift), ``quota sync``,
``type create NAME [KEY=VALUE ...]``, ``type list``, ``service list``.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.cmd import open_database
from volmgr_common.conf import startup
from volmgr_common.db import migration, quota, quota_audit
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db

PROG = "volmgr-manage"


def _add_parsers(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema").add_subparsers(dest="action")
    db.required = True
    db.add_parser("sync", help="upgrade the schema to the newest revision")
    db.add_parser("version", help="print the schema revision")
    q = subparsers.add_parser("quota", help="quota limits and usage").add_subparsers(dest="action")
    q.required = True
    q.add_parser("show", help="limits and usage of a project").add_argument("project")
    q.add_parser("check", help="report usage that differs from the truth (exit 1 if any)")
    q.add_parser("sync", help="repair usage that differs from the truth")
    qset = q.add_parser("set", help="set a project's limit for one resource")
    qset.add_argument("project")
    qset.add_argument("resource")
    qset.add_argument("limit", type=int)
    t = subparsers.add_parser("type", help="volume types").add_subparsers(dest="action")
    t.required = True
    tcreate = t.add_parser("create", help="create a volume type")
    tcreate.add_argument("name")
    tcreate.add_argument("specs", nargs="*", metavar="KEY=VALUE")
    t.add_parser("list", help="list volume types")
    s = subparsers.add_parser("service", help="services").add_subparsers(dest="action")
    s.required = True
    s.add_parser("list", help="list services and whether they are up")


CATEGORY = cfg.SubCommandOpt("category", title="Commands", handler=_add_parsers)


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _dispatch(conf: cfg.ConfigOpts) -> None:
    cmd = conf.category
    sync = (cmd.name, cmd.action) == ("db", "sync")
    db = open_database(conf, PROG, sync=sync, check=cmd.name != "db")
    if cmd.name == "db":
        print(migration.current_revision(db) if cmd.action == "version" else "database is current")
    elif cmd.name == "quota" and cmd.action == "show":
        _print(quota.usage(db, cmd.project, quota.DefaultLimits.from_conf(conf)))
    elif cmd.name == "quota" and cmd.action in ("check", "sync"):
        drifts = quota_audit.check(db) if cmd.action == "check" else quota_audit.sync(db)
        _print([d.as_dict() for d in drifts])
        if drifts and cmd.action == "check":
            raise SystemExit(1)
    elif cmd.name == "quota":
        quota.set_limit(db, cmd.project, cmd.resource, cmd.limit)
    elif cmd.name == "type" and cmd.action == "create":
        specs = dict(spec.split("=", 1) for spec in cmd.specs)
        _print(types_db.create(db, cmd.name, specs))
    elif cmd.name == "type":
        _print(types_db.list_all(db))
    else:
        _print(services_db.list_all(db, down_time=conf.service_down_time))


def main(argv: Sequence[str] | None = None) -> None:
    conf = startup.new_conf()
    conf.register_cli_opt(CATEGORY)
    startup.parse_args(sys.argv[1:] if argv is None else argv, conf, PROG)
    try:
        _dispatch(conf)
    except (exception.VolmgrException, ValueError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        raise SystemExit(1) from error
