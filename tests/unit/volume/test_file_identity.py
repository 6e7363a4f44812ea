"""The identity of a file object (its inode on its device) in the file and image drivers.

Both drivers, on real files in a temporary directory: hard links are refused and
listed as not safe; a file swapped for a symbolic link between the checks and the
rename (``renameat2(RENAME_EXCHANGE)``, made deterministic here, then raced in a
bounded loop) never ends under the managed name: the rename is undone and the
request fails; the put-back moves only the file the volume recorded.
"""

import hashlib
import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rename_race import SwapRacer, exchange, put_back
from tests.unit.volume.test_file_driver import make_conf
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import file as file_mod
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.file import FileDriver, file_identity

VOLUME_ID = "11111111-2222-3333-4444-555555555555"
MANAGED = f"volume-{VOLUME_ID}"
RACE_ATTEMPTS = 400
RACE_SECONDS = 15.0


@pytest.fixture(params=["file", "image"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> FileDriver:
    made = load_driver(
        make_conf(
            tmp_path,
            volume__volume_driver=request.param,
            image_backend__directory=str(tmp_path / "files"),
        )
    )
    assert isinstance(made, FileDriver)
    made.do_setup()
    return made


@pytest.fixture
def files(driver: FileDriver) -> Path:
    return Path(driver.directory)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the directory, which a link in the directory points to."""
    path = tmp_path / "outside-secret"
    path.write_bytes(b"secret outside the directory")
    return path


def vol(volume_id: str = VOLUME_ID) -> dict[str, Any]:
    return {"id": volume_id}


def ref(name: str) -> dict[str, Any]:
    return {"source-name": name}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def swapped_before_rename(
    monkeypatch: pytest.MonkeyPatch, files: Path
) -> Iterator[list[tuple[str, str]]]:
    """Pairs to swap (once each) right before the driver's next rename."""
    pairs: list[tuple[str, str]] = []
    rename = file_mod.rename_noreplace

    def swapping_rename(fd: int, old: str, new: str) -> None:
        while pairs:
            first, second = pairs.pop()
            assert exchange(fd, first, second)
        rename(fd, old, new)

    monkeypatch.setattr(file_mod, "rename_noreplace", swapping_rename)
    yield pairs


# -- hard links ----------------------------------------------------------------------


def test_a_hard_link_to_a_file_outside_is_refused_and_listed_unsafe(
    driver: FileDriver, files: Path, outside: Path
) -> None:
    os.link(outside, files / "linked.img")
    for step in (driver.get_size, driver.get_identity, driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match="2 hard links"):
            step(vol(), ref("linked.img"))
    assert sorted(os.listdir(files)) == ["linked.img"]
    (entry,) = driver.list_manageable({}, PageRequest())
    assert entry["safe_to_manage"] is False
    assert "hard links" in entry["reason_not_safe"]


def test_a_hard_link_to_a_managed_file_is_refused(driver: FileDriver, files: Path) -> None:
    (files / "first.img").write_bytes(b"first")
    identity = driver.get_identity(vol(), ref("first.img"))
    driver.manage(vol(), ref("first.img"), identity=identity)
    os.link(files / MANAGED, files / "second.img")
    other = str(uuid.uuid4())
    with pytest.raises(exception.ManageExistingInvalidReference, match="hard links"):
        driver.manage(vol(other), ref("second.img"))
    assert sorted(os.listdir(files)) == sorted([MANAGED, "second.img"])


def test_identity_is_device_and_inode(driver: FileDriver, files: Path) -> None:
    (files / "disk.img").write_bytes(b"x")
    st = os.lstat(files / "disk.img")
    assert driver.get_identity(vol(), ref("disk.img")) == f"{st.st_dev}:{st.st_ino}"
    driver.manage(vol(), ref("disk.img"))
    # A resumed flow: the file already carries the managed name.
    assert driver.get_identity(vol(), ref("disk.img")) == f"{st.st_dev}:{st.st_ino}"


# -- the identity checked before and after the rename ---------------------------------


def test_manage_refuses_another_file_than_the_one_identified(
    driver: FileDriver, files: Path
) -> None:
    (files / "disk.img").write_bytes(b"first")
    identity = driver.get_identity(vol(), ref("disk.img"))
    # The first file stays (under another name), so the second cannot reuse its inode.
    os.rename(files / "disk.img", files / "first.img")
    (files / "disk.img").write_bytes(b"second")
    assert driver.get_identity(vol(), ref("disk.img")) != identity
    with pytest.raises(exception.ManageExistingInvalidReference, match="no longer the file"):
        driver.manage(vol(), ref("disk.img"), identity=identity)
    assert not (files / MANAGED).exists()


def test_a_link_swapped_in_before_the_rename_is_put_back_and_refused(
    driver: FileDriver,
    files: Path,
    outside: Path,
    swapped_before_rename: list[tuple[str, str]],
) -> None:
    (files / "disk.img").write_bytes(b"precious")
    (files / "swap").symlink_to(outside)
    before = digest(outside)
    identity = driver.get_identity(vol(), ref("disk.img"))
    swapped_before_rename.append(("disk.img", "swap"))
    with pytest.raises(exception.ManageExistingInvalidReference, match="the rename was undone"):
        driver.manage(vol(), ref("disk.img"), identity=identity)
    # The link is back where the swap put it; nothing else moved.
    assert sorted(os.listdir(files)) == ["disk.img", "swap"]
    assert (files / "disk.img").is_symlink()
    assert (files / "swap").read_bytes() == b"precious"
    assert digest(outside) == before and not outside.is_symlink()


def test_another_file_swapped_in_before_the_rename_is_put_back_and_refused(
    driver: FileDriver, files: Path, swapped_before_rename: list[tuple[str, str]]
) -> None:
    (files / "disk.img").write_bytes(b"checked")
    (files / "other.img").write_bytes(b"other")
    identity = driver.get_identity(vol(), ref("disk.img"))
    swapped_before_rename.append(("disk.img", "other.img"))
    with pytest.raises(exception.ManageExistingInvalidReference, match="another file"):
        driver.manage(vol(), ref("disk.img"), identity=identity)
    assert sorted(os.listdir(files)) == ["disk.img", "other.img"]
    assert (files / "disk.img").read_bytes() == b"other"


def test_the_put_back_moves_only_the_recorded_file(
    driver: FileDriver, files: Path, outside: Path, swapped_before_rename: list[tuple[str, str]]
) -> None:
    (files / "disk.img").write_bytes(b"precious")
    identity = driver.get_identity(vol(), ref("disk.img"))
    driver.manage(vol(), ref("disk.img"), identity=identity)
    (files / "swap").symlink_to(outside)
    swapped_before_rename.append((MANAGED, "swap"))
    with pytest.raises(exception.VolumeDriverException, match="the rename was undone"):
        driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    assert sorted(os.listdir(files)) == sorted([MANAGED, "swap"])
    assert (files / MANAGED).is_symlink() and (files / "swap").read_bytes() == b"precious"


def test_the_put_back_refuses_a_file_it_did_not_record(driver: FileDriver, files: Path) -> None:
    (files / "disk.img").write_bytes(b"precious")
    driver.manage(vol(), ref("disk.img"))
    for identity in (None, "0:0"):
        with pytest.raises(exception.VolumeDriverException, match="leaving it where it is"):
            driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    assert sorted(os.listdir(files)) == [MANAGED]
    recorded = dict(vol(), backend_identity=file_identity(os.lstat(files / MANAGED)))
    driver.undo_manage(recorded, ref("disk.img"))
    assert sorted(os.listdir(files)) == ["disk.img"]


# -- the race, bounded in count and time ----------------------------------------------


def test_manages_racing_a_swap_loop_never_leave_a_link_managed(
    driver: FileDriver, files: Path, outside: Path
) -> None:
    (files / "disk.img").write_bytes(b"precious")
    (files / "swap").symlink_to(outside)
    before = digest(outside)
    racer = SwapRacer(files, [("disk.img", "swap")], max_seconds=RACE_SECONDS)
    outcomes = {"managed": 0, "refused": 0}
    deadline = time.monotonic() + RACE_SECONDS
    racer.start()
    try:
        for _ in range(RACE_ATTEMPTS):
            if time.monotonic() > deadline:
                break
            volume = vol(str(uuid.uuid4()))
            target = driver.managed_name(volume["id"])
            try:
                identity = driver.get_identity(volume, ref("disk.img"))
                driver.manage(volume, ref("disk.img"), identity=identity)
            except exception.ManageExistingInvalidReference:
                outcomes["refused"] += 1
                assert not (files / target).exists()
                continue
            outcomes["managed"] += 1
            st = os.lstat(files / target)
            assert stat.S_ISREG(st.st_mode) and file_identity(st) == identity
            assert (files / target).read_bytes() == b"precious"
            # Back under its name for the next round (no name is free for the racer).
            os.rename(files / target, files / "disk.img")
    finally:
        racer.stop()
    put_back(files, "disk.img", "swap")
    print(f"\n{type(driver).__name__}: {outcomes}, {racer.swaps} swaps")
    assert outcomes["managed"] and outcomes["refused"]
    assert sorted(os.listdir(files)) == ["disk.img", "swap"]
    assert (files / "swap").is_symlink() and (files / "disk.img").read_bytes() == b"precious"
    assert digest(outside) == before


# -- rename_noreplace ------------------------------------------------------------------


def test_rename_noreplace_never_replaces_and_never_follows(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    (tmp_path / "link").symlink_to(tmp_path / "b")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for taken in ("b", "link"):
            with pytest.raises(FileExistsError):
                file_mod.rename_noreplace(fd, "a", taken)
        file_mod.rename_noreplace(fd, "link", "moved")
        file_mod.rename_noreplace(fd, "a", "c")
    finally:
        os.close(fd)
    assert sorted(os.listdir(tmp_path)) == ["b", "c", "moved"]
    assert (tmp_path / "moved").is_symlink() and (tmp_path / "b").read_bytes() == b"b"
