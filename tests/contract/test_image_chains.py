"""Image driver: qcow2 chains made by qemu-img, adopted at once and put back.

A base with two overlays (one referring to its backing file by a relative name, one
by an absolute path) is adopted, adopted again (idempotent) and undone; a failure on
the last member puts every file back under its original name with its original
backing reference, as ``qemu-img info`` reads it; bad chains are refused before
anything is renamed.
"""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.driver_support import make_conf, vol
from tests.image_support import backing_of, make_chain, qemu_img, state
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import file as file_driver
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import ChainLink
from volmgr_volume.drivers.image import ImageDriver

VOLUME_ID = "11111111-2222-3333-4444-555555555555"
SNAPSHOT_IDS = ("aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002")
BASE = {"source-name": "base.qcow2"}


@pytest.fixture
def driver(tmp_path: Path) -> ImageDriver:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="image"))
    assert isinstance(driver, ImageDriver)
    driver.do_setup()
    return driver


@pytest.fixture
def images(driver: ImageDriver) -> Path:
    return Path(driver.directory)


def links_for(driver: ImageDriver) -> list[ChainLink]:
    chain = driver.describe_chain(vol(VOLUME_ID), BASE)
    return [ChainLink(sid, m) for sid, m in zip(SNAPSHOT_IDS, chain.members, strict=True)]


def test_two_overlays_are_adopted_and_put_back(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    before = state(images)
    chain = driver.describe_chain(vol(VOLUME_ID), BASE)
    assert [m.name for m in chain.members] == ["o1.qcow2", "o2.qcow2"]
    assert chain.base.size_bytes == 1024**3 and chain.members[0].size_bytes == 2 * 1024**3
    links = links_for(driver)
    located = driver.manage_chain(vol(VOLUME_ID), BASE, links, identity=chain.base.identity)
    snapshots = tuple(f"snapshot-{sid}" for sid in SNAPSHOT_IDS)
    assert located.volume == f"volume-{VOLUME_ID}" and located.snapshots == snapshots
    assert sorted(os.listdir(images)) == sorted([located.volume, *snapshots])
    assert backing_of(images / snapshots[0]) == (located.volume, "qcow2")
    assert backing_of(images / snapshots[1]) == (snapshots[0], "qcow2")
    chain_info = json.loads(
        qemu_img("info", "--output=json", "--backing-chain", str(images / snapshots[1]))
    )
    assert [i["filename"].rsplit("/", 1)[-1] for i in chain_info] == [
        *snapshots[::-1],
        located.volume,
    ]
    # A resumed flow calls again: nothing changes.
    assert driver.manage_chain(vol(VOLUME_ID, chain.base.identity), BASE, links) == located
    driver.undo_manage_chain(vol(VOLUME_ID, chain.base.identity), BASE, links)
    assert state(images) == before
    driver.undo_manage_chain(vol(VOLUME_ID, chain.base.identity), BASE, links)
    assert state(images) == before


def test_a_failed_rename_of_the_last_member_puts_the_chain_back(
    driver: ImageDriver, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_chain(images)
    before = state(images)
    links = links_for(driver)
    rename = file_driver.rename_noreplace

    def failing(fd: int, source: str, target: str) -> None:
        if source == "o2.qcow2":
            raise OSError(5, "Input/output error")
        rename(fd, source, target)

    monkeypatch.setattr(file_driver, "rename_noreplace", failing)
    with pytest.raises(exception.VolumeDriverException, match=r"o2\.qcow2"):
        driver.manage_chain(vol(VOLUME_ID), BASE, links)
    assert state(images) == before


def test_a_failed_rebase_of_the_last_member_puts_the_chain_back(
    driver: ImageDriver, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_chain(images)
    before = state(images)
    links = links_for(driver)
    rebase = driver.chains.qemu.rebase

    def failing(fd: int, backing: str, backing_format: str) -> None:
        if backing == f"snapshot-{SNAPSHOT_IDS[0]}":
            raise exception.VolumeDriverException(reason="injected: disk full")
        rebase(fd, backing, backing_format)

    monkeypatch.setattr(driver.chains.qemu, "rebase", failing)
    with pytest.raises(exception.VolumeDriverException, match="disk full"):
        driver.manage_chain(vol(VOLUME_ID), BASE, links)
    assert state(images) == before


def test_a_member_that_is_not_of_this_base_is_refused(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    links = links_for(driver)
    qemu_img("create", "-q", "-f", "qcow2", str(images / "other.qcow2"), "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "other.qcow2", "-F", "qcow2",
             str(images / "stranger.qcow2"))  # fmt: skip
    other = driver.describe_chain(vol(VOLUME_ID), {"source-name": "other.qcow2"})
    before = state(images)
    wrong = [links[0], ChainLink(SNAPSHOT_IDS[1], other.members[0])]
    with pytest.raises(exception.ManageExistingInvalidReference, match=r"not o1\.qcow2, stranger"):
        driver.manage_chain(vol(VOLUME_ID), BASE, wrong)
    with pytest.raises(exception.ManageExistingInvalidReference, match="describe it again"):
        driver.manage_chain(vol(VOLUME_ID), BASE, links[:1])
    assert state(images) == before


def test_a_backing_file_outside_the_directory_is_never_followed(
    driver: ImageDriver, images: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(outside), "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(outside), "-F", "qcow2",
             str(images / "leaf.qcow2"))  # fmt: skip
    with pytest.raises(exception.ManageExistingInvalidReference, match="outside the directory"):
        driver.describe_chain(vol(VOLUME_ID), {"source-name": "leaf.qcow2"})
    with pytest.raises(exception.ManageExistingInvalidReference, match="backing file"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "leaf.qcow2"})


def test_a_backing_loop_is_refused(driver: ImageDriver, images: Path) -> None:
    qemu_img("create", "-q", "-f", "qcow2", str(images / "a.qcow2"), "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", str(images / "b.qcow2"))
    qemu_img("rebase", "-q", "-u", "-b", "b.qcow2", "-F", "qcow2", str(images / "a.qcow2"))
    for name in ("a.qcow2", "b.qcow2"):
        with pytest.raises(exception.ManageExistingInvalidReference, match="backing loop"):
            driver.describe_chain(vol(VOLUME_ID), {"source-name": name})


def test_an_overlay_is_refused_alone_and_named_as_a_member(
    driver: ImageDriver, images: Path
) -> None:
    make_chain(images)
    with pytest.raises(exception.ManageExistingInvalidReference, match=r"chain of base\.qcow2"):
        driver.describe_chain(vol(VOLUME_ID), {"source-name": "o2.qcow2"})
    with pytest.raises(exception.ManageExistingInvalidReference, match="backing file"):
        driver.manage(vol(VOLUME_ID), {"source-name": "o1.qcow2"})
    before = state(images)
    with pytest.raises(exception.ManageExistingInvalidReference, match="with its snapshots"):
        driver.manage(vol(VOLUME_ID), BASE)
    assert state(images) == before
    entries = {e["reference"]["source-name"]: e for e in driver.list_manageable({}, PageRequest())}
    assert entries["base.qcow2"]["safe_to_manage"]
    assert entries["base.qcow2"]["extra_info"] == {
        "format": "qcow2",
        "chain": ["o1.qcow2", "o2.qcow2"],
    }
    for name in ("o1.qcow2", "o2.qcow2"):
        assert not entries[name]["safe_to_manage"]
        assert "member of the chain of base.qcow2" in entries[name]["reason_not_safe"]
    # A plan previews what a single manage does: the base and each member are skipped.
    prints = driver.fingerprints()
    assert "with its snapshots" in prints["base.qcow2"]["reason_not_safe"]
    assert all(prints[name]["reason_not_safe"] for name in ("o1.qcow2", "o2.qcow2"))


def test_a_branching_chain_is_refused(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
             str(images / "o1b.qcow2"))  # fmt: skip
    with pytest.raises(exception.ManageExistingInvalidReference, match="branches"):
        driver.describe_chain(vol(VOLUME_ID), BASE)


@pytest.fixture
def held_open(images: Path) -> Iterator[Path]:
    """o2.qcow2 of a chain, held open (and locked) by qemu-io as a VM would."""
    make_chain(images)
    path = images / "o2.qcow2"
    process = subprocess.Popen(
        ["qemu-io", "-f", "qcow2", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # until qemu-io holds the lock
            if subprocess.run(["qemu-img", "info", str(path)], capture_output=True).returncode:
                break
            time.sleep(0.05)
        else:
            pytest.fail("qemu-io did not lock the image")
        yield path
    finally:
        process.kill()
        process.wait()


def test_a_member_in_use_is_refused(driver: ImageDriver, held_open: Path) -> None:
    images = held_open.parent
    before = sorted(os.listdir(images))
    with pytest.raises(exception.ManageExistingInvalidReference, match=r"o2\.qcow2.*in use"):
        driver.describe_chain(vol(VOLUME_ID), BASE)
    assert sorted(os.listdir(images)) == before


def test_the_listing_after_an_adoption(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    chain = driver.describe_chain(vol(VOLUME_ID), BASE)
    located = driver.manage_chain(vol(VOLUME_ID), BASE, links_for(driver))
    qemu_img("create", "-q", "-f", "qcow2", "-b", located.snapshots[1], "-F", "qcow2",
             str(images / "later.qcow2"))  # fmt: skip
    listed = driver.list_manageable({located.volume: VOLUME_ID}, PageRequest())
    entries = {e["reference"]["source-name"]: e for e in listed}
    assert entries[located.volume]["cinder_id"] == VOLUME_ID
    for name in located.snapshots:
        assert "managed snapshot form" in entries[name]["reason_not_safe"]
    assert "snapshot of the managed volume" in entries["later.qcow2"]["reason_not_safe"]
    assert chain.base.identity == f"{os.stat(images / located.volume).st_dev}:" + str(
        os.stat(images / located.volume).st_ino
    )


def test_a_member_with_another_name_is_refused(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    os.link(images / "o2.qcow2", images.parent / "elsewhere.qcow2")
    with pytest.raises(exception.ManageExistingInvalidReference, match=r"o2\.qcow2.*hard links"):
        driver.describe_chain(vol(VOLUME_ID), BASE)


def test_a_protocol_backing_reference_is_never_followed(driver: ImageDriver, images: Path) -> None:
    make_chain(images)
    qemu_img("rebase", "-q", "-u", "-b", "nbd:localhost:10809", "-F", "raw",
             str(images / "o1.qcow2"))  # fmt: skip
    with pytest.raises(exception.ManageExistingInvalidReference, match="uses a protocol"):
        driver.describe_chain(vol(VOLUME_ID), {"source-name": "o2.qcow2"})
    assert driver.describe_chain(vol(VOLUME_ID), BASE).members == ()
