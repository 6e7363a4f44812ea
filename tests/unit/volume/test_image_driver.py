"""Unit tests of the image-file driver: format detection from content, qcow2 headers.

Headers are written byte by byte (tests/image_support.py) to reach every branch,
and images made by the real ``qemu-img`` check that the parser reads what qemu
writes (qemu-utils must be installed: the test fails with the fix otherwise).
"""

import os
from pathlib import Path
from typing import Any

import pytest

from tests.driver_support import make_conf, vol
from tests.image_support import qcow2_header, qemu_img, write_image
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import image, load_driver
from volmgr_volume.drivers.image import ImageDriver, inspect_image

GIB = 1024**3
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
MANAGED = f"volume-{VOLUME_ID}"


def make_driver(tmp_path: Path, **overrides: Any) -> ImageDriver:
    driver = load_driver(make_conf(tmp_path, volume__volume_driver="image", **overrides))
    assert isinstance(driver, ImageDriver)
    driver.do_setup()
    return driver


@pytest.fixture
def driver(tmp_path: Path) -> ImageDriver:
    return make_driver(tmp_path)


@pytest.fixture
def images(driver: ImageDriver) -> Path:
    return Path(driver.directory)


# -- header parsing -------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3])
def test_qcow2_virtual_size(version: int) -> None:
    info = inspect_image(qcow2_header(5 * GIB + 1, version=version), 1024)
    assert (info.format, info.virtual_size, info.problem) == ("qcow2", 5 * GIB + 1, None)


@pytest.mark.parametrize(
    ("header", "cause"),
    [
        (qcow2_header(GIB, crypt_method=1), "encrypted (AES)"),
        (qcow2_header(GIB, crypt_method=2), "encrypted (LUKS)"),
        (qcow2_header(GIB, crypt_method=9), "encrypted (method 9)"),
        (qcow2_header(GIB, version=1), "version 1 is not supported"),
        (qcow2_header(GIB, version=4), "version 4 is not supported"),
        (qcow2_header(GIB, incompatible_features=1), "dirty"),
        (qcow2_header(GIB, incompatible_features=2), "corrupt"),
        (qcow2_header(GIB, incompatible_features=4), "external data file"),
        (qcow2_header(GIB, incompatible_features=1 << 40), "unknown incompatible"),
        (qcow2_header(GIB, cluster_bits=30), "cluster_bits 30"),
        (qcow2_header(GIB, version=3)[:90], "truncated"),
        (qcow2_header(GIB, version=2)[:60], "truncated"),
        (b"QFI\xfb", "truncated"),
    ],
)
def test_qcow2_refusals(header: bytes, cause: str) -> None:
    info = inspect_image(header, len(header))
    assert info.format == "qcow2"
    assert cause in (info.problem or "")


def test_an_overlay_is_marked_and_left_to_the_chain_checks() -> None:
    info = inspect_image(qcow2_header(GIB, backing_file_offset=200), 1024)
    assert info.has_backing and "flatten it first" in (info.problem or "")


def test_qcow2_compression_and_extended_l2_features_are_fine() -> None:
    assert inspect_image(qcow2_header(GIB, incompatible_features=0b11000), 0).problem is None


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (b"KDMV" + bytes(60), "vmdk"),
        (b"# Disk DescriptorFile\nversion=1\n", "vmdk"),
        (b"vhdxfile" + bytes(60), "vhdx"),
        (b"<<< Oracle VM VirtualBox Disk Image >>>\n" + bytes(24) + b"\x7f\x10\xda\xbe", "vdi"),
        (bytes(64) + b"\x7f\x10\xda\xbe", "vdi"),
        (b"LUKS\xba\xbe\x00\x02", "luks"),
        (b"conectix" + bytes(8), "vpc"),
        (b"QED\x00" + bytes(60), "qed"),
        (b"WithoutFreeSpace", "parallels"),
        (b"Bochs Virtual HD Image", "bochs"),
    ],
)
def test_other_formats_are_detected_and_refused(header: bytes, name: str) -> None:
    info = inspect_image(header, 12345)
    assert (info.format, info.virtual_size) == (name, 12345)
    assert info.problem == f"unsupported image format {name}"


@pytest.mark.parametrize("header", [b"", b"\x00" * 512, b"QFI", b"QFJ\xfb" + bytes(100), b"KDM"])
def test_anything_else_is_raw(header: bytes) -> None:
    assert inspect_image(header, 77) == image.ImageInfo("raw", 77)


# -- the driver on files --------------------------------------------------------------


def test_format_comes_from_content_never_from_the_name(driver: ImageDriver, images: Path) -> None:
    write_image(images / "disk.qcow2", b"raw bytes", GIB + 1)
    write_image(images / "disk.raw", qcow2_header(3 * GIB), 4096)
    write_image(images / "disk.vmdk", b"", GIB)
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "disk.qcow2"}) == 2
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "disk.raw"}) == 3
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "disk.vmdk"}) == 1
    # The size in bytes of the provenance is the image's virtual size too.
    described = driver.describe(vol(VOLUME_ID), {"source-name": "disk.raw"})
    assert (described.name, described.size_bytes) == ("disk.raw", 3 * GIB)


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (qcow2_header(GIB, backing_file_offset=512), "backing file"),
        (qcow2_header(GIB, crypt_method=2), "encrypted"),
        (b"KDMV" + bytes(100), "unsupported image format vmdk"),
    ],
)
def test_refused_images_are_neither_sized_nor_renamed(
    driver: ImageDriver, images: Path, content: bytes, cause: str
) -> None:
    write_image(images / "bad.img", content, 8192)
    for call in (driver.get_size, driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match=cause):
            call(vol(VOLUME_ID), {"source-name": "bad.img"})
    assert os.listdir(images) == ["bad.img"]


def test_manage_and_undo_keep_the_image_byte_for_byte(driver: ImageDriver, images: Path) -> None:
    content = qcow2_header(2 * GIB) + b"payload"
    write_image(images / "vm.img", content)
    identity = driver.get_identity(vol(VOLUME_ID), {"source-name": "vm.img"})
    assert driver.manage(vol(VOLUME_ID), {"source-name": "vm.img"}, identity=identity) == MANAGED
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "vm.img"}) == 2
    driver.undo_manage(vol(VOLUME_ID), {"source-name": "vm.img"}, identity=identity)
    assert (images / "vm.img").read_bytes() == content


def test_allowed_formats_narrow_what_is_accepted(tmp_path: Path) -> None:
    driver = make_driver(tmp_path, image_backend__allowed_formats=["qcow2"])
    write_image(Path(driver.directory) / "plain.img", b"", GIB)
    with pytest.raises(exception.ManageExistingInvalidReference, match="raw images are not"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "plain.img"})
    entry = driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),)))[0]
    assert "allowed_formats" in entry["reason_not_safe"]


def test_listing_gives_format_and_reasons(driver: ImageDriver, images: Path) -> None:
    write_image(images / "a.qcow2", qcow2_header(5 * GIB))
    write_image(images / "b.img", b"", GIB)
    write_image(images / "c.img", qcow2_header(GIB, backing_file_offset=1))
    write_image(images / "d.vhdx", b"vhdxfile", 3 * GIB)
    (images / "dir").mkdir()
    entries = driver.list_manageable({}, PageRequest(limit=10, sort=(("size", "desc"),)))
    summary = [
        (e["reference"]["source-name"], e["size"], e["extra_info"], e["safe_to_manage"])
        for e in entries
    ]
    assert summary == [
        ("a.qcow2", 5, {"format": "qcow2"}, True),
        ("d.vhdx", 3, {"format": "vhdx"}, False),
        ("c.img", 1, {"format": "qcow2"}, False),
        ("b.img", 1, {"format": "raw"}, True),
        ("dir", 0, None, False),
    ]
    assert "backing file" in entries[2]["reason_not_safe"]


def test_listing_reads_each_header_once(
    driver: ImageDriver, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(300):
        write_image(images / f"disk{n:03}", qcow2_header(GIB))
    opened: list[str] = []
    inspect = driver._inspect

    def counting_inspect(
        fd: int, name: str, expected: os.stat_result | None = None
    ) -> image.ImageInfo:
        opened.append(name)
        return inspect(fd, name, expected)

    monkeypatch.setattr(driver, "_inspect", counting_inspect)
    page = driver.list_manageable(
        {}, PageRequest(marker="disk099", limit=20, sort=(("reference", "asc"),))
    )
    assert [e["reference"]["source-name"] for e in page] == [f"disk{n}" for n in range(100, 120)]
    # Chains are found by reading every header once; the next pages read none again.
    assert sorted(opened) == [f"disk{n:03}" for n in range(300)]
    opened.clear()
    driver.list_manageable({}, PageRequest(marker="disk119", limit=20, sort=(("size", "desc"),)))
    assert opened == []


def test_capabilities_count_virtual_sizes(driver: ImageDriver, images: Path) -> None:
    write_image(images / MANAGED, qcow2_header(7 * GIB))
    write_image(images / "free.img", b"", GIB)
    (pool,) = driver.get_capabilities()["pools"]
    assert pool["allocated_capacity_gb"] == 7
    assert 0 <= pool["free_capacity_gb"] <= pool["total_capacity_gb"]


# -- images made by qemu-img ----------------------------------------------------------


@pytest.mark.parametrize(("compat", "size"), [("0.10", "3G"), ("1.1", "1536M")])
def test_qemu_img_qcow2(driver: ImageDriver, images: Path, compat: str, size: str) -> None:
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"compat={compat}", str(images / "q"), size)
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "q"}) == (3 if size == "3G" else 2)


def test_qemu_img_overlay_with_backing_file_is_refused(driver: ImageDriver, images: Path) -> None:
    qemu_img("create", "-q", "-f", "qcow2", str(images / "base"), "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "base", str(images / "top"))
    with pytest.raises(exception.ManageExistingInvalidReference, match="backing file"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "top"})


def test_qemu_img_encrypted_qcow2_is_refused(driver: ImageDriver, images: Path) -> None:
    # AES rather than LUKS: LUKS times PBKDF2 on the CPU, which fails now and then
    # on a loaded machine ("Unable to get accurate CPU usage").
    qemu_img(
        "create", "-q", "--object", "secret,id=s0,data=pw", "-f", "qcow2",
        "-o", "encrypt.format=aes,encrypt.key-secret=s0", str(images / "enc"), "1G",
    )  # fmt: skip
    with pytest.raises(exception.ManageExistingInvalidReference, match="encrypted"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "enc"})


@pytest.mark.parametrize("fmt", ["vmdk", "vhdx", "vdi", "vpc", "qed"])
def test_qemu_img_other_formats_are_refused(driver: ImageDriver, images: Path, fmt: str) -> None:
    qemu_img("create", "-q", "-f", fmt, str(images / "other"), "64M")
    with pytest.raises(exception.ManageExistingInvalidReference, match=f"format {fmt}"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "other"})


def test_listing_remembers_headers_until_the_file_changes(
    driver: ImageDriver, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_image(images / "a", qcow2_header(2 * GIB))
    write_image(images / "b", qcow2_header(3 * GIB))
    opened: list[str] = []
    inspect = driver._inspect

    def counting_inspect(
        fd: int, name: str, expected: os.stat_result | None = None
    ) -> image.ImageInfo:
        opened.append(name)
        return inspect(fd, name, expected)

    monkeypatch.setattr(driver, "_inspect", counting_inspect)
    driver.list_manageable({}, PageRequest(limit=10, sort=(("size", "asc"),)))
    driver.list_manageable({}, PageRequest(limit=10, sort=(("size", "asc"),)))
    assert sorted(opened) == ["a", "b"]
    write_image(images / "a", qcow2_header(9 * GIB))
    os.utime(images / "a", ns=(1, 1))
    entries = driver.list_manageable({}, PageRequest(limit=10, sort=(("size", "desc"),)))
    assert [(e["reference"]["source-name"], e["size"]) for e in entries] == [("a", 9), ("b", 3)]
    assert sorted(opened) == ["a", "a", "b"]
    driver.get_size(vol(VOLUME_ID), {"source-name": "b"})
    assert opened[-1] == "b"
