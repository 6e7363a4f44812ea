"""File driver: manages the regular files of one directory as volumes.

A reference ``{"source-name": "<file name>"}`` names a file directly inside
``[file_backend] directory``. Managing it renames it to the volume's managed name
(``[volume] volume_name_template``) and marks it with one extended attribute
saying whose volume it is (``user.volmgr.origin``, see ``file_marks``); undoing
renames it back and removes the mark. No content is ever copied, written or
deleted, and nothing outside the directory is ever touched: names with separators,
``.``/``..``, symlinks (even to files inside the directory) and anything but
regular files are refused.

Orphans: ``list_managed_objects`` lists the regular files whose names are in
managed form, with the volume id their name carries and, from their mark, the
project they were managed for and their original name. A reference naming the
volume's own managed name re-adopts the file where it stands (no rename; its mark
is written again for the volume's project). A file whose file system keeps no user
extended attribute carries no mark: its project must come from the admin.

A file's identity is its inode on its device (``"<st_dev>:<st_ino>"``), not its
name: a file with more than one hard link is refused (its data is reachable under
another name, maybe outside the directory or another volume's file) and listed as
not safe. Every rename happens under a per-directory lock, relative to a descriptor
of the directory opened without following symlinks, and never replaces an existing
name (``renameat2`` with ``RENAME_NOREPLACE``). Since a name can still change
between the checks and the rename (another process renames, or swaps names with
``RENAME_EXCHANGE``), the renamed object is checked again afterwards: when it is
not the regular file whose identity was checked, the rename is undone at once and
the request fails; the put-back of ``undo_manage`` moves only the file whose
identity the volume recorded, under the same check.

An audit scans the directory once (names and inodes, no ``stat``), then checks each
volume with one ``lstat`` of its managed name (and, for a volume whose file is
not there, one of the name its inode was seen under): a directory of 100,000
managed files costs one scan and 100,000 ``lstat`` calls.

The manageable listing scans the directory once and sorts names (or sizes, when
asked); only the entries of the returned page are described in full, so a page of
a directory of 100,000 files costs one scan, one sort and a page of ``lstat`` calls.
Subclasses (the image driver) hook in with :meth:`FileDriver._volume_bytes` and
:meth:`FileDriver._describe`.
"""

import contextlib
import dataclasses
import functools
import itertools
import json
import os
import stat
import threading
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn

from oslo_concurrency import lockutils
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import drift, exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import file_marks
from volmgr_volume.drivers.base import (
    RELEASED_ATTRIBUTE,
    SOURCE_NAME,
    UUID_PATTERN,
    BackendAudit,
    BackendObject,
    ManageCall,
    ManagedObject,
    VolumeDriver,
    check_page_parameters,
    fingerprint,
    gib_floor,
    manage_attempt,
    manageable_entry,
    managed_name_pattern,
    paginate,
    paginate_manageable,
    release_time,
    size_in_gib,
    volume_id_in,
)
from volmgr_volume.drivers.renameat import rename_noreplace

LOG = logging.getLogger(__name__)
SNAPSHOT_FORM = "name is in managed snapshot form: a managed snapshot's object (or rename it)"

__all__ = [
    "SOURCE_NAME",
    "UUID_PATTERN",
    "FileDriver",
    "file_identity",
    "paginate_manageable",
    "plain_name_problem",
]


class Described(NamedTuple):
    """What the listing says about one directory entry."""

    st: os.stat_result
    size: int  # whole GiB; 0 for anything but a regular file
    problem: str | None = None  # why the content makes it unsafe to manage
    extra_info: dict[str, Any] | None = None
    size_bytes: int = 0  # the volume's exact size; 0 for anything but a regular file


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


def file_identity(st: os.stat_result) -> str:
    """The identity of a file: its inode on its device, whatever names it has."""
    return f"{st.st_dev}:{st.st_ino}"


def _same_file(st: os.stat_result, other: os.stat_result) -> bool:
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def hard_link_problem(st: os.stat_result) -> str | None:
    """Why a regular file with several names may not be managed (None if it has one)."""
    if st.st_nlink <= 1:
        return None
    return (
        f"the file has {st.st_nlink} hard links: its data is also reachable under another "
        "name (maybe outside the directory, or another volume's file); remove the other "
        "links or copy the file first"
    )


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


def _inode_of(identity: str, device: int) -> int | None:
    """The inode of a ``device:inode`` identity on ``device`` (None: another device)."""
    dev, _, ino = identity.partition(":")
    try:
        return int(ino) if int(dev) == device else None
    except ValueError:
        return None


class DirectoryAudit(BackendAudit):
    """One scan of the driver's directory: each entry's name by its inode."""

    def __init__(self, driver: "FileDriver") -> None:
        self._driver = driver
        with driver._opened_dir() as fd:
            self._fd = os.dup(fd)
        try:
            self._device = os.fstat(self._fd).st_dev
            with os.scandir(self._fd) as scan:
                self._names = {entry.inode(): entry.name for entry in scan}
        except OSError as error:
            os.close(self._fd)
            raise exception.VolumeDriverException(
                reason=f"cannot scan directory {driver.directory}: {error}"
            ) from error

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _lstat(self, name: str) -> os.stat_result | None:
        """lstat of ``name`` in the directory; None if it is not there, or is not a plain
        name (a provider location is never followed out of the directory)."""
        if not name or "/" in name or "\x00" in name or name in (".", ".."):
            return None
        try:
            return os.lstat(name, dir_fd=self._fd)
        except OSError:
            return None

    def check(self, volume: drift.AuditedVolume) -> drift.Drift | None:
        st = self._lstat(volume.managed_name)
        holder = None if st is None else file_identity(st)
        if st is not None and volume.identity in (None, holder):
            found = self._driver._object_bytes(self._fd, volume.managed_name, st)
            return None if found is None else drift.size_drift(volume, found)
        if volume.identity is not None:
            inode = _inode_of(volume.identity, self._device)
            name = None if inode is None else self._names.get(inode)
            if name is not None and name != volume.managed_name:
                moved = self._lstat(name)
                if moved is not None and file_identity(moved) == volume.identity:
                    return drift.renamed(volume, name, holder)
        return drift.gone(volume, holder)

    def managed_objects(self, known_ids: Container[str] = ()) -> Iterator[ManagedObject]:
        """The regular files of the scan whose names are in managed form, with their
        marks (one ``lstat`` and one ``getxattr`` per such file not known)."""
        real_dir = self._driver._real_dir()
        pattern = self._driver._managed_re
        named = ((name, volume_id_in(pattern, name)) for name in self._names.values())
        names = sorted(name for name, vid in named if vid is not None and vid not in known_ids)
        for name in names:
            st = self._lstat(name)
            if st is None or not stat.S_ISREG(st.st_mode):
                continue
            path = f"{real_dir}/{name}"
            mark, released = file_marks.read(path), file_marks.read_released(path)
            yield self._driver._managed_object(self._fd, name, st, mark, released)


class FileDriver(VolumeDriver):
    """Manages raw files in ``[file_backend] directory`` by renaming them."""

    vendor_name = "volmgr"
    driver_version = "1.0"
    storage_protocol = "file"
    conf_group = "file_backend"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.directory: str = conf[self.conf_group].directory
        self.pool_name: str = conf[self.conf_group].pool_name
        self._managed_re = managed_name_pattern(conf.volume.volume_name_template)
        # The directory descriptor a thread holds under the rename lock (manage_many).
        self._held = threading.local()

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
        LOG.info("%s manages regular files in %s", type(self).__name__, self._real_dir())

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
        """The directory descriptor, held under the per-directory rename lock; the one
        this thread already holds (a batch, :meth:`manage_many`) when it holds one."""
        held = getattr(self._held, "fd", None)
        if held is not None:
            yield held
            return
        with lockutils.lock(f"volmgr-file-driver-{self._real_dir()}"), self._opened_dir() as fd:
            self._held.fd = fd
            try:
                yield fd
            finally:
                self._held.fd = None

    @staticmethod
    def _lstat(fd: int, name: str) -> os.stat_result | None:
        """lstat of ``name`` in the directory ``fd``; None if it does not exist."""
        try:
            return os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            return None

    def _source_name(self, reference: Any, volume: Mapping[str, Any] | None = None) -> str:
        """The file name a reference names, or ManageExistingInvalidReference.

        A name in managed form is refused unless it is ``volume``'s own (a re-adoption).
        """
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
        own = volume is not None and name == self.managed_name(volume["id"])
        if self.is_managed_form(name) and not own:
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
        if stat.S_ISLNK(st.st_mode):
            self._invalid(reference, self._link_problem(name))
        if not stat.S_ISREG(st.st_mode):
            self._invalid(reference, f"not a regular file: it is {_file_kind(st.st_mode)}")
        problem = hard_link_problem(st)
        if problem:
            self._invalid(reference, problem)

    def _link_problem(self, name: str) -> str:
        """Why the symbolic link ``name`` is refused (where it points, when it still can
        be read: the name may change meanwhile, and is never followed to act on)."""
        real_dir = self._real_dir()
        try:
            inside = os.path.dirname(os.path.realpath(os.path.join(real_dir, name))) == real_dir
        except OSError:
            inside = False
        if inside:
            return (
                "the file is a symbolic link; symlinks are refused even when they point "
                "inside the directory"
            )
        return "the file is a symbolic link pointing outside the directory"

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

    def _volume_bytes(self, fd: int, name: str, st: os.stat_result, reference: Any) -> int:
        """Size in bytes of the volume the regular file ``name`` holds.

        Subclasses inspect the content here and refuse it with
        ManageExistingInvalidReference; a plain file is a raw volume of its length.
        """
        return st.st_size

    def _object_bytes(self, fd: int, name: str, st: os.stat_result) -> int | None:
        """Size in bytes of the volume the file ``name`` holds, as an audit or a
        listing of managed objects reports it (None when it cannot be told;
        subclasses read the content)."""
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def start_audit(self) -> DirectoryAudit:
        return DirectoryAudit(self)

    @staticmethod
    def _rename(fd: int, source: str, target: str) -> None:
        """Rename within the directory, never over an existing name (a symlink would be
        renamed, never followed)."""
        try:
            rename_noreplace(fd, source, target)
        except FileExistsError as error:
            raise exception.VolumeDriverException(
                reason=f"cannot rename {source} to {target}: {target} exists; refusing "
                "to overwrite it"
            ) from error
        except OSError as error:
            raise exception.VolumeDriverException(
                reason=f"cannot rename {source} to {target}: {error.strerror}"
            ) from error

    def _check_renamed(
        self,
        fd: int,
        source: str,
        target: str,
        expected: os.stat_result,
        reference: Any = None,
    ) -> None:
        """After renaming ``source`` to ``target``: unless ``target`` is the regular file
        ``expected`` (same device and inode), rename it back at once and fail.

        The failure is an invalid ``reference`` for a manage, a driver error for a
        put-back (``reference`` None).
        """
        st = self._lstat(fd, target)
        if st is not None and stat.S_ISREG(st.st_mode) and _same_file(st, expected):
            return
        found = "nothing" if st is None else f"{_file_kind(st.st_mode)} {file_identity(st)}"
        if st is not None and stat.S_ISREG(st.st_mode):
            found = f"another file {file_identity(st)}"
        what = (
            f"{source} was replaced during its rename to {target}: found {found}, not the "
            f"file {file_identity(expected)} that was checked"
        )
        if st is not None:
            try:
                rename_noreplace(fd, target, source)
            except OSError as error:
                raise exception.VolumeDriverException(
                    reason=f"{what}; it could not be renamed back: {error.strerror}"
                ) from error
        LOG.warning("%s; renamed it back", what)
        if reference is not None:
            self._invalid(reference, f"{what}; the rename was undone")
        raise exception.VolumeDriverException(reason=f"{what}; the rename was undone")

    # -- the contract --------------------------------------------------------------------

    def get_size(self, volume: VolumeRecord, reference: dict[str, Any]) -> int:
        name = self._source_name(reference, volume)
        with self._opened_dir() as fd:
            st = self._source_stat(fd, name, reference)
            found = name
            if st is None:
                found = self._target_name(volume)
                st = self._managed_stat(fd, found)
            if st is None:
                self._invalid(reference, f"no file {name!r} exists in {self.directory}")
            return size_in_gib(self._volume_bytes(fd, found, st, reference))

    def get_identity(self, volume: VolumeRecord, reference: dict[str, Any]) -> str:
        return self.describe(volume, reference).identity

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> BackendObject:
        """The file's ``device:inode``, its name as referenced and its volume's size in
        bytes (an image's virtual size), from one lstat."""
        name = self._source_name(reference, volume)
        with self._opened_dir() as fd:
            st = self._source_stat(fd, name, reference)
            found = name
            if st is None:
                found = self._target_name(volume)
                st = self._managed_stat(fd, found)
            if st is None:
                self._invalid(reference, f"no file {name!r} exists in {self.directory}")
            return BackendObject(
                file_identity(st), name, self._volume_bytes(fd, found, st, reference)
            )

    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        return self._manage_checked(volume, reference, identity, self._volume_bytes)

    def manage_many(self, calls: Sequence[ManageCall]) -> list[str | Exception]:
        """:meth:`manage` of each call under one hold of the directory's rename lock
        and one descriptor of it (a batch's renames, one after the other)."""
        with contextlib.ExitStack() as stack:
            # When the directory cannot be opened, each call meets the error on its own.
            with contextlib.suppress(exception.VolumeDriverException):
                stack.enter_context(self._locked_dir())
            return super().manage_many(calls)

    def _manage_checked(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        identity: str | None,
        check: Callable[[int, str, os.stat_result, Any], object],
    ) -> str:
        """:meth:`manage` with ``check`` run on the file before its rename."""
        name = self._source_name(reference, volume)
        target = self._target_name(volume)
        return self._rename_to_managed(
            f"Volume {volume['id']}", name, target, reference, identity, check, volume
        )

    def _rename_to_managed(
        self,
        owner: str,
        name: str,
        target: str,
        reference: Any,
        identity: str | None,
        check: Callable[[int, str, os.stat_result, Any], object],
        volume: Mapping[str, Any] | None = None,
    ) -> str:
        """Rename ``name`` to ``target`` under the directory's lock, once: the file that
        has ``identity`` (when given) and passes ``check`` (which refuses it with
        ManageExistingInvalidReference); already renamed by an earlier run, it is
        only checked. ``owner`` names the volume or snapshot in log lines. A
        ``volume``'s file gets its mark (``file_marks``), and one already under the
        volume's managed name is re-adopted where it stands."""
        with self._locked_dir() as fd:
            source_st = self._source_stat(fd, name, reference)
            if name == target and volume is not None:
                return self._readopt(fd, volume, source_st, identity, reference)
            target_st = self._managed_stat(fd, target)
            if source_st is None and target_st is not None:
                self._check_identity(target_st, identity, target, reference)
                if volume is not None:
                    self._mark(fd, target, target_st, volume, name)
                LOG.info("%s: %s is already renamed to %s", owner, name, target)
                return target
            if source_st is None:
                self._invalid(reference, f"no file {name!r} exists in {self.directory}")
            if target_st is not None:
                raise exception.VolumeDriverException(
                    reason=f"{target} already exists while {name} is still there; refusing "
                    "to overwrite it"
                )
            self._check_identity(source_st, identity, name, reference)
            check(fd, name, source_st, reference)
            self._rename(fd, name, target)
            self._check_renamed(fd, name, target, source_st, reference)
            if volume is not None:
                self._mark(fd, target, source_st, volume, name)
        LOG.debug("%s: renamed %s to %s", owner, name, target)
        return target

    def _readopt(
        self,
        fd: int,
        volume: Mapping[str, Any],
        st: os.stat_result | None,
        identity: str | None,
        reference: Any,
    ) -> str:
        """Manage an orphan where it stands (no rename): check it, refresh its mark
        (keeping the original name an earlier mark of this volume recorded)."""
        name = self._target_name(volume)
        if st is None:
            self._invalid(reference, f"no file {name!r} exists in {self.directory}")
        self._check_identity(st, identity, name, reference)
        self._volume_bytes(fd, name, st, reference)
        earlier = file_marks.read(os.path.join(self._real_dir(), name)) or {}
        same = earlier.get("volume_id") == volume["id"]
        self._mark(fd, name, st, volume, earlier.get("original_name") if same else None)
        LOG.info("Volume %s: re-adopted %s where it stands", volume["id"], name)
        return name

    @staticmethod
    def _mark(
        fd: int,
        name: str,
        expected: os.stat_result,
        volume: Mapping[str, Any],
        original_name: str | None,
    ) -> None:
        """Write volmgr's mark (``file_marks``) on ``name`` if it is still ``expected``,
        and set aside a release mark an earlier unmanage left: it is managed again
        (unless this manage is reverted, see :meth:`_release_again`)."""
        value = file_marks.mark_value(volume["id"], volume.get("project_id"), original_name)
        file_marks.mark_taken_back(fd, name, expected, value, manage_attempt(volume))

    def _release_again(self, volume: Mapping[str, Any], name: str) -> None:
        """After a reverted re-adoption of ``volume`` where it stands (``name``): the
        file is released again, with the time its release mark had."""
        with self._opened_dir() as fd:
            st = self._lstat(fd, name)
            if st is None or not stat.S_ISREG(st.st_mode):
                return
            if file_marks.restore_release(fd, name, st, manage_attempt(volume)):
                LOG.info("Volume %s: %s is marked released again", volume["id"], name)

    def _check_identity(
        self, st: os.stat_result, identity: str | None, name: str, reference: Any
    ) -> None:
        if identity is not None and file_identity(st) != identity:
            self._invalid(
                reference,
                f"{name} is no longer the file that was checked (it is {file_identity(st)}, "
                f"not {identity})",
            )

    def undo_manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> None:
        name = self._source_name(reference, volume)
        target = self._target_name(volume)
        identity = identity or volume.get("backend_identity")
        if name == target:
            LOG.info("Volume %s: re-adopted where it stands; nothing to put back", volume["id"])
            self._release_again(volume, name)
            return
        self._rename_back_from_managed(
            f"Volume {volume['id']}", name, target, reference, identity, manage_attempt(volume)
        )

    def _rename_back_from_managed(
        self,
        owner: str,
        name: str,
        target: str,
        reference: Any,
        identity: str | None,
        attempt: str | None = None,
    ) -> None:
        """Rename ``target`` back to ``name`` if it is the file ``identity`` (the one
        ``owner``, a volume or snapshot, recorded), dropping volmgr's mark and giving
        back the release mark the manage ``attempt`` set aside; nothing there: nothing
        to do."""
        with self._locked_dir() as fd:
            target_st = self._managed_stat(fd, target)
            if target_st is None:
                source_st = self._source_lstat(fd, name, reference)
                if source_st is None:
                    LOG.warning(
                        "%s: neither %s nor %s exists; nothing to put back", owner, target, name
                    )
                elif identity is not None and file_identity(source_st) == identity:
                    # A put-back interrupted before it dropped the mark.
                    file_marks.remove_if_same(fd, name, source_st)
                    if attempt is not None:
                        file_marks.restore_release(fd, name, source_st, attempt)
                return
            if identity is None or file_identity(target_st) != identity:
                raise exception.VolumeDriverException(
                    reason=f"{target} is the file {file_identity(target_st)}, not the one "
                    f"{owner.lower()} recorded ({identity or 'none recorded'}); "
                    "leaving it where it is"
                )
            self._rename(fd, target, name)
            self._check_renamed(fd, target, name, target_st)
            file_marks.remove_if_same(fd, name, target_st)
            if attempt is not None and file_marks.restore_release(fd, name, target_st, attempt):
                LOG.info("%s: %s is marked released again", owner, name)
        LOG.info("%s: renamed %s back to %s", owner, target, name)

    def unmanage(self, volume: VolumeRecord) -> None:
        name = volume.get("provider_location") or self.managed_name(volume["id"])
        if plain_name_problem(name):
            LOG.warning("Volume %s: unexpected provider location %r", volume["id"], name)
            return
        with self._opened_dir() as fd:
            st = self._lstat(fd, name)
            if st is None or not stat.S_ISREG(st.st_mode):
                LOG.warning("Volume %s: %s is missing or not a regular file", volume["id"], name)
                return
            when = release_time().encode()
            file_marks.write_if_same(fd, name, st, when, RELEASED_ATTRIBUTE)
            file_marks.remove_if_same(fd, name, st, file_marks.RELEASE_ASIDE)
        LOG.info(
            "Volume %s: unmanaged; %s stays in %s, marked released",
            volume["id"],
            name,
            self.directory,
        )

    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        check_page_parameters(page)
        with self._opened_dir() as fd:
            with os.scandir(fd) as scan:
                names = [entry.name for entry in scan]
            describe = functools.cache(functools.partial(self._describe, fd))
            rest = paginate(
                names,
                str,
                lambda name: -1 if (found := describe(name)) is None else found.size,
                dataclasses.replace(page, limit=None),
            )
            # Entries removed since the scan are skipped; the page is still filled.
            described = ((name, describe(name)) for name in rest)
            kept = ((n, d) for n, d in described if d is not None)
            listed = list(itertools.islice(kept, page.limit))
        return [self._listing_entry(name, found, managed) for name, found in listed]

    def _managed_object(
        self,
        fd: int,
        name: str,
        st: os.stat_result,
        mark: dict[str, str] | None,
        released: str | None = None,
    ) -> ManagedObject:
        volume_id = volume_id_in(self._managed_re, name) or ""
        own = mark is not None and mark.get("volume_id") == volume_id
        marks: tuple[str, ...] = ()
        if mark is not None:
            marks += (f"{file_marks.ATTRIBUTE}={json.dumps(mark)}",)
        if released is not None:
            marks += (f"{RELEASED_ATTRIBUTE}={released}",)
        return ManagedObject(
            name=name,
            volume_id=volume_id,
            identity=file_identity(st),
            size_bytes=self._object_bytes(fd, name, st),
            original_name=mark.get("original_name") if own and mark else None,
            project_id=mark.get("project_id") if own and mark else None,
            marks=marks,
        )

    def _describe(self, fd: int, name: str) -> Described | None:
        """lstat (and, in subclasses, content) of one entry; None if it vanished."""
        try:
            st = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return Described(st, 0)
        return Described(st, size_in_gib(st.st_size), size_bytes=st.st_size)

    def fingerprints(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """One scan of the directory (or one lstat per name given), as the listing
        describes entries; identity ``device:inode`` and the file's ``mtime_ns``. A
        name that is not a plain file name cannot be in the directory: it is absent."""
        with self._opened_dir() as fd:
            if names is None:
                with os.scandir(fd) as scan:
                    names = [entry.name for entry in scan]
            else:
                names = [name for name in names if plain_name_problem(name) is None]
            found = ((name, self._describe_if_any(fd, name)) for name in names)
            return {name: self._fingerprint(name, d) for name, d in found if d is not None}

    def _describe_if_any(self, fd: int, name: str) -> Described | None:
        """:meth:`_describe`, None for a name that cannot exist (too long, …)."""
        try:
            return self._describe(fd, name)
        except OSError as error:
            LOG.debug("No fingerprint for %r: %s", name, error.strerror)
            return None

    def _fingerprint(self, name: str, described: Described) -> dict[str, Any]:
        st = described.st
        reason = self._not_safe_reason(name, st, None) or described.problem
        return fingerprint(
            name, described.size_bytes, file_identity(st), reason, mtime_ns=st.st_mtime_ns
        )

    def _listing_entry(
        self, name: str, described: Described, managed: Mapping[str, str]
    ) -> dict[str, Any]:
        cinder_id = managed.get(name)
        reason = self._not_safe_reason(name, described.st, cinder_id) or described.problem
        return manageable_entry(name, described.size, reason, cinder_id, described.extra_info)

    def _not_safe_reason(self, name: str, st: os.stat_result, cinder_id: str | None) -> str | None:
        if cinder_id is not None:
            return "already managed"
        if self.is_managed_form(name):
            return "name is in managed form but no volume holds it; rename it to manage it"
        if self.is_managed_snapshot_form(name):
            return SNAPSHOT_FORM
        if stat.S_ISLNK(st.st_mode):
            return "symbolic link; symlinks are never managed"
        if not stat.S_ISREG(st.st_mode):
            return f"not a regular file: it is {_file_kind(st.st_mode)}"
        return hard_link_problem(st) or plain_name_problem(name)

    def get_capabilities(self) -> dict[str, Any]:
        real_dir = self._real_dir()
        fs = os.statvfs(real_dir)
        pool = {
            "pool_name": self.pool_name,
            "total_capacity_gb": gib_floor(fs.f_blocks * fs.f_frsize),
            "free_capacity_gb": gib_floor(fs.f_bavail * fs.f_frsize),
            "allocated_capacity_gb": self._allocated_gb(),
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

    def _allocated_gb(self) -> int:
        """Sum of the volume sizes (whole GiB each) of the regular files in managed form."""
        total = 0
        with self._opened_dir() as fd:
            with os.scandir(fd) as scan:
                names = [entry.name for entry in scan if self.is_managed_form(entry.name)]
            for name in names:
                found = self._describe(fd, name)
                if found is not None and stat.S_ISREG(found.st.st_mode):
                    total += found.size
        return total
