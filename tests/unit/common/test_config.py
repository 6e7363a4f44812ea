"""Unit tests of process start-up config handling (volmgr_common.conf.startup).

A config that cannot run must end the process with exit code 2 and exactly one
line on stderr that names the problem, before anything else happens.
"""

from pathlib import Path

import pytest
from oslo_config import cfg

from volmgr_common.conf import startup

PROG = "volmgr-test"


def write_conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "volmgr.conf"
    path.write_text(text)
    return path


def fails_with(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run parse_args, expect exit 2 and return the one line it printed."""
    with pytest.raises(SystemExit) as exited:
        startup.parse_args(argv, startup.new_conf(), PROG)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{PROG}: error: ")
    return lines[0]


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.conf"
    line = fails_with(["--config-file", str(missing)], capsys)
    assert line == f"{PROG}: error: config file not found: {missing}"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[DEFAULT]\nreport_interval = often\n", "[DEFAULT] report_interval"),
        ("[DEFAULT]\nreport_interval = 0\n", "[DEFAULT] report_interval"),
        ("[quota]\nvolumes = -5\n", "[quota] volumes"),
        ("[database]\ndb_retry_interval = soon\n", "[database] db_retry_interval"),
        ("[database]\nconnection_debug = perhaps\n", "[database] connection_debug"),
        ("[fake_backend]\nfail_at = everywhere\n", "[fake_backend] fail_at"),
    ],
    ids=["not-an-int", "below-min", "quota-below-min", "not-a-float", "not-a-bool", "not-a-choice"],
)
def test_a_bad_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, names: str
) -> None:
    path = write_conf(tmp_path, text)
    line = fails_with(["--config-file", str(path)], capsys)
    assert f"invalid value for {names}" in line


@pytest.mark.parametrize(("report", "down"), [(10, 10), (30, 10)])
def test_service_down_time_must_exceed_report_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: int, down: int
) -> None:
    path = write_conf(
        tmp_path, f"[DEFAULT]\nreport_interval = {report}\nservice_down_time = {down}\n"
    )
    line = fails_with(["--config-file", str(path)], capsys)
    assert line == (
        f"{PROG}: error: [DEFAULT] service_down_time ({down}) must be larger than "
        f"report_interval ({report})"
    )


def test_an_unparsable_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_conf(tmp_path, "[DEFAULT\nreport_interval = 5\n")
    line = fails_with(["--config-file", str(path)], capsys)
    assert str(path) in line


def test_a_bad_transport_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_conf(tmp_path, "[DEFAULT]\ntransport_url = ://nowhere\n")
    line = fails_with(["--config-file", str(path)], capsys)
    assert "transport_url" in line


def test_a_good_config_validates(tmp_path: Path) -> None:
    path = write_conf(
        tmp_path,
        "[DEFAULT]\nreport_interval = 5\nservice_down_time = 30\n"
        "transport_url = kombu+memory:////\n[quota]\nvolumes = -1\n",
    )
    conf = startup.new_conf()
    conf(["--config-file", str(path)], project=startup.PROJECT, default_config_files=[])
    startup.validate(conf)
    assert (conf.report_interval, conf.service_down_time, conf.quota.volumes) == (5, 30, -1)


def test_each_config_has_its_own_option_groups() -> None:
    first = startup.new_conf()
    second = startup.new_conf()
    first([], project=startup.PROJECT, default_config_files=[])
    second([], project=startup.PROJECT, default_config_files=[])
    second.set_override("backend_name", "other", group="volume")
    second.set_override("volumes", 1, group="quota")
    assert first.volume.backend_name == "files"
    assert first.quota.volumes == 1000
    assert (second.volume.backend_name, second.quota.volumes) == ("other", 1)


def test_cli_options_are_registered(tmp_path: Path) -> None:
    conf = startup.new_conf([cfg.BoolOpt("demo", default=False)])
    conf(["--demo"], project=startup.PROJECT, default_config_files=[])
    assert conf.demo is True


def test_renamed_options_still_read_their_old_names(tmp_path: Path) -> None:
    path = write_conf(tmp_path, "[api]\nworkers = 3\n[volume]\nflow_retry_attempts = 5\n")
    conf = startup.new_conf()
    conf(["--config-file", str(path)], project=startup.PROJECT, default_config_files=[])
    startup.validate(conf)
    assert conf.api.threads == 3
    assert conf.scheduler.volume_read_attempts == 5
