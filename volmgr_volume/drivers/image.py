"""Image-file driver: manages the raw and qcow2 disk images of one directory.

It is the file driver (same path safety, renames and listing) over
``[image_backend] directory``, except that each file's format is detected from its
content, never from its name:

* qcow2 (magic ``QFI\\xfb``): versions 2 and 3 only; the volume's size is the
  virtual size of the header (big-endian u64 at offset 24) rounded up to whole GiB.
  Refused: a backing file (offset 8 non-zero), encryption (AES or LUKS), an
  external data file, the ``dirty`` or ``corrupt`` flags, unknown incompatible
  features, implausible cluster sizes and truncated headers.
* raw: anything without a known signature; its size is the file's length.
* other formats that can be detected (vmdk, vhdx, vdi, vpc, qed, LUKS, parallels,
  bochs, cloop) are refused as unsupported.

``[image_backend] allowed_formats`` narrows raw/qcow2 further. The listing gives
``extra_info = {"format": ...}`` and reads only the headers of the page it returns
(all headers when sorting by size). What listings and capability reports read is
remembered per file, keyed by inode, size, mtime and ctime, so that paging through
a large directory sorted by size reads each header once; ``get_size`` and
``manage`` always read the header afresh.
"""

import dataclasses
import os
import stat
import struct
from typing import Any

from oslo_config import cfg

from volmgr_volume.drivers.base import size_in_gib
from volmgr_volume.drivers.file import Described, FileDriver, file_identity

QCOW2_MAGIC = b"QFI\xfb"
HEADER_BYTES = 512
HEADER_CACHE_SIZE = 250_000  # entries (~100 bytes each); cleared when full
QCOW2_V2_HEADER = 72
QCOW2_V3_HEADER = 104
INCOMPATIBLE_FEATURES = {
    0: "the image is marked dirty (open in a VM or not closed cleanly); "
    "run 'qemu-img check -r all' first",
    1: "the image is marked corrupt",
    2: "the image keeps its data in an external data file",
}
KNOWN_INCOMPATIBLE = 0b11111  # dirty, corrupt, data file, compression type, extended L2
CRYPT_METHODS = {1: "AES", 2: "LUKS"}
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"KDMV", "vmdk"),
    (0, b"COWD", "vmdk"),
    (0, b"# Disk DescriptorFile", "vmdk"),
    (0, b"vhdxfile", "vhdx"),
    (64, b"\x7f\x10\xda\xbe", "vdi"),
    (0, b"<<< Oracle VM VirtualBox Disk Image >>>", "vdi"),
    (0, b"LUKS\xba\xbe", "luks"),
    (0, b"conectix", "vpc"),
    (0, b"QED\x00", "qed"),
    (0, b"WithoutFreeSpace", "parallels"),
    (0, b"WithouFreSpacExt", "parallels"),
    (0, b"Bochs Virtual HD Image", "bochs"),
    (0, b"#!/bin/sh\n#V2.0 Format", "cloop"),
)


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says."""

    format: str
    virtual_size: int
    problem: str | None = None  # why it cannot be managed, whatever the config


def inspect_image(header: bytes, file_size: int) -> ImageInfo:
    """Format, virtual size and refusal reason of an image from its first bytes."""
    if header.startswith(QCOW2_MAGIC):
        return inspect_qcow2(header)
    for offset, signature, name in SIGNATURES:
        if header[offset : offset + len(signature)] == signature:
            return ImageInfo(name, file_size, f"unsupported image format {name}")
    return ImageInfo("raw", file_size)


def inspect_qcow2(header: bytes) -> ImageInfo:
    """Virtual size and refusal reason of a qcow2 image from its header."""
    if len(header) < 8:
        return ImageInfo("qcow2", 0, "truncated qcow2 header")
    (version,) = struct.unpack_from(">I", header, 4)
    if version not in (2, 3):
        return ImageInfo("qcow2", 0, f"qcow2 version {version} is not supported (only 2 and 3)")
    if len(header) < (QCOW2_V2_HEADER if version == 2 else QCOW2_V3_HEADER):
        return ImageInfo("qcow2", 0, "truncated qcow2 header")
    backing, _, cluster_bits, size, crypt = struct.unpack_from(">QIIQI", header, 8)
    return ImageInfo("qcow2", size, _qcow2_problem(header, version, backing, cluster_bits, crypt))


def _qcow2_problem(
    header: bytes, version: int, backing: int, cluster_bits: int, crypt: int
) -> str | None:
    if backing:
        return "the image has a backing file; flatten it first (qemu-img convert)"
    if crypt:
        return f"the image is encrypted ({CRYPT_METHODS.get(crypt, f'method {crypt}')})"
    if not 9 <= cluster_bits <= 21:
        return f"corrupt qcow2 header: cluster_bits {cluster_bits}"
    if version == 3:
        (features,) = struct.unpack_from(">Q", header, 72)
        known = [reason for bit, reason in INCOMPATIBLE_FEATURES.items() if features >> bit & 1]
        if known:
            return known[0]
        if features & ~KNOWN_INCOMPATIBLE:
            return f"the image uses unknown incompatible features {features:#x}"
    return None


class ImageDriver(FileDriver):
    """Manages raw and qcow2 images in ``[image_backend] directory`` by renaming them."""

    storage_protocol = "file"
    conf_group = "image_backend"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.allowed_formats: list[str] = list(conf.image_backend.allowed_formats)
        self._headers: dict[str, tuple[tuple[int, ...], ImageInfo]] = {}

    def _inspect(self, fd: int, name: str, expected: os.stat_result | None = None) -> ImageInfo:
        """Read the header of ``name`` in the directory ``fd`` (never following links).

        With ``expected``, the header is read only if the file opened is that one
        (same device and inode): a name swapped since it was checked is refused.
        """
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        file_fd = os.open(name, flags, dir_fd=fd)
        try:
            st = os.fstat(file_fd)
            if not stat.S_ISREG(st.st_mode):
                return ImageInfo("unknown", 0, "not a regular file")
            if expected is not None and file_identity(st) != file_identity(expected):
                return ImageInfo(
                    "unknown",
                    0,
                    f"the file changed while it was being read ({file_identity(expected)} "
                    f"was checked, {file_identity(st)} was opened)",
                )
            return inspect_image(os.pread(file_fd, HEADER_BYTES, 0), st.st_size)
        finally:
            os.close(file_fd)

    def _inspect_cached(self, fd: int, name: str, st: os.stat_result) -> ImageInfo:
        """:meth:`_inspect`, remembered while the file's inode, size and times stay."""
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        cached = self._headers.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        info = self._inspect(fd, name)
        if len(self._headers) >= HEADER_CACHE_SIZE:
            self._headers.clear()
        self._headers[name] = (key, info)
        return info

    def _format_problem(self, info: ImageInfo) -> str | None:
        if info.problem or info.format in self.allowed_formats:
            return info.problem
        return f"{info.format} images are not allowed here ([image_backend] allowed_formats)"

    def _volume_bytes(self, fd: int, name: str, st: os.stat_result, reference: Any) -> int:
        try:
            info = self._inspect(fd, name, expected=st)
        except OSError as error:
            self._invalid(reference, f"the image cannot be read: {error.strerror}")
        problem = self._format_problem(info)
        if problem:
            self._invalid(reference, problem)
        return info.virtual_size

    def _describe(self, fd: int, name: str) -> Described | None:
        described = super()._describe(fd, name)
        if described is None or not stat.S_ISREG(described.st.st_mode):
            return described
        try:
            info = self._inspect_cached(fd, name, described.st)
        except OSError as error:
            return described._replace(problem=f"the image cannot be read: {error.strerror}")
        return described._replace(
            size=size_in_gib(info.virtual_size),
            size_bytes=info.virtual_size,
            problem=self._format_problem(info),
            extra_info={"format": info.format},
        )
