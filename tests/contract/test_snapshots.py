"""Snapshot drivers on real backends: LVM snapshot LVs on the scratch VG, qcow2 overlays.

For each: a snapshot of a managed volume's object is described (identity, original
name, size), renamed to its managed name and back, idempotently, with its link to
the volume's object intact throughout (``lvs`` shows the origin; ``qemu-img info``
opens the overlay's backing file); what is not a snapshot of that volume is refused
with the reason and nothing is renamed; the manageable listing gives each
snapshot's ``source_reference``. The file driver has no snapshots: a clear error,
an empty listing.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.driver_support import make_conf
from tests.image_support import qemu_img
from tests.lvm_support import ScratchVolumeGroup
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import ManagedNames
from volmgr_volume.drivers.image import ImageDriver
from volmgr_volume.drivers.lvm import LvmDriver

MIB = 1024**2
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
SNAPSHOT_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
VOLUME_NAME = f"volume-{VOLUME_ID}"
LVM_SNAPSHOT_NAME = f"_snapshot-{SNAPSHOT_ID}"
IMAGE_SNAPSHOT_NAME = f"snapshot-{SNAPSHOT_ID}"
EVERYTHING = PageRequest(sort=(("reference", "asc"),))


def volume(identity: str | None = None) -> Any:
    return {"id": VOLUME_ID, "provider_location": VOLUME_NAME, "backend_identity": identity}


def snapshot(identity: str | None = None) -> Any:
    return {"id": SNAPSHOT_ID, "volume_id": VOLUME_ID, "backend_identity": identity}


# -- LVM ---------------------------------------------------------------------------------


@pytest.fixture
def vg(scratch_vg: ScratchVolumeGroup) -> Iterator[ScratchVolumeGroup]:
    scratch_vg.remove_all_lvs()
    yield scratch_vg
    scratch_vg.remove_all_lvs()


@pytest.fixture
def lvm(vg: ScratchVolumeGroup, tmp_path: Path) -> LvmDriver:
    driver = load_driver(make_conf(tmp_path, **vg.driver_overrides()))
    assert isinstance(driver, LvmDriver)
    driver.do_setup()
    return driver


def origins(vg: ScratchVolumeGroup) -> dict[str, str]:
    """``{snapshot LV: origin LV}`` as LVM reports them."""
    output = vg.lvm("lvs", "--reportformat", "json", "-o", "lv_name,origin", vg.name)
    return {r["lv_name"]: r["origin"] for r in json.loads(output)["report"][0]["lv"] if r["origin"]}


def test_lvm_snapshot_is_renamed_and_put_back_keeping_its_origin(
    vg: ScratchVolumeGroup, lvm: LvmDriver
) -> None:
    volume_uuid = vg.create_lv(VOLUME_NAME, 8 * MIB)
    uuid = vg.create_snapshot("nightly", VOLUME_NAME, 4 * MIB)
    before = vg.lvs()
    ref = {"source-name": "nightly"}
    found = lvm.describe_snapshot(volume(volume_uuid), snapshot(), ref)
    assert (found.identity, found.name, found.size_bytes) == (uuid, "nightly", 4 * MIB)
    managed = lvm.manage_snapshot(volume(volume_uuid), snapshot(), ref, identity=uuid)
    assert managed == LVM_SNAPSHOT_NAME
    assert origins(vg) == {LVM_SNAPSHOT_NAME: VOLUME_NAME}
    # A resumed flow finds it renamed already: the same answer, nothing changes.
    assert lvm.manage_snapshot(volume(volume_uuid), snapshot(uuid), ref, identity=uuid) == managed
    assert lvm.describe_snapshot(volume(volume_uuid), snapshot(uuid), ref).identity == uuid
    lvm.undo_manage_snapshot(volume(volume_uuid), snapshot(uuid), ref, identity=uuid)
    lvm.undo_manage_snapshot(volume(volume_uuid), snapshot(uuid), ref, identity=uuid)
    assert vg.lvs() == before
    assert origins(vg) == {"nightly": VOLUME_NAME}


def test_lvm_snapshot_by_uuid_round_trip_restores_name_and_tags(
    vg: ScratchVolumeGroup, lvm: LvmDriver
) -> None:
    vg.create_lv(VOLUME_NAME, 8 * MIB)
    uuid = vg.create_snapshot("weekly", VOLUME_NAME, 4 * MIB)
    before = vg.lvs()
    ref = {"source-id": uuid}
    assert lvm.manage_snapshot(volume(), snapshot(), ref, identity=uuid) == LVM_SNAPSHOT_NAME
    lvm.undo_manage_snapshot(volume(), snapshot(uuid), ref, identity=uuid)
    assert vg.lvs() == before


def test_lvm_snapshot_managed_again_is_no_longer_released_unless_reverted(
    vg: ScratchVolumeGroup, lvm: LvmDriver
) -> None:
    volume_uuid = vg.create_lv(VOLUME_NAME, 8 * MIB)
    uuid = vg.create_snapshot("hourly", VOLUME_NAME, 4 * MIB)
    first = dict(snapshot(uuid), created_at="2026-12-01T10:00:00")
    ref = {"source-name": "hourly"}
    lvm.manage_snapshot(volume(volume_uuid), first, ref, identity=uuid)
    lvm.unmanage_snapshot(dict(first, provider_location=LVM_SNAPSHOT_NAME))
    (released,) = vg.lvs()[LVM_SNAPSHOT_NAME]["lv_tags"].split(",")
    assert released.startswith("volmgr-released=")
    vg.lvm("lvrename", vg.name, LVM_SNAPSHOT_NAME, "hourly")  # renamed by hand
    # Managed again, then reverted: released again, with its time.
    second = dict(snapshot(uuid), created_at="2026-12-02T10:00:00")
    lvm.manage_snapshot(volume(volume_uuid), second, ref, identity=uuid)
    assert "volmgr-released=" not in vg.lvs()[LVM_SNAPSHOT_NAME]["lv_tags"]
    lvm.undo_manage_snapshot(volume(volume_uuid), second, ref, identity=uuid)
    assert vg.lvs()["hourly"]["lv_tags"] == released
    # Managed again for good: no release tag; its next unmanage tags it anew.
    third = dict(snapshot(uuid), created_at="2026-12-03T10:00:00")
    lvm.manage_snapshot(volume(volume_uuid), third, ref, identity=uuid)
    lvm.unmanage_snapshot(dict(third, provider_location=LVM_SNAPSHOT_NAME))
    (again,) = vg.lvs()[LVM_SNAPSHOT_NAME]["lv_tags"].split(",")
    assert again.startswith("volmgr-released=")


def test_lvm_refuses_what_is_not_a_snapshot_of_the_volume_and_renames_nothing(
    vg: ScratchVolumeGroup, lvm: LvmDriver
) -> None:
    vg.create_lv(VOLUME_NAME, 8 * MIB)
    vg.create_lv("other", 8 * MIB)
    vg.create_snapshot("of-other", "other", 4 * MIB)
    vg.create_lv("plain", 4 * MIB)
    before = vg.lvs()
    cases = {
        "of-other": "snapshot of other, not of the volume's LV",
        "plain": "not a snapshot",
        "missing": "no logical volume",
        VOLUME_NAME: "already in managed form",
    }
    for name, reason in cases.items():
        with pytest.raises(exception.ManageExistingInvalidReference, match=reason):
            lvm.manage_snapshot(volume(), snapshot(), {"source-name": name})
    with pytest.raises(exception.ManageExistingInvalidReference, match="not in"):
        gone = {"id": VOLUME_ID, "provider_location": "volume-gone"}
        lvm.describe_snapshot(gone, snapshot(), {"source-name": "of-other"})
    assert vg.lvs() == before


def test_lvm_lists_snapshots_with_their_origin(vg: ScratchVolumeGroup, lvm: LvmDriver) -> None:
    vg.create_lv(VOLUME_NAME, 8 * MIB)
    vg.create_lv("unmanaged", 8 * MIB)
    vg.create_snapshot("a-snap", VOLUME_NAME, 4 * MIB)
    vg.create_snapshot("b-snap", "unmanaged", 4 * MIB)
    managed = ManagedNames(volumes={VOLUME_NAME: VOLUME_ID}, snapshots={})
    entries = lvm.list_manageable_snapshots(managed, EVERYTHING)
    assert [(e["reference"], e["source_reference"], e["safe_to_manage"]) for e in entries] == [
        ({"source-name": "a-snap"}, {"source-name": VOLUME_NAME}, True),
        ({"source-name": "b-snap"}, {"source-name": "unmanaged"}, False),
    ]
    assert "its origin unmanaged is not a managed volume" in entries[1]["reason_not_safe"]
    held = ManagedNames(volumes={VOLUME_NAME: VOLUME_ID}, snapshots={"a-snap": SNAPSHOT_ID})
    first = lvm.list_manageable_snapshots(held, EVERYTHING)[0]
    assert (first["cinder_id"], first["reason_not_safe"]) == (SNAPSHOT_ID, "already managed")


# -- qcow2 overlays -------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path: Path) -> ImageDriver:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="image"))
    assert isinstance(driver, ImageDriver)
    driver.do_setup()
    return driver


def image_dir(driver: ImageDriver) -> Path:
    return Path(driver.directory)


def overlay(directory: Path, name: str, backing: str) -> Path:
    qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", str(directory / name))
    return directory / name


def backing_of(path: Path) -> str:
    """The backing file ``qemu-img`` opens for ``path`` (it fails if it cannot)."""
    info = json.loads(qemu_img("info", "--output=json", "--backing-chain", str(path)))
    return str(info[0]["full-backing-filename"])


def identity(path: Path) -> str:
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}"


def test_qcow2_overlay_is_renamed_and_put_back_its_backing_still_valid(
    images: ImageDriver,
) -> None:
    root = image_dir(images)
    qemu_img("create", "-q", "-f", "qcow2", str(root / VOLUME_NAME), "1G")
    vid = identity(root / VOLUME_NAME)
    over = overlay(root, "disk-snap1.qcow2", VOLUME_NAME)
    sid = identity(over)
    ref = {"source-name": over.name}
    found = images.describe_snapshot(volume(vid), snapshot(), ref)
    assert (found.identity, found.name, found.size_bytes) == (sid, over.name, 1024**3)
    managed = images.manage_snapshot(volume(vid), snapshot(), ref, identity=sid)
    assert managed == IMAGE_SNAPSHOT_NAME
    assert backing_of(root / managed) == str(root / VOLUME_NAME)
    assert images.manage_snapshot(volume(vid), snapshot(sid), ref, identity=sid) == managed
    images.undo_manage_snapshot(volume(vid), snapshot(sid), ref, identity=sid)
    images.undo_manage_snapshot(volume(vid), snapshot(sid), ref, identity=sid)
    assert identity(over) == sid and backing_of(over) == str(root / VOLUME_NAME)
    assert not (root / managed).exists()


def test_qcow2_refusals_rename_nothing(images: ImageDriver, tmp_path: Path) -> None:
    root = image_dir(images)
    qemu_img("create", "-q", "-f", "qcow2", str(root / VOLUME_NAME), "1G")
    qemu_img("create", "-q", "-f", "qcow2", str(root / "other.qcow2"), "1G")
    outside = tmp_path / "outside"
    outside.mkdir()
    qemu_img("create", "-q", "-f", "qcow2", str(outside / "base.qcow2"), "1G")
    overlay(root, "of-other.qcow2", "other.qcow2")
    overlay(root, "escapes.qcow2", str(outside / "base.qcow2"))
    overlay(root, "climbs.qcow2", "../outside/base.qcow2")
    (root / "raw.img").write_bytes(b"\0" * 4096)
    loop = overlay(root, "loop.qcow2", VOLUME_NAME)
    qemu_img("rebase", "-u", "-b", "loop.qcow2", "-F", "qcow2", str(loop))
    before = sorted(p.name for p in root.iterdir())
    cases = {
        "of-other.qcow2": "not volume-",
        "escapes.qcow2": "outside the backend directory",
        "climbs.qcow2": "outside the backend directory",
        "raw.img": "raw without a backing file",
        "loop.qcow2": "not volume-",
        "missing.qcow2": "no file",
    }
    for name, reason in cases.items():
        with pytest.raises(exception.ManageExistingInvalidReference, match=reason):
            images.manage_snapshot(volume(), snapshot(), {"source-name": name})
    assert sorted(p.name for p in root.iterdir()) == before


def test_qcow2_lists_overlays_with_their_backing_file(images: ImageDriver) -> None:
    root = image_dir(images)
    qemu_img("create", "-q", "-f", "qcow2", str(root / VOLUME_NAME), "1G")
    qemu_img("create", "-q", "-f", "qcow2", str(root / "plain.qcow2"), "1G")
    overlay(root, "a.qcow2", VOLUME_NAME)
    overlay(root, "b.qcow2", "plain.qcow2")
    managed = ManagedNames(volumes={VOLUME_NAME: VOLUME_ID}, snapshots={})
    entries = images.list_manageable_snapshots(managed, EVERYTHING)
    assert [(e["reference"], e["source_reference"], e["safe_to_manage"]) for e in entries] == [
        ({"source-name": "a.qcow2"}, {"source-name": VOLUME_NAME}, True),
        ({"source-name": "b.qcow2"}, {"source-name": "plain.qcow2"}, False),
    ]
    assert entries[0]["extra_info"] == {"format": "qcow2", "volume_id": VOLUME_ID}


def test_the_file_driver_has_no_snapshots(tmp_path: Path) -> None:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="file"))
    driver.do_setup()
    with pytest.raises(exception.SnapshotsNotSupported, match="no snapshots"):
        driver.describe_snapshot(volume(), snapshot(), {"source-name": "x"})
    assert driver.list_manageable_snapshots(ManagedNames({}, {}), EVERYTHING) == []
