"""A chain adoption killed (kill -9) at each of its steps, then finished or put back.

A child process adopts a qcow2 chain (base and two overlays: three renames, then
two backing rewrites) or an LV with two snapshot LVs (three renames) and stops
before step N; the test kills it with SIGKILL there. A fresh driver in this process
then, from what a caller records before the adoption (the base's identity and the
described members), either finishes the adoption (a resumed flow) or puts the
chain back (a revert): the chain ends fully adopted — it opens under its managed
names — or exactly as it was, every object under its original name with its
original backing reference.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.contract.test_lvm_chains import make_chain as make_lvm_chain
from tests.contract.test_lvm_chains import state as lvm_state
from tests.driver_support import make_conf, vol
from tests.image_support import make_chain as make_image_chain
from tests.image_support import qemu_img
from tests.image_support import state as image_state
from tests.lvm_support import ScratchVolumeGroup
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import ChainLink, VolumeDriver

ROOT = Path(__file__).resolve().parents[2]
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
SNAPSHOT_IDS = ("aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002")

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.driver_support import make_conf, vol
from volmgr_volume.drivers import file as file_driver, load_driver
from volmgr_volume.drivers.base import ChainLink, ChainMember

args = json.loads(sys.argv[1])
driver = load_driver(make_conf(Path(args["state"]), **args["overrides"]))
steps = [0]

def mark(text):
    # Written beside, then renamed: the parent never reads a marker half written.
    part = Path(args["marker"] + ".part")
    part.write_text(text)
    part.rename(args["marker"])

def stopping(call):
    def wrapped(*a, **k):
        steps[0] += 1
        if steps[0] == args["stop"]:
            mark("stopped")
            time.sleep(3600)
        return call(*a, **k)
    return wrapped

if hasattr(driver, "commands"):
    driver.commands.rename = stopping(driver.commands.rename)
else:
    file_driver.rename_noreplace = stopping(file_driver.rename_noreplace)
    driver.chains.qemu.rebase = stopping(driver.chains.qemu.rebase)
links = [ChainLink(sid, ChainMember(**m)) for sid, m in args["links"]]
driver.manage_chain(vol(args["volume"]), args["reference"], links, identity=args["identity"])
mark("finished")
"""


def kill_at_step(tmp_path: Path, overrides: dict[str, str], chain: Any, stop: int) -> None:
    """Run the adoption in a child, SIGKILL it before step ``stop`` (1-based)."""
    marker = tmp_path / f"marker-{stop}"
    links = [
        (sid, dataclasses.asdict(member))
        for sid, member in zip(SNAPSHOT_IDS, chain.members, strict=True)
    ]
    args = {
        "state": str(tmp_path),
        "overrides": overrides,
        "stop": stop,
        "marker": str(marker),
        "links": links,
        "volume": VOLUME_ID,
        "reference": {"source-name": chain.base.name},
        "identity": chain.base.identity,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), json.dumps(args)], cwd=ROOT
    )
    try:
        for _ in range(1200):
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists() and marker.read_text() == "stopped", "the child never stopped"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()


def put_back(driver: VolumeDriver, chain: Any) -> None:
    """What a revert does with what the caller recorded; twice, as a repeated revert."""
    links = [ChainLink(sid, m) for sid, m in zip(SNAPSHOT_IDS, chain.members, strict=True)]
    for _ in range(2):
        driver.undo_manage_chain(
            vol(VOLUME_ID, chain.base.identity), {"source-name": chain.base.name}, links
        )


@pytest.mark.parametrize("resume", [True, False], ids=["resumed", "reverted"])
@pytest.mark.parametrize("stop", [1, 2, 3, 4, 5])
def test_image_chain_killed_at_each_step(tmp_path: Path, stop: int, resume: bool) -> None:
    overrides = {"volume__volume_driver": "image"}
    driver = load_driver(make_conf(tmp_path, **overrides))
    driver.do_setup()
    images = Path(driver.directory)  # type: ignore[attr-defined]
    make_image_chain(images)
    before = image_state(images)
    chain = driver.describe_chain(vol(VOLUME_ID), {"source-name": "base.qcow2"})
    kill_at_step(tmp_path, overrides, chain, stop)
    assert (image_state(images) == before) == (stop == 1)  # killed halfway but for step 1
    if resume:
        links = [ChainLink(s, m) for s, m in zip(SNAPSHOT_IDS, chain.members, strict=True)]
        located = driver.manage_chain(
            vol(VOLUME_ID, chain.base.identity), {"source-name": "base.qcow2"}, links
        )
        opened = json.loads(
            qemu_img("info", "--output=json", "--backing-chain", str(images / located.snapshots[1]))
        )
        names = [entry["filename"].rsplit("/", 1)[-1] for entry in opened]
        assert names == [*located.snapshots[::-1], located.volume]
    put_back(driver, chain)
    assert image_state(images) == before


@pytest.mark.parametrize("resume", [True, False], ids=["resumed", "reverted"])
@pytest.mark.parametrize("stop", [1, 2, 3])
def test_lvm_chain_killed_at_each_step(
    scratch_vg: ScratchVolumeGroup, tmp_path: Path, stop: int, resume: bool
) -> None:
    scratch_vg.remove_all_lvs()
    try:
        overrides = scratch_vg.driver_overrides()
        driver = load_driver(make_conf(tmp_path, **overrides))
        driver.do_setup()
        make_lvm_chain(scratch_vg)
        before = lvm_state(scratch_vg)
        chain = driver.describe_chain(vol(VOLUME_ID), {"source-name": "db"})
        kill_at_step(tmp_path, overrides, chain, stop)
        assert (lvm_state(scratch_vg) == before) == (stop == 1)
        if resume:
            links = [ChainLink(s, m) for s, m in zip(SNAPSHOT_IDS, chain.members, strict=True)]
            located = driver.manage_chain(
                vol(VOLUME_ID, chain.base.identity), {"source-name": "db"}, links
            )
            after = lvm_state(scratch_vg)
            assert set(after) == {located.volume, *located.snapshots}
            assert all(after[name][4] == located.volume for name in located.snapshots)
        put_back(driver, chain)
        assert lvm_state(scratch_vg) == before
    finally:
        scratch_vg.remove_all_lvs()
