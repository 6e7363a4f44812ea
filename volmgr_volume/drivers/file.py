"""File driver: manages the regular files of one directory as volumes.

A reference ``{"source-name": "<file name>"}`` names a file directly inside
``[file_backend] directory``. Managing it renames it to the volume's managed name
(``[volume] volume_name_template``); undoing renames it back. Nothing is ever
copied, written or deleted, and nothing outside the directory is ever touched:
names with separators, ``.``/``..``, symlinks (even to files inside the directory)
and anything but regular files are refused.

Every rename happens under a per-directory lock, after a check that the target
name is free, and relative to a descriptor of the directory opened without
following symlinks.
"""

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

from oslo_concurrency import lockutils
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception
from volmgr_volume.drivers.base import GIB, VolumeDriver, size_in_gib

LOG = logging.getLogger(__name__)

SOURCE_NAME = "source-name"
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "reference": lambda entry: entry["reference"][SOURCE_NAME],
    "size": lambda entry: (entry["size"], entry["reference"][SOURCE_NAME]),
}
SORT_DIRS = ("asc", "desc")


def paginate_manageable(
    entries: list[dict[str, Any]],
    marker: str | None,
    limit: int | None,
    offset: int,
    sort_key: str,
    sort_dir: str,
) -> list[dict[str, Any]]:
    """Sort manageable entries, continue after ``marker``, then apply offset and limit.

    ``marker`` is the source-name of the last entry of the previous page; it must be
    among ``entries``. A ``limit`` of None means no limit.
    """
    if sort_key not in SORT_KEYS or sort_dir not in SORT_DIRS:
        raise exception.InvalidInput(reason="sort key must be reference or size, dir asc or desc")
    if offset < 0 or (limit is not None and limit < 0):
        raise exception.InvalidInput(reason="limit and offset must not be negative")
    ordered = sorted(entries, key=SORT_KEYS[sort_key], reverse=sort_dir == "desc")
    start = offset
    if marker is not None:
        names = [entry["reference"][SOURCE_NAME] for entry in ordered]
        if marker not in names:
            raise exception.InvalidInput(reason=f"marker {marker!r} not found")
        start += names.index(marker) + 1
    return ordered[start:] if limit is None else ordered[start : start + limit]


def plain_name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name directly inside a directory (None if it is)."""
    if not name:
        return "the name is empty"
    if "\x00" in name:
        return "the name contains a NUL byte"
    if os.path.isabs(name) or name.startswith("\\"):
        return "absolute paths are not allowed"
    if "/" in name or "\\" in name:
        return "the name contains a path separator ('/' or '\\'); only plain file names"
    if name in (".", ".."):
        return f"{name!r} is not a file name (no directory traversal)"
    return None


def _file_kind(mode: int) -> str:
    """Human name of the type of a non-regular file."""
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a fifo",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISLNK: "a symbolic link",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


def _gib_floor(size_bytes: int) -> float:
    """Bytes as GiB, floored to two decimals."""
    return size_bytes * 100 // GIB / 100


class FileDriver(VolumeDriver):
    """Manages raw files in ``[file_backend] directory`` by renaming them."""

    vendor_name = "volmgr"
    driver_version = "1.0"
    storage_protocol = "file"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.directory: str = conf.file_backend.directory
        self.pool_name: str = conf.file_backend.pool_name
        parts = conf.volume.volume_name_template.split("%s")
        self._managed_re = re.compile(UUID_PATTERN.join(re.escape(p) for p in parts))

    # -- setup ---------------------------------------------------------------------------

    def do_setup(self) -> None:
        """Create the directory if missing; refuse a path that is not a directory."""
        try:
            os.makedirs(self.directory, mode=0o750, exist_ok=True)
        except OSError as error:
            raise exception.VolumeDriverException(
                reason=f"cannot create directory {self.directory}: {error}"
            ) from error
        if not os.path.isdir(self.directory):
            raise exception.VolumeDriverException(reason=f"{self.directory} is not a directory")
        self._check_template()
        LOG.info("File driver manages regular files in %s", self._real_dir())

    def _check_template(self) -> None:
        """Managed names must be plain file names that :meth:`is_managed_form` recognises."""
        try:
            sample = self.managed_name("00000000-0000-0000-0000-000000000000")
        except (TypeError, ValueError) as error:
            raise exception.VolumeDriverException(
                reason=f"bad volume_name_template: {error}"
            ) from error
        problem = plain_name_problem(sample)
        if problem or not self.is_managed_form(sample):
            raise exception.VolumeDriverException(
                reason=f"bad volume_name_template: {problem or 'use exactly one %s'}"
            )

    # -- helpers -------------------------------------------------------------------------

    def _real_dir(self) -> str:
        return os.path.realpath(self.directory)

    def is_managed_form(self, name: str) -> bool:
        """Whether ``name`` looks like a managed name (the template with a UUID)."""
        return self._managed_re.fullmatch(name) is not None

    @contextlib.contextmanager
    def _opened_dir(self) -> Iterator[int]:
        """A descriptor of the real directory, opened without following symlinks."""
        try:
            fd = os.open(self._real_dir(), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as error:
            raise exception.VolumeDriverException(
                reason=f"cannot open directory {self.directory}: {error}"
            ) from error
        try:
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked_dir(self) -> Iterator[int]:
        """The directory descriptor, held under the per-directory rename lock."""
        with lockutils.lock(f"volmgr-file-driver-{self._real_dir()}"), self._opened_dir() as fd:
            yield fd

    @staticmethod
    def _lstat(fd: int, name: str) -> os.stat_result | None:
        """lstat of ``name`` in the directory ``fd``; None if it does not exist."""
        try:
            return os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            return None

    def _source_name(self, reference: Any) -> str:
        """The file name a reference names, or ManageExistingInvalidReference."""
        if not isinstance(reference, Mapping):
            self._invalid(reference, "the reference must be a dict with 'source-name'")
        if SOURCE_NAME not in reference:
            self._invalid(reference, "the reference has no 'source-name'")
        extra = sorted(str(key) for key in reference if key != SOURCE_NAME)
        if extra:
            self._invalid(reference, f"unexpected keys {extra}; only 'source-name' is allowed")
        name = reference[SOURCE_NAME]
        if not isinstance(name, str):
            self._invalid(reference, f"'source-name' must be a string, not {type(name).__name__}")
        problem = plain_name_problem(name)
        if problem:
            self._invalid(reference, problem)
        if self.is_managed_form(name):
            self._invalid(reference, "the name is already in managed form (volume_name_template)")
        return name

    @staticmethod
    def _invalid(reference: Any, reason: str) -> NoReturn:
        raise exception.ManageExistingInvalidReference(ref=reference, reason=reason)

    def _source_lstat(self, fd: int, name: str, reference: Any) -> os.stat_result | None:
        """lstat of the referenced name; an unusable name is an invalid reference."""
        try:
            return self._lstat(fd, name)
        except OSError as error:
            self._invalid(reference, f"the file cannot be inspected: {error.strerror}")

    def _source_stat(self, fd: int, name: str, reference: Any) -> os.stat_result | None:
        """lstat of the referenced file, refused unless a regular file in the directory."""
        st = self._source_lstat(fd, name, reference)
        if st is not None:
            self._check_source(name, st, reference)
        return st

    def _check_source(self, name: str, st: os.stat_result, reference: Any) -> None:
        real_dir = self._real_dir()
        inside = os.path.dirname(os.path.realpath(os.path.join(real_dir, name))) == real_dir
        if stat.S_ISLNK(st.st_mode) and inside:
            self._invalid(
                reference,
                "the file is a symbolic link; symlinks are refused even "
                "when they point inside the directory",
            )
        if stat.S_ISLNK(st.st_mode):
            self._invalid(reference, "the file is a symbolic link pointing outside the directory")
        if not inside:
            self._invalid(reference, "the file resolves to a path outside the directory")
        if not stat.S_ISREG(st.st_mode):
            self._invalid(reference, f"not a regular file: it is {_file_kind(st.st_mode)}")

    def _target_name(self, volume: Mapping[str, Any]) -> str:
        """The volume's managed name, checked to be a plain name too."""
        name = self.managed_name(volume["id"])
        problem = plain_name_problem(name)
        if problem:
            raise exception.VolumeDriverException(reason=f"managed name {name!r}: {problem}")
        return name

    def _managed_stat(self, fd: int, target: str) -> os.stat_result | None:
        """lstat of a managed name; raises unless absent or a regular file."""
        st = self._lstat(fd, target)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise exception.VolumeDriverException(
                reason=f"{target} exists but is {_file_kind(st.st_mode)}, not a regular file"
            )
        return st

    @staticmethod
    def _rename(fd: int, source: str, target: str) -> None:
        """Rename within the directory (a symlink would be renamed, never followed)."""
        try:
            os.rename(source, target, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as error:
            raise exception.VolumeDriverException(
                reason=f"cannot rename {source} to {target}: {error.strerror}"
            ) from error

    # -- the contract --------------------------------------------------------------------

    def get_size(self, volume: dict[str, Any], reference: dict[str, Any]) -> int:
        name = self._source_name(reference)
        with self._opened_dir() as fd:
            st = self._source_stat(fd, name, reference)
            if st is None:
                st = self._managed_stat(fd, self._target_name(volume))
        if st is None:
            self._invalid(reference, f"no file {name!r} exists in {self.directory}")
        return size_in_gib(st.st_size)

    def manage(self, volume: dict[str, Any], reference: dict[str, Any]) -> str:
        name = self._source_name(reference)
        target = self._target_name(volume)
        with self._locked_dir() as fd:
            source_st = self._source_stat(fd, name, reference)
            target_st = self._managed_stat(fd, target)
            if source_st is None and target_st is not None:
                LOG.info("Volume %s: %s is already renamed to %s", volume["id"], name, target)
                return target
            if source_st is None:
                self._invalid(reference, f"no file {name!r} exists in {self.directory}")
            if target_st is not None:
                raise exception.VolumeDriverException(
                    reason=f"{target} already exists while {name} is still there; refusing "
                    "to overwrite it"
                )
            self._rename(fd, name, target)
        LOG.info("Volume %s: renamed %s to %s", volume["id"], name, target)
        return target

    def undo_manage(self, volume: dict[str, Any], reference: dict[str, Any]) -> None:
        name = self._source_name(reference)
        target = self._target_name(volume)
        with self._locked_dir() as fd:
            target_st = self._managed_stat(fd, target)
            source_st = self._source_lstat(fd, name, reference)
            if target_st is None:
                if source_st is None:
                    LOG.warning(
                        "Volume %s: neither %s nor %s exists; nothing to put back",
                        volume["id"],
                        target,
                        name,
                    )
                return
            if source_st is not None:
                raise exception.VolumeDriverException(
                    reason=f"cannot put {target} back as {name}: that name is taken by another file"
                )
            self._rename(fd, target, name)
        LOG.info("Volume %s: renamed %s back to %s", volume["id"], target, name)

    def unmanage(self, volume: dict[str, Any]) -> None:
        name = volume.get("provider_location") or self.managed_name(volume["id"])
        if plain_name_problem(name):
            LOG.warning("Volume %s: unexpected provider location %r", volume["id"], name)
            return
        with self._opened_dir() as fd:
            st = self._lstat(fd, name)
        if st is None or not stat.S_ISREG(st.st_mode):
            LOG.warning("Volume %s: %s is missing or not a regular file", volume["id"], name)
        else:
            LOG.info("Volume %s: unmanaged; %s stays in %s", volume["id"], name, self.directory)

    def list_manageable(
        self,
        managed: dict[str, str],
        marker: str | None,
        limit: int,
        offset: int,
        sort_key: str,
        sort_dir: str,
    ) -> list[dict[str, Any]]:
        entries = []
        with os.scandir(self._real_dir()) as scan:
            for entry in scan:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                entries.append(self._manageable_entry(entry.name, st, managed))
        return paginate_manageable(entries, marker, limit, offset, sort_key, sort_dir)

    def _manageable_entry(
        self, name: str, st: os.stat_result, managed: Mapping[str, str]
    ) -> dict[str, Any]:
        cinder_id = managed.get(name)
        reason = self._not_safe_reason(name, st, cinder_id)
        return {
            "reference": {SOURCE_NAME: name},
            "size": size_in_gib(st.st_size) if stat.S_ISREG(st.st_mode) else 0,
            "safe_to_manage": reason is None,
            "reason_not_safe": reason,
            "cinder_id": cinder_id,
            "extra_info": None,
        }

    def _not_safe_reason(self, name: str, st: os.stat_result, cinder_id: str | None) -> str | None:
        if cinder_id is not None:
            return "already managed"
        if self.is_managed_form(name):
            return "name is in managed form but no volume holds it; rename it to manage it"
        if stat.S_ISLNK(st.st_mode):
            return "symbolic link; symlinks are never managed"
        if not stat.S_ISREG(st.st_mode):
            return f"not a regular file: it is {_file_kind(st.st_mode)}"
        return plain_name_problem(name)

    def get_capabilities(self) -> dict[str, Any]:
        real_dir = self._real_dir()
        fs = os.statvfs(real_dir)
        pool = {
            "pool_name": self.pool_name,
            "total_capacity_gb": _gib_floor(fs.f_blocks * fs.f_frsize),
            "free_capacity_gb": _gib_floor(fs.f_bavail * fs.f_frsize),
            "allocated_capacity_gb": self._allocated_gb(real_dir),
            "reserved_percentage": 0,
            "thin_provisioning_support": False,
        }
        return {
            "backend_name": self.backend_name,
            "vendor_name": self.vendor_name,
            "driver_version": self.driver_version,
            "storage_protocol": self.storage_protocol,
            "pools": [pool],
        }

    def _allocated_gb(self, real_dir: str) -> int:
        """Sum of the sizes (whole GiB each) of the regular files in managed form."""
        total = 0
        with os.scandir(real_dir) as scan:
            for entry in scan:
                if self.is_managed_form(entry.name) and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        total += size_in_gib(entry.stat(follow_symlinks=False).st_size)
        return total
