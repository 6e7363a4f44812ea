"""``volmgr``: the command-line client of the volmgr REST API.

It talks to ``--endpoint`` (env ``VOLMGR_ENDPOINT``, default http://127.0.0.1:8776)
as ``--user`` in ``--project`` (env ``VOLMGR_USER``/``VOLMGR_PROJECT``, default
``admin``/``admin``) with the noauth headers; ``--json`` prints the API's answer
as JSON instead of a table.
"""

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from volmgr_api.cli import commands
from volmgr_api.cli.client import DEFAULT_ENDPOINT, ApiError, Client

Command = Callable[[argparse.Namespace, Client], int]


def _add_manage(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("manage", help="Manage an existing object (or, with "
                            "--all-safe, every object safe to manage).")  # fmt: skip
    parser.add_argument("host", help="Backend: host@backend or host@backend#pool.")
    parser.add_argument("identifier", nargs="?", help="Name of the object on the backend.")
    parser.add_argument("--id-type", default="source-name", help="Reference key.")
    parser.add_argument("--name")
    parser.add_argument("--description")
    parser.add_argument("--volume-type")
    parser.add_argument("--availability-zone")
    parser.add_argument("--metadata", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--bootable", action="store_true", default=None)
    parser.add_argument("--wait", action="store_true", help="Wait until it is available.")
    parser.add_argument(
        "--all-safe",
        action="store_true",
        help="Manage every object HOST lists as safe to manage, a page at a time; run "
        "it again after an interruption to continue.",
    )
    parser.add_argument("--page-size", type=int, default=50, help="Objects per page.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait.")
    parser.set_defaults(command=commands.manage)


def _add_listings(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("manageable-list", help="Objects of a backend, safe to manage?")
    parser.add_argument("host")
    parser.add_argument("--summary", action="store_true", help="Without the reasons.")
    parser.add_argument("--marker")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--offset", type=int)
    parser.add_argument("--sort", default="reference:asc", help="key[:asc|desc]")
    parser.set_defaults(command=commands.manageable_list)

    parser = sub.add_parser("list", help="Volumes, oldest first.")
    parser.add_argument("--all-projects", action="store_true")
    parser.add_argument("--status")
    parser.add_argument("--name")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--marker")
    parser.set_defaults(command=commands.list_volumes)


def _add_volume_commands(sub: argparse._SubParsersAction) -> None:
    for name, function, text in (
        ("show", commands.show, "Show a volume."),
        ("unmanage", commands.unmanage, "Stop managing a volume; the object stays."),
        ("delete", commands.delete, "Delete the record of a failed manage."),
    ):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("volume", help="Volume id.")
        if name == "unmanage":
            parser.add_argument("--wait", action="store_true")
            parser.add_argument("--timeout", type=float, default=600.0)
        parser.set_defaults(command=function)
    sub.add_parser("services", help="The volmgr services.").set_defaults(command=commands.services)
    parser = sub.add_parser("quota-usage", help="Quota usage of a project.")
    parser.add_argument("project_id", nargs="?", help="Default: the --project.")
    parser.set_defaults(command=commands.quota_usage)
    parser = sub.add_parser("messages", help="Why requests failed.")
    parser.add_argument("--volume", help="Only the messages about this volume.")
    parser.set_defaults(command=commands.messages)


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    main_parser = argparse.ArgumentParser(prog="volmgr", description=__doc__.splitlines()[0])
    main_parser.add_argument("--endpoint", default=env("VOLMGR_ENDPOINT", DEFAULT_ENDPOINT))
    main_parser.add_argument("--user", default=env("VOLMGR_USER", "admin"))
    main_parser.add_argument("--project", default=env("VOLMGR_PROJECT", "admin"))
    main_parser.add_argument("--roles", default=env("VOLMGR_ROLES"), help="e.g. member")
    main_parser.add_argument("--json", action="store_true", help="Print JSON.")
    sub = main_parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    _add_manage(sub)
    _add_listings(sub)
    _add_volume_commands(sub)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    client = Client(args.endpoint, args.user, args.project, args.roles)
    command: Command = args.command
    try:
        return command(args, client)
    except ApiError as error:
        return commands.fail(str(error))
    except KeyboardInterrupt:
        return commands.fail("interrupted")
