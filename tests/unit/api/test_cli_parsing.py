"""How ``volmgr`` reads its command line: help, output options, identity options, pipes."""

import argparse
import os
import subprocess
import sys

import pytest

from volmgr_api import cli
from volmgr_api.cli import identity

COMMANDS = [
    "manage",
    "manageable-list",
    "list",
    "show",
    "unmanage",
    "delete",
    "services",
    "quota-usage",
    "messages",
]


def helps(argv: list[str]) -> list[tuple[str, str]]:
    """(option, help) of every option of the main parser and of each command."""
    main = cli.parser(argv)
    parsers = [main] + [main._subparsers._group_actions[0].choices[c] for c in COMMANDS]  # type: ignore[union-attr]
    found = []
    for parser in parsers:
        for action in parser._actions:
            if action.option_strings and action.dest not in ("help", "version"):
                found.append((action.option_strings[-1], action.help or ""))
    return found


@pytest.mark.parametrize("argv", [[], ["--os-auth-type", "password"]])
def test_every_option_has_help_without_rst(argv: list[str]) -> None:
    for option, text in helps(argv):
        assert text, option
        assert "``" not in text and ":ref:" not in text, option


def test_volmgrs_own_options_state_their_default() -> None:
    own = [(option, text) for option, text in helps([]) if not option.startswith("--max")]
    flags = ("--fit-width", "--print-empty", "--noindent", "--json", "--quote")
    missing = [o for o, text in own if "default" not in text and o not in flags]
    assert missing == []


def test_a_keystoneauth_plugin_brings_its_options() -> None:
    main = cli.parser(["--os-auth-type", "password"])
    options = {option for action in main._actions for option in action.option_strings}
    assert {"--os-auth-url", "--os-username", "--os-password", "--os-project-name"} <= options
    assert "--os-auth-url" not in {option for option, _ in helps([])}


def parse(*argv: str) -> argparse.Namespace:
    return cli.parser(argv).parse_args(argv)


def test_format_options_before_and_after_the_command() -> None:
    assert parse("list").formatter == "table"
    assert parse("-f", "yaml", "list").formatter == "yaml"
    assert parse("list", "-f", "csv").formatter == "csv"
    assert parse("-f", "yaml", "list", "-f", "value").formatter == "value"
    assert parse("--json", "list").formatter == "json"
    assert parse("list", "--json").formatter == "json"
    assert parse("-c", "id", "list").columns == ["id"]
    assert parse("list", "-c", "id", "-c", "name").columns == ["id", "name"]
    assert parse("--noindent", "list").noindent is True


def test_the_os_auth_type_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OS_AUTH_TYPE", "OS_AUTH_URL", "OS_CLOUD"):
        monkeypatch.delenv(variable, raising=False)
    assert parse("list").os_auth_type == identity.NOAUTH
    monkeypatch.setenv("OS_AUTH_URL", "http://keystone.invalid/v3")
    assert parse("list").os_auth_type == "password"
    monkeypatch.setenv("OS_AUTH_TYPE", "token")
    assert parse("list").os_auth_type == "token"


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    program = (
        "from volmgr_api import cli; from volmgr_api.cli import commands, identity\n"
        "from volmgr_common import output\n"
        "identity.connect = lambda args: None\n"
        "def many(args, client):\n"
        "    output.emit_list(args, ['n'], [[i] for i in range(200000)]); return 0\n"
        "commands.services = many\n"
        "raise SystemExit(cli.main(['--user', 'u', '--project', 'p', 'services', '-f', 'value']))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"0\n"
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert error == ""
