"""LVM driver: an origin LV with two snapshot LVs (real snapshot metadata on the scratch
VG), adopted at once and put back; a failure on the last member puts every LV back
under its original name with its snapshot relation intact; bad chains are refused
before anything is renamed.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.driver_support import make_conf, vol
from tests.lvm_support import ScratchVolumeGroup
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import ChainLink
from volmgr_volume.drivers.lvm import LvmDriver
from volmgr_volume.drivers.lvm_commands import LvmCommandError

MIB = 1024**2
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
SNAPSHOT_IDS = ("aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002")
BASE = {"source-name": "db"}


@pytest.fixture
def vg(scratch_vg: ScratchVolumeGroup) -> Iterator[ScratchVolumeGroup]:
    scratch_vg.remove_all_lvs()
    yield scratch_vg
    scratch_vg.remove_all_lvs()


@pytest.fixture
def driver(vg: ScratchVolumeGroup, tmp_path: Path) -> LvmDriver:
    driver = load_driver(make_conf(tmp_path, **vg.driver_overrides()))
    assert isinstance(driver, LvmDriver)
    driver.do_setup()
    return driver


def make_chain(vg: ScratchVolumeGroup) -> None:
    """db with the snapshots db-snap1 and db-snap2."""
    vg.create_lv("db", 64 * MIB)
    for name in ("db-snap1", "db-snap2"):
        vg.create_snapshot(name, "db", 8 * MIB)


def state(vg: ScratchVolumeGroup) -> dict[str, Any]:
    """Every LV: uuid, size, attributes, tags and origin."""
    output = vg.lvm("lvs", "--noheadings", "--separator", "|", "-o",
                    "lv_name,lv_uuid,lv_size,lv_attr,lv_tags,origin", vg.name)  # fmt: skip
    rows = [line.strip().split("|") for line in output.splitlines() if line.strip()]
    return {row[0]: tuple(row[1:]) for row in rows}


def links_for(driver: LvmDriver) -> list[ChainLink]:
    chain = driver.describe_chain(vol(VOLUME_ID), BASE)
    return [ChainLink(sid, m) for sid, m in zip(SNAPSHOT_IDS, chain.members, strict=True)]


def test_an_lv_with_two_snapshots_is_adopted_and_put_back(
    vg: ScratchVolumeGroup, driver: LvmDriver
) -> None:
    make_chain(vg)
    before = state(vg)
    chain = driver.describe_chain(vol(VOLUME_ID), BASE)
    assert [m.name for m in chain.members] == ["db-snap1", "db-snap2"]
    links = links_for(driver)
    located = driver.manage_chain(vol(VOLUME_ID), BASE, links, identity=chain.base.identity)
    managed = f"volume-{VOLUME_ID}"
    snapshots = tuple(f"_snapshot-{sid}" for sid in SNAPSHOT_IDS)
    assert (located.volume, located.snapshots) == (managed, snapshots)
    after = state(vg)
    assert set(after) == {managed, *snapshots}
    assert after[managed][0] == before["db"][0]
    for snapshot, original in zip(snapshots, ("db-snap1", "db-snap2"), strict=True):
        assert after[snapshot][0] == before[original][0]  # same uuid
        assert after[snapshot][4] == managed  # still a snapshot of the renamed origin
    with_identity = vol(VOLUME_ID, chain.base.identity)
    assert driver.manage_chain(with_identity, BASE, links) == located
    driver.undo_manage_chain(with_identity, BASE, links)
    assert state(vg) == before
    driver.undo_manage_chain(with_identity, BASE, links)
    assert state(vg) == before


def test_a_failed_rename_of_the_last_member_puts_every_lv_back(
    vg: ScratchVolumeGroup, driver: LvmDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_chain(vg)
    before = state(vg)
    links = links_for(driver)
    rename = driver.commands.rename

    def failing(vg_name: str, old: str, new: str) -> None:
        if old == "db-snap2":
            raise LvmCommandError("lvrename", 5, "injected: cannot write the metadata")
        rename(vg_name, old, new)

    monkeypatch.setattr(driver.commands, "rename", failing)
    with pytest.raises(exception.VolumeDriverException, match="injected"):
        driver.manage_chain(vol(VOLUME_ID), BASE, links)
    assert state(vg) == before


def test_a_snapshot_is_refused_as_a_base_and_named_as_a_member(
    vg: ScratchVolumeGroup, driver: LvmDriver
) -> None:
    make_chain(vg)
    before = state(vg)
    with pytest.raises(exception.ManageExistingInvalidReference, match="adopt db with its"):
        driver.describe_chain(vol(VOLUME_ID), {"source-name": "db-snap1"})
    with pytest.raises(exception.ManageExistingInvalidReference, match="origin of a snapshot"):
        driver.manage(vol(VOLUME_ID), BASE)
    entries = {e["reference"]["source-name"]: e for e in driver.list_manageable({}, PageRequest())}
    assert entries["db"]["safe_to_manage"]
    assert entries["db"]["extra_info"]["chain"] == ["db-snap1", "db-snap2"]
    for name in ("db-snap1", "db-snap2"):
        assert not entries[name]["safe_to_manage"]
        assert "member of the chain of db" in entries[name]["reason_not_safe"]
    assert state(vg) == before


def test_a_member_that_is_not_of_this_base_is_refused(
    vg: ScratchVolumeGroup, driver: LvmDriver
) -> None:
    make_chain(vg)
    links = links_for(driver)
    vg.create_lv("logs", 16 * MIB)
    vg.create_snapshot("logs-snap", "logs", 8 * MIB)
    other = driver.describe_chain(vol(VOLUME_ID), {"source-name": "logs"})
    before = state(vg)
    wrong = [links[0], ChainLink(SNAPSHOT_IDS[1], other.members[0])]
    with pytest.raises(exception.ManageExistingInvalidReference, match="describe it again"):
        driver.manage_chain(vol(VOLUME_ID), BASE, wrong)
    assert state(vg) == before


def test_a_chain_is_adopted_by_name_only(vg: ScratchVolumeGroup, driver: LvmDriver) -> None:
    make_chain(vg)
    uuid = state(vg)["db"][0]
    with pytest.raises(exception.ManageExistingInvalidReference, match="by 'source-name'"):
        driver.describe_chain(vol(VOLUME_ID), {"source-id": uuid})


def test_the_listing_after_an_adoption(vg: ScratchVolumeGroup, driver: LvmDriver) -> None:
    make_chain(vg)
    located = driver.manage_chain(vol(VOLUME_ID), BASE, links_for(driver))
    vg.create_snapshot("later", located.volume, 8 * MIB)
    listed = driver.list_manageable({located.volume: VOLUME_ID}, PageRequest())
    entries = {e["reference"]["source-name"]: e for e in listed}
    assert entries[located.volume]["reason_not_safe"] == "already managed"
    for name in located.snapshots:
        assert "managed snapshot form" in entries[name]["reason_not_safe"]
    assert "snapshot of the managed volume" in entries["later"]["reason_not_safe"]
