"""``--version`` on every console script prints the installed package's version."""

import configparser
import sys
from importlib import metadata
from pathlib import Path

import pytest

from volmgr_common.version import version_string

ROOT = Path(__file__).resolve().parents[3]


def console_scripts() -> dict[str, str]:
    """The console scripts setup.cfg declares: name -> ``module:function``."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines)  # type: ignore[misc]


def test_the_version_is_the_package_metadata() -> None:
    assert version_string() == metadata.version("volmgr")


@pytest.mark.parametrize("script", sorted(console_scripts()))
def test_every_command_prints_its_version(
    script: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module, _, function = console_scripts()[script].partition(":")
    main = getattr(__import__(module, fromlist=[function]), function)
    monkeypatch.setattr(sys, "argv", [script, "--version"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out.strip() == version_string()
