"""qcow2 backing references: read from an image's header, rewritten with qemu-img.

An overlay's header holds the reference to the image below it (the *backing file*:
a string at ``backing_file_offset``, ``backing_file_size`` bytes long) and, in a
header extension, that image's format. :func:`read_backing` reads both from an open
file, never opening the backing file itself (:func:`read_backing_name` only the
reference, where the header says it is). :class:`QemuImg` runs ``qemu-img`` on
an already opened file through ``/dev/fd/N``, so the tool acts on the very inode the
driver checked whatever happens to names meanwhile: ``in_use`` asks for qemu's
image locks (held by a running VM or qemu-nbd), ``rebase`` rewrites only the
header's backing reference (``qemu-img rebase -u``, no data is read or written).
"""

import os
import struct
import subprocess

from volmgr_common import exception

BACKING_FORMAT_EXTENSION = 0xE2792ACA
END_OF_EXTENSIONS = 0
MAX_BACKING_NAME = 1023  # qcow2: a backing file name is at most 1023 bytes
EXTENSION_AREA = 64 * 1024  # extensions live in the first cluster; read at most this
QEMU_IMG_TIMEOUT = 60


class BackingUnreadable(Exception):
    """The header's backing reference cannot be read; the message says why."""


def read_backing_name(fd: int, offset: int, size: int) -> str:
    """The backing reference stored at ``offset`` (``size`` bytes) of the image ``fd``."""
    raw = os.pread(fd, size, offset)
    if len(raw) != size:
        raise BackingUnreadable("truncated qcow2 image: its backing file name is cut short")
    if b"\x00" in raw:
        raise BackingUnreadable("the backing file name contains a NUL byte")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BackingUnreadable("the backing file name is not UTF-8") from error


def read_backing(fd: int) -> tuple[str | None, str | None]:
    """The backing reference of the qcow2 image open as ``fd`` and its recorded format;
    ``(None, None)`` without a backing file; BackingUnreadable for a header that cannot
    hold a valid reference."""
    header = os.pread(fd, 104, 0)
    if len(header) < 72:
        raise BackingUnreadable("truncated qcow2 header")
    version, offset, size = struct.unpack_from(">IQI", header, 4)
    if offset == 0:
        return None, None
    if not 0 < size <= MAX_BACKING_NAME:
        raise BackingUnreadable(f"corrupt qcow2 header: backing file name of {size} bytes")
    name = read_backing_name(fd, offset, size)
    header_length = struct.unpack_from(">I", header, 100)[0] if version >= 3 else 72
    return name, _backing_format(fd, header_length, offset)


def _backing_format(fd: int, start: int, backing_offset: int) -> str | None:
    """The backing format header extension, if the image records one."""
    end = min(backing_offset, start + EXTENSION_AREA)
    area = os.pread(fd, max(end - start, 0), start)
    position = 0
    while position + 8 <= len(area):
        kind, length = struct.unpack_from(">II", area, position)
        if kind == END_OF_EXTENSIONS:
            return None
        data = area[position + 8 : position + 8 + length]
        if kind == BACKING_FORMAT_EXTENSION:
            return data.decode(errors="replace") or None
        position += 8 + (length + 7) // 8 * 8
    return None


class QemuImg:
    """``qemu-img`` run on open files (``/dev/fd/N``), with a timeout."""

    def __init__(self, binary: str = "qemu-img", timeout: int = QEMU_IMG_TIMEOUT) -> None:
        self.binary, self.timeout = binary, timeout

    def _run(self, fd: int, *args: str) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *args, f"/dev/fd/{fd}"]
        try:
            return subprocess.run(
                command,
                pass_fds=(fd,),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise exception.VolumeDriverException(
                reason=f"{self.binary} not found: install qemu-utils to adopt qcow2 chains"
            ) from error
        except subprocess.TimeoutExpired as error:
            raise exception.VolumeDriverException(
                reason=f"{self.binary} {args[0]} timed out after {self.timeout} s"
            ) from error

    def in_use(self, fd: int, image_format: str) -> str | None:
        """Why the image is in use (another process holds qemu's lock on it), or None."""
        result = self._run(fd, "info", "-f", image_format, "--output=json")
        if result.returncode == 0:
            return None
        message = result.stderr.strip()
        if "lock" in message:
            return "it is in use: another process (a VM, qemu-nbd) holds its image lock"
        return f"qemu-img cannot open it: {message}"

    def rebase(self, fd: int, backing: str, backing_format: str) -> None:
        """Write ``backing`` (of ``backing_format``) as the overlay's backing reference."""
        result = self._run(fd, "rebase", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format)
        if result.returncode != 0:
            raise exception.VolumeDriverException(
                reason=f"cannot rewrite the backing reference to {backing}: {result.stderr.strip()}"
            )
