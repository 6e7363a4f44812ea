"""Drift found by each driver's audit on real objects, and cleared when put back.

On the file driver (raw files), the image driver (qcow2 images made by
``qemu-img``) and the LVM driver (a scratch VG on a loop device), a managed object
is deleted, resized, renamed back by hand, replaced by another object of the same
name and (LVM, managed by ``source-id``) stripped of its origin tag: each audit
(one reading of the backend) reports the kind, what was expected and what is
found; once the object is put back the next audit finds nothing. An audit never
changes the backend.
"""

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import Backend, DirectoryBackend, LvmBackend
from tests.driver_support import vol
from tests.image_support import qemu_img
from volmgr_common import drift
from volmgr_volume.drivers.lvm_commands import TAG_PREFIX

GIB = 1024**3
MIB = 1024**2
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
MANAGED = f"volume-{VOLUME_ID}"


def make(backend: Backend, name: str, size_bytes: int) -> dict[str, Any]:
    """An object ``name`` of ``size_bytes`` (a qcow2 image made by qemu-img on the image
    backend); its reference."""
    if isinstance(backend, DirectoryBackend) and backend.name == "image":
        qemu_img("create", "-q", "-f", "qcow2", str(backend.root / name), str(size_bytes))
        return {"source-name": name}
    return backend.make(name, size_bytes)


def managed(
    backend: Backend, reference: dict[str, Any], volume_id: str = VOLUME_ID
) -> drift.AuditedVolume:
    """Manage the object as the flow does; what an audit then knows of the volume."""
    found = backend.driver.describe(vol(volume_id), reference)
    location = backend.driver.manage(vol(volume_id), reference, identity=found.identity)
    assert found.size_bytes is not None
    return drift.AuditedVolume(
        id=volume_id,
        managed_name=location,
        identity=found.identity,
        size_gib=-(-found.size_bytes // GIB),
        size_bytes=found.size_bytes,
        reference_json=json.dumps(reference),
        original_name=found.name,
    )


def audit(backend: Backend, volume: drift.AuditedVolume) -> drift.Drift | None:
    before = snapshot(backend)
    with backend.driver.start_audit() as reading:
        found = reading.check(volume)
    assert snapshot(backend) == before, "the audit changed the backend"
    return found


def snapshot(backend: Backend) -> dict[str, Any]:
    return {name: backend.fingerprint(name) for name in backend.names()}


# -- what a person does to the backend, and how it is put back ---------------------------


class Hands:
    """Changes made by hand to one backend's objects, each with its undo."""

    def __init__(self, backend: Backend, tmp_path: Path) -> None:
        self.backend = backend
        self.aside = tmp_path / "aside"
        self.aside.mkdir()

    def _path(self, name: str) -> Path:
        assert isinstance(self.backend, DirectoryBackend)
        return self.backend.root / name

    def _lvm(self, *args: str) -> str:
        assert isinstance(self.backend, LvmBackend)
        return self.backend.vg.lvm(*args)

    def _lv(self, name: str) -> str:
        assert isinstance(self.backend, LvmBackend)
        return f"{self.backend.vg.name}/{name}"

    def take_away(self, name: str) -> Callable[[], None]:
        """Delete the object (kept aside: a moved file, an LVM metadata backup)."""
        if isinstance(self.backend, DirectoryBackend):
            shutil.move(self._path(name), self.aside / name)
            return lambda: os.rename(self.aside / name, self._path(name))
        backup = str(self.aside / "vg.txt")
        vg = self.backend.vg.name  # type: ignore[attr-defined]
        self._lvm("vgcfgbackup", "-q", "-f", backup, vg)
        self._lvm("lvremove", "-q", "-y", self._lv(name))
        return lambda: self._restore(backup)

    def _restore(self, backup: str) -> None:
        vg = self.backend.vg  # type: ignore[attr-defined]
        for name in vg.lvs():
            self._lvm("lvremove", "-q", "-y", self._lv(name))
        self._lvm("vgcfgrestore", "-q", "-f", backup, vg.name)

    def grow(self, name: str) -> Callable[[], None]:
        """Make the object larger (a file's length, an image's virtual size, an LV's extents)."""
        if isinstance(self.backend, DirectoryBackend) and self.backend.name == "image":
            path = str(self._path(name))
            size = qemu_img("info", "--output=json", path)
            qemu_img("resize", "-q", path, "+1G")
            return lambda: qemu_img("resize", "-q", "--shrink", path, _virtual_size(size))
        if isinstance(self.backend, DirectoryBackend):
            length = self._path(name).stat().st_size
            os.truncate(self._path(name), length + 4 * MIB)
            return lambda: os.truncate(self._path(name), length)
        self._lvm("lvextend", "-q", "-l", "+1", self._lv(name))
        return lambda: self._lvm("lvreduce", "-q", "-f", "-l", "-1", self._lv(name)) and None

    def rename(self, old: str, new: str) -> Callable[[], None]:
        if isinstance(self.backend, DirectoryBackend):
            os.rename(self._path(old), self._path(new))
            return lambda: os.rename(self._path(new), self._path(old))
        vg = self.backend.vg.name  # type: ignore[attr-defined]
        self._lvm("lvrename", "-q", vg, old, new)
        return lambda: self._lvm("lvrename", "-q", vg, new, old) and None

    def replace(self, name: str) -> Callable[[], None]:
        """Another object of the same name in place of this one, which is gone."""
        put_back = self.take_away(name)
        make(self.backend, name, GIB)

        def undo() -> None:
            if isinstance(self.backend, DirectoryBackend):
                os.unlink(self._path(name))
            put_back()

        return undo


def _virtual_size(info: str) -> str:
    return str(json.loads(info)["virtual-size"])


@pytest.fixture
def hands(backend: Backend, tmp_path: Path) -> Hands:
    return Hands(backend, tmp_path)


def test_an_object_as_managed_has_no_drift(backend: Backend) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    make(backend, "other", GIB)
    assert audit(backend, volume) is None


def test_a_deleted_object_is_missing_until_it_is_back(backend: Backend, hands: Hands) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    put_back = hands.take_away(MANAGED)
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.MISSING
    assert found.expected == {"name": MANAGED, "identity": volume.identity}
    assert found.found == {"name": None, "identity": None}
    put_back()
    assert audit(backend, volume) is None


def test_a_resized_object_is_resized_until_it_is_back(backend: Backend, hands: Hands) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    put_back = hands.grow(MANAGED)
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.RESIZED
    assert found.expected == {"size_bytes": volume.size_bytes}
    assert found.found["size_bytes"] > GIB
    put_back()
    assert audit(backend, volume) is None


def test_an_object_renamed_back_by_hand_is_found_where_it_is(
    backend: Backend, hands: Hands
) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    put_back = hands.rename(MANAGED, "disk1")
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.RENAMED
    assert found.found == {
        "name": "disk1",
        "identity": volume.identity,
        "managed_name_holder": None,
    }
    put_back()
    assert audit(backend, volume) is None


def test_an_object_replaced_under_its_name_is_replaced(backend: Backend, hands: Hands) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    put_back = hands.replace(MANAGED)
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.REPLACED
    assert found.found["name"] == MANAGED
    assert found.found["identity"] not in (None, volume.identity)
    put_back()
    assert audit(backend, volume) is None


def test_renamed_wins_over_replaced_when_the_object_is_still_there(
    backend: Backend, hands: Hands
) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    hands.rename(MANAGED, "moved-by-hand")
    make(backend, MANAGED, GIB)
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.RENAMED
    assert found.found["name"] == "moved-by-hand"
    assert found.found["managed_name_holder"] not in (None, volume.identity)


def test_one_reading_checks_many_volumes(backend: Backend, hands: Hands) -> None:
    ids = [f"11111111-2222-3333-4444-55555555555{n}" for n in range(4)]
    volumes = [managed(backend, make(backend, f"disk{n}", GIB), i) for n, i in enumerate(ids)]
    hands.take_away(volumes[1].managed_name)
    hands.rename(volumes[2].managed_name, "by-hand")
    with backend.driver.start_audit() as reading:
        make(backend, "made-after-the-reading", GIB)
        kinds = [None if (f := reading.check(v)) is None else f.kind for v in volumes]
    assert kinds == [None, drift.MISSING, drift.RENAMED, None]


# -- LVM: the origin tag, the one ownership mark a driver puts ------------------------------


@pytest.mark.parametrize("backend", ["lvm"], indirect=True)
def test_an_lv_managed_by_uuid_that_lost_its_tag_is_reported(backend: Backend) -> None:
    assert isinstance(backend, LvmBackend)
    uuid = backend.vg.create_lv("disk1", GIB)
    volume = managed(backend, {"source-id": uuid})
    tag = f"{TAG_PREFIX}{VOLUME_ID}:disk1"
    assert backend.vg.lvs()[MANAGED]["lv_tags"] == tag
    backend.vg.lvm("lvchange", "-q", "--deltag", tag, f"{backend.vg.name}/{MANAGED}")
    found = audit(backend, volume)
    assert found is not None and found.kind == drift.MARK_MISSING
    assert (found.expected, found.found) == ({"tag": tag}, {"tags": []})
    backend.vg.lvm("lvchange", "-q", "--addtag", tag, f"{backend.vg.name}/{MANAGED}")
    assert audit(backend, volume) is None


@pytest.mark.parametrize("backend", ["lvm"], indirect=True)
def test_an_lv_managed_by_name_carries_no_tag_and_none_is_asked_for(backend: Backend) -> None:
    volume = managed(backend, make(backend, "disk1", GIB))
    assert backend.fingerprint(MANAGED)[3] == ""
    assert audit(backend, volume) is None
