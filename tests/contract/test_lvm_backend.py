"""LVM driver against a real volume group: what the generic contract cannot say.

References by LV uuid, names with every allowed character, a missing volume group,
a manage interrupted between tagging and renaming, and a race lost to another
process (simulated with a stale ``lvs``), all on the scratch VG of the session.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.driver_support import make_conf, vol
from tests.lvm_support import ScratchVolumeGroup
from volmgr_common import exception
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.lvm import LvmDriver, origin_tag

GIB = 1024**3
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
OTHER_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
MANAGED = f"volume-{VOLUME_ID}"


@pytest.fixture
def vg(scratch_vg: ScratchVolumeGroup) -> Iterator[ScratchVolumeGroup]:
    scratch_vg.remove_all_lvs()
    yield scratch_vg
    scratch_vg.remove_all_lvs()


def make_driver(vg: ScratchVolumeGroup, tmp_path: Path, **overrides: str) -> LvmDriver:
    driver = load_driver(make_conf(tmp_path, **dict(vg.driver_overrides(), **overrides)))
    assert isinstance(driver, LvmDriver)
    driver.do_setup()
    return driver


@pytest.fixture
def driver(vg: ScratchVolumeGroup, tmp_path: Path) -> LvmDriver:
    return make_driver(vg, tmp_path)


def test_manage_and_undo_by_uuid_restore_name_and_tags(
    vg: ScratchVolumeGroup, driver: LvmDriver
) -> None:
    uuid = vg.create_lv("db-data", 2 * GIB)
    vg.lvm("lvchange", "-q", "--addtag", "owner:ops", f"{vg.name}/db-data")
    before = vg.lvs()
    reference = {"source-id": uuid}
    assert driver.get_size(vol(VOLUME_ID), reference) == 2
    assert driver.manage(vol(VOLUME_ID), reference) == MANAGED
    assert vg.lvs()[MANAGED]["lv_uuid"] == uuid
    assert driver.manage(vol(VOLUME_ID), reference) == MANAGED
    driver.undo_manage(vol(VOLUME_ID), reference)
    driver.undo_manage(vol(VOLUME_ID), reference)
    assert vg.lvs() == before


def test_every_allowed_character_survives_the_round_trip(
    vg: ScratchVolumeGroup, driver: LvmDriver
) -> None:
    name = "A.z+0_9-x"
    uuid = vg.create_lv(name, GIB)
    driver.manage(vol(VOLUME_ID), {"source-name": name}, identity=uuid)
    assert vg.lvs()[MANAGED]["lv_tags"] == ""  # the reference is the name: no tag needed
    driver.undo_manage(vol(VOLUME_ID), {"source-name": name}, identity=uuid)
    assert set(vg.lvs()) == {name}


def test_a_missing_volume_group(vg: ScratchVolumeGroup, tmp_path: Path) -> None:
    driver = load_driver(
        make_conf(tmp_path, **dict(vg.driver_overrides(), lvm_backend__volume_group="nope"))
    )
    with pytest.raises(exception.VolumeDriverException, match="nope is not usable"):
        driver.do_setup()
    with pytest.raises(exception.ManageExistingInvalidReference, match="nope does not exist"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "x"})


def test_a_manage_interrupted_after_tagging(vg: ScratchVolumeGroup, driver: LvmDriver) -> None:
    vg.create_lv("data", GIB)
    vg.lvm("lvchange", "-q", "--addtag", origin_tag(VOLUME_ID, "data"), f"{vg.name}/data")
    driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"})
    assert vg.lvs()["data"]["lv_tags"] == ""
    vg.lvm("lvchange", "-q", "--addtag", origin_tag(VOLUME_ID, "data"), f"{vg.name}/data")
    assert driver.manage(vol(VOLUME_ID), {"source-name": "data"}) == MANAGED
    assert vg.lvs()[MANAGED]["lv_tags"] == origin_tag(VOLUME_ID, "data")


def test_a_race_lost_to_another_process(
    vg: ScratchVolumeGroup, driver: LvmDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    vg.create_lv("data", GIB)
    stale = driver.commands.lvs(vg.name)
    driver.manage(vol(OTHER_ID), {"source-name": "data"})
    winner = vg.lvs()
    monkeypatch.setattr(driver.commands, "lvs", lambda name: stale)
    with pytest.raises(exception.ManageExistingInvalidReference, match="concurrent manage"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"})
    monkeypatch.undo()
    driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"})
    assert vg.lvs() == winner


def test_a_batch_is_renamed_and_checked_on_one_read_and_a_swap_is_undone(
    vg: ScratchVolumeGroup, driver: LvmDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuids = {name: vg.create_lv(name, GIB) for name in ("a", "b", "c", "spare")}
    ids = [f"{n}1111111-2222-3333-4444-555555555555" for n in (1, 2, 3)]
    calls = [
        (
            vol(volume_id),
            {"source-name": name},
            driver.get_identity(vol(volume_id), {"source-name": name}),
        )
        for volume_id, name in zip(ids, "abc", strict=True)
    ]
    commands: list[str] = []
    run = driver.commands.run

    def counted(*args: str) -> str:
        commands.append(args[0])
        if args[:3] == ("lvrename", "--yes", vg.name) and args[3] == "b":
            # Another process swaps b and spare between the check and the rename.
            vg.lvm("lvrename", "-q", vg.name, "b", "tmp")
            vg.lvm("lvrename", "-q", vg.name, "spare", "b")
            vg.lvm("lvrename", "-q", vg.name, "tmp", "spare")
        return run(*args)

    monkeypatch.setattr(driver.commands, "run", counted)
    results = driver.manage_many(calls)
    assert results[0] == f"volume-{ids[0]}" and results[2] == f"volume-{ids[2]}"
    assert isinstance(results[1], exception.ManageExistingInvalidReference)
    assert "rename was undone" in str(results[1])
    # One read for the whole batch, after its renames; one more rename: the put-back.
    assert commands == ["lvrename"] * 3 + ["lvs", "lvrename"]
    lvs = vg.lvs()
    assert lvs[f"volume-{ids[0]}"]["lv_uuid"] == uuids["a"]
    assert lvs[f"volume-{ids[2]}"]["lv_uuid"] == uuids["c"]
    assert (lvs["b"]["lv_uuid"], lvs["spare"]["lv_uuid"]) == (uuids["spare"], uuids["b"])
