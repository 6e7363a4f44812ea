"""The hook points (volmgr_common.hooks) and the fault plugin of the tests on them."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import fault_launcher
from tests.fault_plugin import KILLED, FaultInjected, FaultPlugin, installed
from volmgr_common import hooks

VOLUME = {"id": "vol-1", "metadata": {"_fault": "fail:QuotaReserve"}}


def test_a_product_process_has_no_callback() -> None:
    assert not hooks.active()
    hooks.point(hooks.AFTER_ENTRY_CREATE, VOLUME)  # nothing happens


def test_a_callback_sees_every_point_until_unregistered() -> None:
    seen: list[tuple[str, Any]] = []

    def callback(name: str, volume: Any) -> None:
        seen.append((name, volume))

    hooks.register(callback)
    try:
        assert hooks.active()
        hooks.point(hooks.SCHEDULER_RECEIVE, VOLUME)
        hooks.point("NotifyStart", VOLUME)
    finally:
        hooks.unregister(callback)
    hooks.point("OnFinish", VOLUME)
    assert seen == [(hooks.SCHEDULER_RECEIVE, VOLUME), ("NotifyStart", VOLUME)]
    assert not hooks.active()


def test_the_plugin_fails_the_named_point_only(tmp_path: Path) -> None:
    with installed(tmp_path):
        hooks.point("QuotaCommit", VOLUME)
        hooks.point(hooks.AFTER_ENTRY_CREATE, {"id": "vol-2", "metadata": {}})
        with pytest.raises(FaultInjected, match="Fault injected at QuotaReserve"):
            hooks.point("QuotaReserve", VOLUME)
    hooks.point("QuotaReserve", VOLUME)  # unregistered with the block


def test_the_plugin_reads_a_record_with_attributes(tmp_path: Path) -> None:
    class Record:
        id = "vol-3"
        metadata = {"_fault": "fail:OnFinish"}

    with pytest.raises(FaultInjected, match="OnFinish"):
        FaultPlugin(tmp_path)("OnFinish", Record())


KILL_AT_POINT = """
import sys
from pathlib import Path
from tests import fault_plugin
from volmgr_common import hooks
fault_plugin.install(Path(sys.argv[1]))
volume = {"id": "vol-4", "metadata": {"_fault": "kill:ManageExisting.after"}}
hooks.point("ManageExisting.after", volume)
print("passed")
"""


def test_a_kill_fault_ends_the_process_once(tmp_path: Path) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", KILL_AT_POINT, str(tmp_path / "faults")],
            cwd=fault_launcher.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = run()
    assert (first.returncode, first.stdout) == (KILLED, ""), first.stderr
    again = run()  # the restarted process passes the point
    assert (again.returncode, again.stdout) == (0, "passed\n"), again.stderr
    assert [p.name for p in (tmp_path / "faults").iterdir()] == ["vol-4-ManageExisting.after"]
