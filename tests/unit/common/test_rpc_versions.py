"""Unit tests of ``[upgrade_levels]``: what each value caps, and the release table.

A bad value must stop a daemon at start with one line naming the option; the
newest release in the table must be what this code's RPC clients and servers speak.
"""

from pathlib import Path

import pytest

from tests.unit.common.test_config import fails_with, write_conf
from volmgr_api import rpcapi as api_rpcapi
from volmgr_common import rpc_versions
from volmgr_common.conf import startup
from volmgr_scheduler import rpcapi as scheduler_rpcapi
from volmgr_volume import rpcapi as volume_rpcapi

RPCAPI_MODULES = {"api": api_rpcapi, "scheduler": scheduler_rpcapi, "volume": volume_rpcapi}


@pytest.mark.parametrize("api", sorted(rpc_versions.API_BINARIES))
def test_the_current_release_speaks_what_the_clients_send(api: str) -> None:
    module = RPCAPI_MODULES[api]
    assert rpc_versions.current_version(api) == module.RPC_API_VERSION
    assert api == module.UPGRADE_LEVEL


@pytest.mark.parametrize(
    ("level", "cap"),
    [(None, None), ("", None), ("1.0", "1.0"), ("1.7", "1.7"), ("0.1.0", "1.1")],
    ids=["unset", "empty", "version", "newer-minor", "release"],
)
def test_a_level_resolves_to_a_cap(level: str | None, cap: str | None) -> None:
    assert rpc_versions.resolve("volume", level) == cap


@pytest.mark.parametrize("level", ["2.0", "0.9", "one", "1", "1.0.0.0", "9.9.9"])
def test_a_level_that_is_no_version_of_the_api_is_refused(level: str) -> None:
    with pytest.raises(rpc_versions.UnknownUpgradeLevel):
        rpc_versions.resolve("scheduler", level)


def test_a_bad_level_stops_a_daemon_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_conf(tmp_path, "[upgrade_levels]\nvolume = 2.0\n")
    line = fails_with(["--config-file", str(path)], capsys)
    assert "[upgrade_levels] volume: 2.0 is not a version of the volume RPC API" in line


def test_a_good_level_validates(tmp_path: Path) -> None:
    path = write_conf(tmp_path, "[upgrade_levels]\nvolume = 1.0\nscheduler = 0.1.0\n")
    conf = startup.new_conf()
    conf(["--config-file", str(path)], project=startup.PROJECT)
    startup.validate(conf)
    assert rpc_versions.version_cap(conf, "volume") == "1.0"
    assert rpc_versions.version_cap(conf, "scheduler") == "1.1"
    assert rpc_versions.version_cap(conf, "api") is None


def test_versions_compare_as_numbers() -> None:
    assert rpc_versions.newer("1.10", "1.9")
    assert not rpc_versions.newer("1.0", "1.0")
