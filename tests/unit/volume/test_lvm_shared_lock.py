"""Unit tests: the LVM driver's rename lock, shared between processes when configured.

With ``[lvm_backend] shared_lock_path`` the checks and the rename of a manage wait
for the file lock that another process (another member of the cluster, here a
child process) holds in that directory; without it the lock is this process's own.
LVM itself is the in-memory stand-in of ``test_lvm_driver``.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.driver_support import vol
from tests.unit.volume.test_lvm_driver import (
    MANAGED,
    UUID_A,
    VOLUME_ID,
    FakeLvm,
    lv_row,
    make_driver,
)
from volmgr_volume.drivers import lvm

HOLD_SECONDS = 1.5
HOLDER = """
import sys, time
from oslo_concurrency import lockutils
with lockutils.lock("volmgr-lvm-driver-vg0", external=True, lock_path=sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture(autouse=True)
def stand_in_lvm(monkeypatch: pytest.MonkeyPatch) -> FakeLvm:
    fake = FakeLvm([lv_row("data", uuid=UUID_A)])
    monkeypatch.setattr(lvm.processutils, "execute", fake)
    return fake


def _hold_lock(lock_path: Path) -> subprocess.Popen[str]:
    """A child process that holds the VG's file lock for HOLD_SECONDS (once it says so)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path), str(HOLD_SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _timed_manage(tmp_path: Path, **overrides: str) -> float:
    driver = make_driver(tmp_path, **overrides)
    started = time.monotonic()
    assert driver.manage(vol(VOLUME_ID), {"source-name": "data"}) == MANAGED
    return time.monotonic() - started


def test_a_manage_waits_for_the_lock_another_process_holds(tmp_path: Path) -> None:
    shared = tmp_path / "shared-locks"
    shared.mkdir()
    holder = _hold_lock(shared)
    try:
        waited = _timed_manage(tmp_path, lvm_backend__shared_lock_path=str(shared))
    finally:
        holder.wait(timeout=30)
    assert waited >= HOLD_SECONDS / 2, f"the rename did not wait for the other process ({waited})"


def test_without_a_shared_path_the_lock_is_this_process_own(tmp_path: Path) -> None:
    shared = tmp_path / "shared-locks"
    shared.mkdir()
    holder = _hold_lock(shared)
    try:
        waited = _timed_manage(tmp_path)
    finally:
        holder.wait(timeout=30)
    assert waited < HOLD_SECONDS / 2, f"the rename waited for nothing it shares ({waited})"
