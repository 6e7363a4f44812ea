"""volmgr: the command-line client of the volmgr REST API.

It talks to the API as a Keystone identity (clouds.yaml, keystoneauth options and
OS_* variables) or, with noauth, as the user and project it is given (see
volmgr_api/cli/identity.py). Results print as tables, or in the format of -f
(json, yaml, value, csv; --json is -f json), with the columns of -c; both are
accepted before and after the command.
"""

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from keystoneauth1 import exceptions as ks_exceptions

from volmgr_api.cli import adopt, commands, identity, orphans, snapshots
from volmgr_api.cli.client import ApiError, Client
from volmgr_common import output
from volmgr_common.version import version_string

DESCRIPTION = "The command-line client of the volmgr REST API."
Command = Callable[[argparse.Namespace, Client], int]


def _add_manage(sub: argparse._SubParsersAction) -> None:
    parser = _command(sub, "manage", "Manage an existing object (or, with --all-safe, every "
                      "object safe to manage).")  # fmt: skip
    parser.add_argument("host", help="Backend: host@backend or host@backend#pool.")
    parser.add_argument("identifier", nargs="?", help="Name of the object on the backend.")
    parser.add_argument(
        "--id-type", default="source-name", help="Reference key (default: source-name)."
    )
    parser.add_argument("--name", help="Name of the volume (default: none).")
    parser.add_argument("--description", help="Description of the volume (default: none).")
    parser.add_argument(
        "--volume-type", help="Volume type, by name or id (default: the default type)."
    )
    parser.add_argument(
        "--availability-zone", help="Availability zone (default: the backend's zone)."
    )
    parser.add_argument(
        "--metadata",
        nargs="*",
        metavar="KEY=VALUE",
        help="Metadata of the volume (default: none).",
    )
    parser.add_argument(
        "--bootable",
        action="store_true",
        default=None,
        help="Mark the volume bootable (default: not bootable).",
    )
    parser.add_argument(
        "--with-snapshots",
        action="store_true",
        default=None,
        help="Adopt the object with the snapshots built on it (its chain, as the "
        "manageable listing shows it): the object becomes the volume and each member a "
        "snapshot of it, in one request (default: the object alone).",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="Wait until the manage ends; a failure prints its reason and exits with "
        "code 1 (default: return at once).",
    )
    parser.add_argument(
        "--all-safe",
        action="store_true",
        help="Manage every object HOST lists as safe to manage, a page at a time; run "
        "it again after an interruption to continue (default: manage IDENTIFIER only).",
    )
    parser.add_argument(
        "--page-size", type=int, default=50, help="With --all-safe: objects per page (default: 50)."
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="With --wait or --all-safe: seconds to wait (default: 600).",
    )
    parser.set_defaults(command=commands.manage)


def _add_listings(sub: argparse._SubParsersAction) -> None:
    parser = _command(sub, "manageable-list", "Objects of a backend, and whether each is safe "
                      "to manage.")  # fmt: skip
    parser.add_argument("host", help="Backend: host@backend or host@backend#pool.")
    parser.add_argument(
        "--summary", action="store_true", help="Without the reasons (default: with them)."
    )
    parser.add_argument("--marker", help="Start after this reference (default: at the first).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument("--offset", type=int, help="Skip this many (default: 0).")
    parser.add_argument(
        "--sort", default="reference:asc", help="KEY[:asc|desc] (default: reference:asc)."
    )
    parser.set_defaults(command=commands.manageable_list)

    parser = _command(sub, "list", "Volumes, newest first.")
    parser.add_argument(
        "--all-projects",
        action="store_true",
        help="Volumes of every project (admin; default: the caller's project).",
    )
    parser.add_argument("--status", help="Only volumes of this status (default: any).")
    parser.add_argument("--name", help="Only volumes of this name (default: any).")
    parser.add_argument("--limit", type=int, help="At most this many (default: the API's).")
    parser.add_argument("--marker", help="Start after this volume id (default: at the first).")
    parser.add_argument(
        "--drifted",
        action="store_true",
        help="Only volumes the last audit found with drift (admin; default: any volume).",
    )
    parser.add_argument(
        "--drift-kind",
        help="Only volumes with this kind of drift: missing, renamed, replaced, resized or "
        "mark_missing (admin; default: any).",
    )
    parser.set_defaults(command=commands.list_volumes)


def _add_audit(sub: argparse._SubParsersAction) -> None:
    text = "Audit a backend now: check every volume it manages against the backend (which is "
    text += "only read); list the drift found."
    parser = _command(sub, "audit", text)
    parser.add_argument("host", help="Backend: host@backend.")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="Seconds to wait for the audit to end (default: 600).",
    )
    parser.set_defaults(command=commands.audit)


def _add_volume_commands(sub: argparse._SubParsersAction) -> None:
    for name, function, text in (
        ("show", commands.show, "Show a volume."),
        ("unmanage", commands.unmanage, "Stop managing a volume; the object stays."),
        ("delete", commands.delete, "Delete the record of a failed manage."),
    ):
        parser = _command(sub, name, text)
        parser.add_argument("volume", help="Volume id.")
        if name == "unmanage":
            parser.add_argument(
                "--wait",
                action="store_true",
                help="Wait until the volume is unmanaged (default: return at once).",
            )
            parser.add_argument(
                "--timeout",
                type=float,
                default=600.0,
                help="With --wait: seconds to wait (default: 600).",
            )
        parser.set_defaults(command=function)
    _command(sub, "services", "The volmgr services.").set_defaults(command=commands.services)
    parser = _command(sub, "quota-usage", "Quota usage of a project.")
    parser.add_argument("project_id", nargs="?", help="Project id (default: the caller's project).")
    parser.set_defaults(command=commands.quota_usage)
    parser = _command(sub, "messages", "Why requests failed.")
    parser.add_argument(
        "--volume", help="Only the messages about this volume (default: all of them)."
    )
    parser.set_defaults(command=commands.messages)


def _command(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    output.add_options(parser, after_command=True)
    return parser


def parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of ``volmgr``; ``argv`` decides which keystoneauth options it offers."""
    main_parser = argparse.ArgumentParser(prog="volmgr", description=DESCRIPTION)
    main_parser.add_argument("--version", action="version", version=version_string())
    identity.add_options(main_parser, argv)
    output.add_options(main_parser)
    sub = main_parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    _add_manage(sub)
    _add_listings(sub)
    _add_volume_commands(sub)
    snapshots.add_commands(sub, _command)
    _add_audit(sub)
    orphans.add_commands(sub, _command)
    adopt.add_parsers(sub, _command)
    return main_parser


def run(argv: Sequence[str]) -> int:
    """Parse ``argv``, run the command and return its exit code."""
    args = parser(argv).parse_args(list(argv))
    command: Command = args.command
    try:
        client = identity.connect(args)
        return command(args, client)
    except (ApiError, identity.IdentityError, output.OutputError) as error:
        return commands.fail(str(error))
    except ks_exceptions.ClientException as error:
        return commands.fail(str(error).splitlines()[0] if str(error) else repr(error))
    except KeyboardInterrupt:
        return commands.fail("interrupted")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``volmgr`` command; a reader that stops early (``| head``) ends it quietly."""
    try:
        code = run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # what is left to print goes nowhere, also at exit (Python's advice for SIGPIPE)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code
