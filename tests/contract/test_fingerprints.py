"""``fingerprints()`` and ``fingerprint_changes()`` on real objects of every real backend.

A fingerprint tells an adoption job whether the object it is about to manage is the
one its plan saw: the tests change objects the ways an operator or another program
would between a plan and its apply (rename, resize, replace with another object of
the same name) and check that each change shows, and that nothing else does.
"""

import os
from typing import Any

import pytest

from tests.contract.conftest import Backend, DirectoryBackend, LvmBackend
from tests.driver_support import vol
from tests.image_support import qcow2_header, write_image
from volmgr_volume.drivers.base import fingerprint_changes

GIB = 1024**3
MIB = 1024**2
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
KEYS = {"name", "size_bytes", "identity", "reason_not_safe"}


def resize(backend: Backend, name: str, size_bytes: int) -> None:
    """Give object ``name`` a new volume size, keeping its identity."""
    if isinstance(backend, LvmBackend):
        vg = backend.vg
        vg.lvm("lvresize", "-q", "-f", "-L", f"{size_bytes}b", f"{vg.name}/{name}")
    elif isinstance(backend, DirectoryBackend) and backend.name == "image":
        with open(backend.root / name, "r+b") as f:
            f.write(qcow2_header(size_bytes))
    elif isinstance(backend, DirectoryBackend):
        os.truncate(backend.root / name, size_bytes)


def replace(backend: Backend, name: str) -> None:
    """Put another object of the same name and size in place of ``name``."""
    if isinstance(backend, LvmBackend):
        size = backend.vg.lvs()[name]["lv_size"]
        backend.vg.lvm("lvremove", "-q", "-f", f"{backend.vg.name}/{name}")
        backend.make(name, size)
    elif isinstance(backend, DirectoryBackend):
        path = backend.root / name
        stat_before = os.stat(path)
        backend.make(f"{name}.new", GIB)
        os.replace(backend.root / f"{name}.new", path)
        os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))


def rename(backend: Backend, old: str, new: str) -> None:
    if isinstance(backend, LvmBackend):
        backend.vg.lvm("lvrename", "-q", backend.vg.name, old, new)
    elif isinstance(backend, DirectoryBackend):
        os.rename(backend.root / old, backend.root / new)


def test_every_object_is_fingerprinted_as_a_manage_would_see_it(backend: Backend) -> None:
    references = {name: backend.make(name, size) for name, size in (("a", GIB), ("b", 3 * GIB))}
    found = backend.driver.fingerprints()
    assert set(found) == {"a", "b"}
    for name, reference in references.items():
        described = backend.driver.describe(vol(VOLUME_ID), reference)
        assert set(found[name]) >= KEYS
        assert found[name]["name"] == name
        assert found[name]["identity"] == described.identity
        assert found[name]["size_bytes"] == described.size_bytes
        assert found[name]["reason_not_safe"] is None
    if isinstance(backend, DirectoryBackend):
        assert found["a"]["mtime_ns"] == os.lstat(backend.root / "a").st_mtime_ns


def test_only_the_named_objects_that_exist_are_answered(backend: Backend) -> None:
    backend.make("a", GIB)
    backend.make("b", GIB)
    assert set(backend.driver.fingerprints(["b", "absent", "../a", ""])) == {"b"}
    assert backend.driver.fingerprints([]) == {}


def test_a_managed_object_says_why_it_is_not_safe(backend: Backend) -> None:
    reference = backend.make("a", GIB)
    backend.driver.manage(vol(VOLUME_ID), reference)
    found = backend.driver.fingerprints()
    (entry,) = found.values()
    assert "managed form" in entry["reason_not_safe"]


def test_an_unchanged_object_shows_no_change(backend: Backend) -> None:
    backend.make("a", GIB)
    planned = backend.driver.fingerprints(["a"])["a"]
    assert fingerprint_changes(planned, backend.driver.fingerprints(["a"])["a"]) == {}


def test_a_renamed_object_is_gone_under_its_name(backend: Backend) -> None:
    backend.make("a", GIB)
    planned = backend.driver.fingerprints(["a"])["a"]
    rename(backend, "a", "a2")
    current = backend.driver.fingerprints(["a"])
    assert current == {}
    changes = fingerprint_changes(planned, current.get("a"))
    assert changes["name"] == {"planned": "a", "current": None}
    assert changes["identity"]["current"] is None
    moved = backend.driver.fingerprints(["a2"])["a2"]
    assert moved["identity"] == planned["identity"]


def test_a_resized_object_shows_its_new_size(backend: Backend) -> None:
    backend.make("a", GIB)
    planned = backend.driver.fingerprints(["a"])["a"]
    resize(backend, "a", 2 * GIB)
    changes = fingerprint_changes(planned, backend.driver.fingerprints(["a"])["a"])
    assert changes["size_bytes"] == {"planned": GIB, "current": 2 * GIB}
    assert "identity" not in changes


def test_an_object_replaced_under_the_same_name_shows_a_new_identity(backend: Backend) -> None:
    backend.make("a", GIB)
    backend.make("keep", GIB)  # holds the old inode number busy: the new file gets another
    planned = backend.driver.fingerprints(["a"])["a"]
    replace(backend, "a")
    current = backend.driver.fingerprints(["a"])["a"]
    changes = fingerprint_changes(planned, current)
    assert set(changes) >= {"identity"}
    assert "name" not in changes and "size_bytes" not in changes


@pytest.mark.parametrize("backend", ["file", "image"], indirect=True)
def test_a_file_rewritten_in_place_shows_its_new_mtime(backend: Backend) -> None:
    backend.make("a", GIB)
    planned = backend.driver.fingerprints(["a"])["a"]
    st = os.lstat(backend.root / "a")
    os.utime(backend.root / "a", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    changes = fingerprint_changes(planned, backend.driver.fingerprints(["a"])["a"])
    assert set(changes) == {"mtime_ns"}


@pytest.mark.parametrize("backend", ["file", "image"], indirect=True)
def test_an_object_that_became_unsafe_shows_why(backend: Backend) -> None:
    backend.make("a", GIB)
    planned = backend.driver.fingerprints(["a"])["a"]
    os.link(backend.root / "a", backend.root.parent / "elsewhere")
    changes = fingerprint_changes(planned, backend.driver.fingerprints(["a"])["a"])
    assert changes["reason_not_safe"]["planned"] is None
    assert "hard links" in changes["reason_not_safe"]["current"]


@pytest.mark.parametrize("backend", ["image"], indirect=True)
def test_image_fingerprints_carry_the_virtual_size(backend: Backend) -> None:
    assert isinstance(backend, DirectoryBackend)
    write_image(backend.root / "big", qcow2_header(5 * GIB), 256 * 1024)
    found: dict[str, Any] = backend.driver.fingerprints(["big"])["big"]
    assert found["size_bytes"] == 5 * GIB
