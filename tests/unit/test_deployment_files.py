"""The Dockerfile, its entry point and the systemd units name only programs that exist.

No container engine is needed: the Dockerfile is parsed, every volmgr command it
runs or documents must be a console script of setup.cfg, and its entry point script
is run for real with this environment's scripts on PATH. CI builds the image when
a container engine is present (tools/run-tests.sh).
"""

import configparser
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from volmgr_common.version import version_string

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "tools" / "container" / "volmgr-entrypoint"
EXTRA_PROGRAMS = {"gunicorn"}


def console_scripts() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return {line.split("=", 1)[0].strip() for line in lines}


def dockerfile() -> tuple[list[tuple[str, str]], list[str]]:
    """The Dockerfile's instructions (keyword, arguments; continuations joined) and its
    comment lines."""
    instructions: list[tuple[str, str]] = []
    comments: list[str] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#"):
            comments.append(line.lstrip("# "))
            continue
        pending += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        if pending.strip():
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions, comments


def test_the_image_is_python_311_slim_and_copies_what_exists() -> None:
    instructions, _ = dockerfile()
    assert ("FROM", "python:3.11-slim") in instructions
    for keyword, arguments in instructions:
        if keyword == "COPY":
            *sources, _target = shlex.split(arguments)
            assert all((ROOT / source).exists() for source in sources), arguments
    run = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    for path in re.findall(r"/src/(\S+)", run):
        assert (ROOT / path).exists(), path


def test_every_command_the_dockerfile_runs_or_shows_is_a_console_script() -> None:
    instructions, comments = dockerfile()
    programs = console_scripts() | EXTRA_PROGRAMS
    commands = dict(instructions)
    assert commands["ENTRYPOINT"] == '["/usr/local/bin/volmgr-entrypoint"]'
    [default] = json.loads(commands["CMD"])
    assert default in console_scripts()
    shown = [
        shlex.split(line.split(" volmgr ", 1)[1])[0]
        for line in comments
        if line.startswith("docker run") and " volmgr " in line
    ]
    assert len(shown) >= 6
    assert set(shown) <= programs, set(shown) - programs
    assert {"volmgr-api", "volmgr-scheduler", "volmgr-volume"} <= set(shown)


def test_the_entry_point_runs_only_volmgr_programs_and_gunicorn() -> None:
    match = re.search(r"^\s*([\w|*-]+)\)\s*$", ENTRYPOINT.read_text(), re.M)
    assert match is not None
    patterns = match.group(1).split("|")
    assert patterns == ["volmgr", "volmgr-*", "gunicorn"]
    assert all(name == "volmgr" or name.startswith("volmgr-") for name in console_scripts())


@pytest.mark.parametrize(
    ("args", "code"),
    [(["volmgr-manage", "--version"], 0), (["volmgr-nothing"], 2), (["sh", "-c", "id"], 2)],
)
def test_the_entry_point_runs_the_named_program(args: list[str], code: int) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    if code == 0:
        assert result.stdout.strip() == version_string()


@pytest.mark.parametrize("unit", sorted((ROOT / "etc" / "systemd").glob("*.service")))
def test_systemd_units_start_a_console_script_or_the_wsgi_app(unit: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    command = shlex.split(parser["Service"]["ExecStart"].replace("\\\n", " "))
    program = Path(command[0]).name
    assert program in console_scripts() | EXTRA_PROGRAMS
    assert parser["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    if program == "gunicorn":
        assert command[-1] == "volmgr_api.wsgi:init_application()"
        from volmgr_api import wsgi

        assert callable(wsgi.init_application)
    else:
        assert command[1] == "--config-file"
