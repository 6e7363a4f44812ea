"""Disk images for tests, written byte by byte (and with qemu-img for cross-checks).

:func:`qcow2_header` builds a qcow2 header with any field set as a test wants it;
:func:`write_image` puts a header at the start of a sparse file of a given length.
:func:`qemu_img` runs the real tool (Debian package ``qemu-utils``) so that the
driver's parser is checked against images qemu itself made. :func:`make_chain` makes
a qcow2 disk with two overlays; :func:`state` is what a chain test compares.
"""

import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

QEMU_HINT = "qemu-img is missing; fix: apt-get update && apt-get install -y qemu-utils"


def qcow2_header(
    virtual_size: int,
    *,
    version: int = 3,
    backing_file_offset: int = 0,
    cluster_bits: int = 16,
    crypt_method: int = 0,
    incompatible_features: int = 0,
    magic: bytes = b"QFI\xfb",
) -> bytes:
    """A qcow2 header (version 2: 72 bytes, version 3: 104 bytes)."""
    header = magic + struct.pack(
        ">IQIIQIIQQIIQ",
        version,
        backing_file_offset,
        0,  # backing_file_size
        cluster_bits,
        virtual_size,
        crypt_method,
        0,  # l1_size
        0x30000,  # l1_table_offset
        0x10000,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
    )
    if version >= 3:
        header += struct.pack(">QQQII", incompatible_features, 0, 0, 4, 104)
    return header


def write_image(path: Path, header: bytes, file_size: int = 0) -> Path:
    """A sparse file of ``file_size`` bytes (at least the header) starting with ``header``."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(max(file_size, len(header)))
    return path


def qemu_img(*args: str) -> str:
    """stdout of ``qemu-img <args>``; AssertionError with the fix if it is missing."""
    binary = shutil.which("qemu-img")
    assert binary, QEMU_HINT
    result = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"qemu-img {' '.join(args)}: {result.stderr}"
    return result.stdout


def make_chain(images: Path) -> None:
    """base.qcow2 (1 GiB) <- o1.qcow2 (2 GiB, relative reference) <- o2.qcow2 (absolute)."""
    images.mkdir(parents=True, exist_ok=True)
    qemu_img("create", "-q", "-f", "qcow2", str(images / "base.qcow2"), "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
             str(images / "o1.qcow2"), "2G")  # fmt: skip
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(images / "o1.qcow2"), "-F", "qcow2",
             str(images / "o2.qcow2"))  # fmt: skip


def backing_of(path: Path) -> tuple[str | None, str | None]:
    info = json.loads(qemu_img("info", "--output=json", "-U", str(path)))
    return info.get("backing-filename"), info.get("backing-filename-format")


def state(images: Path) -> dict[str, Any]:
    """Every file of the directory: inode and backing reference as qemu reads it."""
    return {p.name: (p.stat().st_ino, backing_of(p)) for p in sorted(images.iterdir())}
