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

Snapshots are qcow2 overlays whose backing file is a managed volume's image: the
backing reference is read from the overlay's header and resolved inside the
directory only (a plain name, or a path whose directory is the backend directory;
anything else is refused and never opened). Managing renames the overlay to the
snapshot's managed name; its header still names the volume's image, which keeps its
managed name, so no reference breaks. Listed by ``list_manageable_snapshots`` with
``source_reference`` = the backing file.

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
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import (
    BackendObject,
    ChainsByAdopter,
    ManageCall,
    ManagedNames,
    check_page_parameters,
    manageable_snapshot_entry,
    paginate_manageable,
    size_in_gib,
)
from volmgr_volume.drivers.file import (
    Described,
    FileDriver,
    file_identity,
    hard_link_problem,
    plain_name_problem,
)
from volmgr_volume.drivers.image_chain import ImageChains
from volmgr_volume.drivers.qcow2_backing import (
    MAX_BACKING_NAME,
    BackingUnreadable,
    read_backing_name,
)

LOG = logging.getLogger(__name__)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
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
BACKING_PROBLEM = "the image has a backing file; flatten it first (qemu-img convert)"
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
    # A qcow2 overlay: where its header keeps the backing file name, and why the image
    # could not be managed even as an overlay (None: as an overlay it could).
    backing_at: tuple[int, int] | None = None
    overlay_problem: str | None = None

    @property
    def has_backing(self) -> bool:
        """A qcow2 overlay: manageable only as a snapshot or a chain's member."""
        return self.backing_at is not None


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
    backing, backing_size, cluster_bits, size, crypt = struct.unpack_from(">QIIQI", header, 8)
    problem = _qcow2_problem(header, version, cluster_bits, crypt)
    if not backing:
        return ImageInfo("qcow2", size, problem)
    overlay_problem = problem
    if overlay_problem is None and not 0 < backing_size <= MAX_BACKING_NAME:
        overlay_problem = f"corrupt qcow2 header: backing file name of {backing_size} bytes"
    return ImageInfo(
        "qcow2", size, problem or BACKING_PROBLEM, (backing, backing_size), overlay_problem
    )


def _qcow2_problem(header: bytes, version: int, cluster_bits: int, crypt: int) -> str | None:
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


class ImageDriver(ChainsByAdopter, FileDriver):
    """Manages raw and qcow2 images in ``[image_backend] directory`` by renaming them."""

    storage_protocol = "file"
    conf_group = "image_backend"
    chains: ImageChains

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.allowed_formats: list[str] = list(conf.image_backend.allowed_formats)
        self._headers: dict[str, tuple[tuple[int, ...], ImageInfo]] = {}
        self.chains = ImageChains(self)

    def _inspect(self, fd: int, name: str, expected: os.stat_result | None = None) -> ImageInfo:
        """Read the header of ``name`` in the directory ``fd`` (never following links).

        With ``expected``, the header is read only if the file opened is that one
        (same device and inode): a name swapped since it was checked is refused.
        """
        file_fd = os.open(name, _READ_FLAGS, dir_fd=fd)
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
        """Why the image cannot be a volume: its content, a backing file, the config."""
        return self._allowed(info, info.problem)

    def _member_problem(self, info: ImageInfo) -> str | None:
        """Why the image cannot be any part of a chain (a backing file is allowed)."""
        return self._allowed(info, info.overlay_problem if info.has_backing else info.problem)

    def _allowed(self, info: ImageInfo, problem: str | None) -> str | None:
        if problem or info.format in self.allowed_formats:
            return problem
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

    def _object_bytes(self, fd: int, name: str, st: os.stat_result) -> int | None:
        """The image's virtual size (a qcow2 file's length changes as it is written);
        None when its header cannot be read."""
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            return self._inspect_cached(fd, name, st).virtual_size
        except OSError:
            return None

    def _overlays_now(self) -> dict[str, list[str]]:
        """Which images the overlays of the directory are built on, read now."""
        with self._opened_dir() as fd:
            return self.chains.overlays(self.chains.scan(fd, cached=True))

    def _alone_check(self, built_on: dict[str, list[str]]) -> Any:
        """The check before a volume's rename: :meth:`_volume_bytes`, and no overlay
        may be built on the image (renaming it would break them)."""

        def check(fd: int, name: str, st: os.stat_result, reference: Any) -> int:
            size = self._volume_bytes(fd, name, st, reference)
            if built_on.get(name):
                self._invalid(
                    reference,
                    f"{', '.join(built_on[name])} built on it would lose their backing "
                    "file; adopt it with its snapshots (with_snapshots) or flatten them "
                    "first",
                )
            return size

        return check

    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        return self._manage_checked(
            volume, reference, identity, self._alone_check(self._overlays_now())
        )

    def manage_many(self, calls: Sequence[ManageCall]) -> list[str | Exception]:
        """:meth:`manage` for each request, the overlays of the directory read once."""
        check = self._alone_check(self._overlays_now())
        results: list[str | Exception] = []
        for volume, reference, identity in calls:
            try:
                results.append(self._manage_checked(volume, reference, identity, check))
            except Exception as error:
                results.append(error)
        return results

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

    def fingerprints(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """The file driver's fingerprints; an image with overlays built on it is not safe
        alone (a single manage refuses it, as :meth:`_alone_check` does), so a plan
        skips it with the reason instead of failing it at apply."""
        prints = super().fingerprints(names)
        built_on = self._overlays_now()
        for name, seen in prints.items():
            if seen["reason_not_safe"] is None and built_on.get(name):
                seen["reason_not_safe"] = (
                    f"{', '.join(built_on[name])} built on it: adopt it with its snapshots "
                    "(with_snapshots)"
                )
        return prints

    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        """The file driver's page, with chains: a base lists its members in order in
        ``extra_info["chain"]``; a member is not safe alone and names its base."""
        entries = super().list_manageable(managed, page)
        with self._opened_dir() as fd:
            nodes = self.chains.scan(fd, cached=True)
        built_on = self.chains.overlays(nodes)
        for entry in entries:
            node = nodes.get(entry["reference"]["source-name"])
            if (
                node is None
                or entry["cinder_id"] is not None
                or self.is_any_managed_form(node.name)
            ):
                continue
            if node.info.has_backing and self._member_problem(node.info) is None:
                entry["safe_to_manage"] = False
                entry["reason_not_safe"] = self.chains.backing_problem(nodes, node)
            elif built_on.get(node.name):
                line = list(self.chains.line_above(node.name, built_on))
                chain = [name for name in line if isinstance(name, str)]
                entry["extra_info"] = dict(entry["extra_info"] or {}, chain=chain)
                if len(chain) < len(line):
                    entry["safe_to_manage"] = False
                    entry["reason_not_safe"] = "the chain built on it branches"
        return entries

    # -- snapshots: qcow2 overlays of a managed volume's image ----------------------------

    def _snapshot_target(self, snapshot: Mapping[str, Any]) -> str:
        name = self.snapshot_managed_name(snapshot["id"])
        problem = plain_name_problem(name)
        if problem:
            raise exception.VolumeDriverException(reason=f"managed name {name!r}: {problem}")
        return name

    def _backing_name(self, fd: int, name: str, st: os.stat_result) -> tuple[ImageInfo, str]:
        """The header of the overlay ``name`` (the file ``st``) and its backing file
        reference as written; raises _NotAnOverlay saying why it is none."""
        file_fd = os.open(name, _READ_FLAGS, dir_fd=fd)
        try:
            now = os.fstat(file_fd)
            if not stat.S_ISREG(now.st_mode) or file_identity(now) != file_identity(st):
                raise _NotAnOverlay("the file changed while it was being read")
            info = inspect_image(os.pread(file_fd, HEADER_BYTES, 0), now.st_size)
            if info.backing_at is None:
                raise _NotAnOverlay(f"the image is {info.format} without a backing file")
            if info.overlay_problem:
                raise _NotAnOverlay(info.overlay_problem)
            return info, read_backing_name(file_fd, *info.backing_at)
        except BackingUnreadable as error:
            raise _NotAnOverlay(str(error)) from error
        finally:
            os.close(file_fd)

    def _inside(self, backing: str) -> str | None:
        """The plain name of the file ``backing`` names in the backend directory, or None
        when it names anything else: only a plain name (resolved next to the overlay) or
        an absolute path whose directory is the backend directory; never followed."""
        if plain_name_problem(backing) is None:
            return backing
        directory, base = os.path.split(backing)
        allowed = {self._real_dir(), os.path.abspath(self.directory)}
        if os.path.isabs(backing) and directory in allowed and plain_name_problem(base) is None:
            return base
        return None

    def _origin_problem(
        self, fd: int, name: str, st: os.stat_result, volume: Mapping[str, Any]
    ) -> tuple[str | None, int]:
        """Why ``name`` is not an overlay of ``volume``'s image that may be managed (None
        if it is), and its virtual size in bytes."""
        if "qcow2" not in self.allowed_formats:
            return "qcow2 images are not allowed here ([image_backend] allowed_formats)", 0
        try:
            info, backing = self._backing_name(fd, name, st)
        except _NotAnOverlay as error:
            return f"not a qcow2 overlay: {error}", 0
        except OSError as error:
            return f"the image cannot be read: {error.strerror}", 0
        base = self._inside(backing)
        if base is None:
            return f"its backing file {backing!r} is outside the backend directory", 0
        image = volume.get("provider_location") or self.managed_name(volume["id"])
        if base != image:
            return f"its backing file is {base!r}, not {image}, the image of volume " + str(
                volume["id"]
            ), 0
        base_st = self._lstat(fd, base)
        recorded = volume.get("backend_identity")
        if base_st is None or not stat.S_ISREG(base_st.st_mode):
            return f"the image {base} of volume {volume['id']} is missing", 0
        if recorded is not None and file_identity(base_st) != recorded:
            return f"{base} is not the file volume {volume['id']} recorded", 0
        if file_identity(base_st) == file_identity(st):
            return "the image is its own backing file (a backing loop)", 0
        return None, info.virtual_size

    def _overlay_check(self, volume: Mapping[str, Any]) -> Any:
        """The check :meth:`_rename_to_managed` runs on the overlay before renaming it."""

        def check(fd: int, name: str, st: os.stat_result, reference: Any) -> int:
            problem, size = self._origin_problem(fd, name, st, volume)
            if problem:
                self._invalid(reference, problem)
            return size

        return check

    def describe_snapshot(
        self, volume: VolumeRecord, snapshot: SnapshotRecord, reference: dict[str, Any]
    ) -> BackendObject:
        """The overlay's ``device:inode``, its name and its virtual size in bytes."""
        name = self._source_name(reference)
        with self._opened_dir() as fd:
            st = self._source_stat(fd, name, reference)
            found = name
            if st is None:
                found = self._snapshot_target(snapshot)
                st = self._managed_stat(fd, found)
            if st is None:
                self._invalid(reference, f"no file {name!r} exists in {self.directory}")
            size = self._overlay_check(volume)(fd, found, st, reference)
            return BackendObject(file_identity(st), name, size)

    def manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> str:
        name = self._source_name(reference)
        target = self._snapshot_target(snapshot)
        owner = f"Snapshot {snapshot['id']}"
        return self._rename_to_managed(
            owner, name, target, reference, identity, self._overlay_check(volume)
        )

    def undo_manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> None:
        name = self._source_name(reference)
        target = self._snapshot_target(snapshot)
        identity = identity or snapshot.get("backend_identity")
        self._rename_back_from_managed(
            f"Snapshot {snapshot['id']}", name, target, reference, identity
        )

    def unmanage_snapshot(self, snapshot: SnapshotRecord) -> None:
        name = snapshot.get("provider_location") or self._snapshot_target(snapshot)
        LOG.info("Snapshot %s: unmanaged; %s stays in %s", snapshot["id"], name, self.directory)

    def list_manageable_snapshots(
        self, managed: ManagedNames, page: PageRequest
    ) -> list[dict[str, Any]]:
        """The qcow2 overlays of the directory (never following a backing file), each
        with ``source_reference`` = its backing file as its header names it."""
        check_page_parameters(page)
        entries = []
        with self._opened_dir() as fd:
            with os.scandir(fd) as scan:
                names = sorted(entry.name for entry in scan)
            for name in names:
                entry = self._snapshot_entry(fd, name, managed)
                if entry is not None:
                    entries.append(entry)
        return paginate_manageable(entries, page)

    def _snapshot_entry(self, fd: int, name: str, managed: ManagedNames) -> dict[str, Any] | None:
        """The listing entry of ``name`` if it is a regular file with a backing file."""
        st = self._lstat(fd, name)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            info, backing = self._backing_name(fd, name, st)
        except (_NotAnOverlay, OSError):
            return None
        base = self._inside(backing)
        volume_id = managed.volumes.get(base) if base is not None else None
        cinder_id = managed.snapshots.get(name)
        if cinder_id is not None:
            reason: str | None = "already managed"
        elif base is None:
            reason = f"its backing file {backing!r} is outside the backend directory"
        elif volume_id is None:
            reason = (
                f"its backing file {base} is not a managed volume; adopt that volume "
                "with its snapshots (with_snapshots)"
            )
        else:
            volume = {"id": volume_id, "provider_location": base}
            reason = hard_link_problem(st) or self._origin_problem(fd, name, st, volume)[0]
        extra = {"format": info.format, "volume_id": volume_id}
        size = size_in_gib(info.virtual_size)
        return manageable_snapshot_entry(name, size, reason, cinder_id, backing, extra)


class _NotAnOverlay(Exception):
    """A file that is not a qcow2 overlay that may be managed; the message says why."""
