"""Backends for the driver contract suite: each makes real objects for its driver.

A :class:`Backend` pairs a driver set up on a real backend (a temporary directory,
or a scratch LVM volume group on a loop device) with a factory that creates an
object of a given size and a fingerprint that tells whether an object is exactly
the one made (same inode and content, or same LV uuid, size and tags). It can also
swap two objects' names as another process would, right before the driver's next
rename (:meth:`Backend.swap_before_next_rename`).

The LVM volume group is made once per session by ``tools/lvm-testvg.sh`` and
emptied after every test; when it cannot be made the LVM tests fail with the fix.
"""

import abc
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.driver_support import make_conf
from tests.image_support import qcow2_header, write_image
from tests.lvm_support import LvmSetupError, ScratchVolumeGroup
from tests.rename_race import exchange
from volmgr_volume.drivers import file as file_driver
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import VolumeDriver

BACKENDS = ("file", "image", "lvm")


class Backend(abc.ABC):
    """A driver on a real backend, and the means to make and inspect its objects."""

    name: str
    driver: VolumeDriver

    @abc.abstractmethod
    def make(self, name: str, size_bytes: int) -> dict[str, Any]:
        """Create object ``name`` of ``size_bytes`` (a multiple of 4 MiB); its reference."""

    @abc.abstractmethod
    def names(self) -> set[str]:
        """Names of every object on the backend."""

    @abc.abstractmethod
    def fingerprint(self, name: str) -> Any:
        """Identity and content of object ``name``: equal iff it is the same object."""

    @abc.abstractmethod
    def swap_before_next_rename(self, monkeypatch: pytest.MonkeyPatch, a: str, b: str) -> None:
        """Make objects ``a`` and ``b`` trade names right before the driver's next rename."""


def _once_before(call: Callable[..., Any], swap: Callable[[], None]) -> Callable[..., Any]:
    done: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            swap()
        return call(*args, **kwargs)

    return wrapped


class DirectoryBackend(Backend):
    """The file or image driver on a temporary directory."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.driver = load_driver(make_conf(tmp_path, volume__volume_driver=name))
        self.driver.do_setup()
        self.root = Path(self.driver.directory)

    def make(self, name: str, size_bytes: int) -> dict[str, Any]:
        marker = f"contents of {name}".encode()
        if self.name == "image":
            write_image(self.root / name, qcow2_header(size_bytes) + marker, 256 * 1024)
        else:
            write_image(self.root / name, marker, size_bytes)
        return {"source-name": name}

    def names(self) -> set[str]:
        return set(os.listdir(self.root))

    def fingerprint(self, name: str) -> Any:
        st = os.lstat(self.root / name)
        with open(self.root / name, "rb") as f:
            digest = hashlib.sha256(f.read(1024 * 1024)).hexdigest()
        return (st.st_ino, st.st_size, st.st_mtime_ns, digest)

    def swap_before_next_rename(self, monkeypatch: pytest.MonkeyPatch, a: str, b: str) -> None:
        def swap() -> None:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                assert exchange(fd, a, b)
            finally:
                os.close(fd)

        rename = file_driver.rename_noreplace
        monkeypatch.setattr(file_driver, "rename_noreplace", _once_before(rename, swap))


class LvmBackend(Backend):
    """The LVM driver on the session's scratch volume group."""

    name = "lvm"

    def __init__(self, vg: ScratchVolumeGroup, tmp_path: Path) -> None:
        self.vg = vg
        self.driver = load_driver(make_conf(tmp_path, **vg.driver_overrides()))
        self.driver.do_setup()

    def make(self, name: str, size_bytes: int) -> dict[str, Any]:
        self.vg.create_lv(name, size_bytes)
        return {"source-name": name}

    def names(self) -> set[str]:
        return set(self.vg.lvs())

    def fingerprint(self, name: str) -> Any:
        lv = self.vg.lvs()[name]
        return (lv["lv_uuid"], lv["lv_size"], lv["lv_attr"], lv["lv_tags"])

    def swap_before_next_rename(self, monkeypatch: pytest.MonkeyPatch, a: str, b: str) -> None:
        def swap() -> None:
            for old, new in ((a, "swap-tmp"), (b, a), ("swap-tmp", b)):
                self.vg.lvm("lvrename", "-q", self.vg.name, old, new)

        commands = self.driver.commands  # type: ignore[attr-defined]
        monkeypatch.setattr(commands, "rename", _once_before(commands.rename, swap))


@pytest.fixture(scope="session")
def scratch_vg() -> Iterator[ScratchVolumeGroup]:
    try:
        vg = ScratchVolumeGroup.create()
    except LvmSetupError as error:
        pytest.fail(f"cannot set up the LVM test volume group: {error}", pytrace=False)
    try:
        yield vg
    finally:
        vg.destroy()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param != "lvm":
        yield DirectoryBackend(request.param, tmp_path)
        return
    vg: ScratchVolumeGroup = request.getfixturevalue("scratch_vg")
    vg.remove_all_lvs()
    try:
        yield LvmBackend(vg, tmp_path)
    finally:
        vg.remove_all_lvs()
