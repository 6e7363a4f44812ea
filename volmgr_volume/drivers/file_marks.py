"""volmgr's mark on a managed file: one extended attribute saying whose volume it is.

At manage, the file and image drivers write ``user.volmgr.origin`` on the file they
renamed: ``{"volume_id", "project_id", "original_name"}`` as compact JSON, one
``fsetxattr`` on a descriptor of the file opened without following links (the
content, size and modification time are not touched; only the change time moves).
``undo_manage`` removes it when it puts the file back; ``unmanage`` leaves it, as
it leaves the name, and adds the release mark ``user.volmgr.released=<UTC time>``:
the user let the volume go, so an audit lists the file as a released orphan that
``readopt --all`` leaves alone. A manage that takes a released file back (a
re-adoption by name, or a manage of the file renamed by hand) sets the release mark
aside (``user.volmgr.released-before=<manage> <time>``, the manage named by
:func:`~volmgr_volume.drivers.base.manage_attempt`): when that manage is
reverted, the file is released again with the time it had; after a manage that
succeeded, the next unmanage drops what was set aside.
The orphan listing reads the mark to tell which project a file in managed form was
managed for, and under which name it came.

A file system without user extended attributes (some network file systems, or
mounts without ``user_xattr``) refuses the write: the manage goes on without a
mark, and re-adopting such a file needs the project from the admin.
"""

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from typing import Any

from oslo_log import log as logging

from volmgr_volume.drivers.base import RELEASED_ATTRIBUTE

LOG = logging.getLogger(__name__)

ATTRIBUTE = "user.volmgr.origin"
UNSUPPORTED = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES, errno.E2BIG)
"""What a file system answers when it keeps no user extended attribute for us."""
MAX_MARK_BYTES = 4096
RELEASE_ASIDE = "user.volmgr.released-before"
"""Where a manage that takes a released file back keeps its release mark
(``<manage attempt> <time>``) until the manage is done."""


def mark_value(volume_id: str, project_id: str | None, original_name: str | None) -> bytes:
    """The mark's bytes for a volume of ``project_id`` that came as ``original_name``."""
    mark = {"volume_id": volume_id, "project_id": project_id, "original_name": original_name}
    return json.dumps(mark, sort_keys=True, separators=(",", ":")).encode()


def write(file_fd: int, value: bytes, attribute: str = ATTRIBUTE) -> bool:
    """Set the mark (or the release mark) on an open file; False (logged) when its file
    system keeps none."""
    try:
        os.setxattr(file_fd, attribute, value)
    except OSError as error:
        if error.errno not in UNSUPPORTED:
            raise
        LOG.debug("No %s mark: the file system refuses it (%s)", attribute, error.strerror)
        return False
    return True


def remove(file_fd: int, attribute: str = ATTRIBUTE) -> None:
    """Drop the mark (or the release mark) from an open file, if it has one."""
    try:
        os.removexattr(file_fd, attribute)
    except OSError as error:
        if error.errno not in (errno.ENODATA, *UNSUPPORTED):
            raise


@contextlib.contextmanager
def _opened_file(dir_fd: int, name: str, expected: os.stat_result) -> Iterator[int | None]:
    """A read-only descriptor of ``name`` in ``dir_fd`` (never following a link) if it is
    still the file ``expected`` (same device and inode); None otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        file_fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        yield None
        return
    try:
        st = os.fstat(file_fd)
        same = (st.st_dev, st.st_ino) == (expected.st_dev, expected.st_ino)
        yield file_fd if same else None
    finally:
        os.close(file_fd)


def write_if_same(
    dir_fd: int, name: str, expected: os.stat_result, value: bytes, attribute: str = ATTRIBUTE
) -> None:
    """:func:`write` on ``name`` in ``dir_fd`` if it is still the file ``expected``."""
    with _opened_file(dir_fd, name, expected) as file_fd:
        if file_fd is not None:
            write(file_fd, value, attribute)


def remove_if_same(
    dir_fd: int, name: str, expected: os.stat_result, attribute: str = ATTRIBUTE
) -> None:
    """:func:`remove` on ``name`` in ``dir_fd`` if it is still the file ``expected``."""
    with _opened_file(dir_fd, name, expected) as file_fd:
        if file_fd is not None:
            remove(file_fd, attribute)


def _get(file_fd: int, attribute: str) -> bytes | None:
    try:
        return os.getxattr(file_fd, attribute)
    except OSError:
        return None


def mark_taken_back(
    dir_fd: int, name: str, expected: os.stat_result, value: bytes, attempt: str
) -> None:
    """Mark ``name`` (if it is still the file ``expected``) with the mark ``value``, and
    set a release mark an earlier unmanage left aside (:data:`RELEASE_ASIDE`, for the
    manage ``attempt``): the file is managed again, unless this manage is reverted
    (:func:`restore_release`). What an older manage set aside is dropped."""
    with _opened_file(dir_fd, name, expected) as file_fd:
        if file_fd is None or not write(file_fd, value):
            return
        released = _get(file_fd, RELEASED_ATTRIBUTE)
        if released is None:  # nothing to set aside; drop what an older manage set aside
            aside = _get(file_fd, RELEASE_ASIDE)
            if aside is not None and aside.partition(b" ")[0] != attempt.encode():
                remove(file_fd, RELEASE_ASIDE)
            return
        write(file_fd, attempt.encode() + b" " + released, RELEASE_ASIDE)
        remove(file_fd, RELEASED_ATTRIBUTE)


def restore_release(dir_fd: int, name: str, expected: os.stat_result, attempt: str) -> bool:
    """After the manage ``attempt`` was reverted: give ``name`` (if it is still the file
    ``expected``) back the release mark that manage set aside; whether it had one."""
    with _opened_file(dir_fd, name, expected) as file_fd:
        aside = None if file_fd is None else _get(file_fd, RELEASE_ASIDE)
        if file_fd is None or aside is None:
            return False
        owner, _, released = aside.partition(b" ")
        if owner != attempt.encode() or not released:
            return False
        write(file_fd, released, RELEASED_ATTRIBUTE)
        remove(file_fd, RELEASE_ASIDE)
        return True


def read_released(path: str) -> str | None:
    """The time the release mark of the file at ``path`` records (never following a
    link); None when it has none."""
    try:
        raw = os.getxattr(path, RELEASED_ATTRIBUTE, follow_symlinks=False)
    except OSError:
        return None
    try:
        return raw[:64].decode("ascii")
    except UnicodeDecodeError:
        return None


def read(path: str) -> dict[str, Any] | None:
    """The mark of the file at ``path`` (never following a link), None when it has none
    or the mark is not one volmgr wrote."""
    try:
        raw = os.getxattr(path, ATTRIBUTE, follow_symlinks=False)
    except OSError:
        return None
    if len(raw) > MAX_MARK_BYTES:
        return None
    try:
        mark = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(mark, dict):
        return None
    return {key: value for key, value in mark.items() if isinstance(value, str)}
