"""Rename within one directory without ever replacing what is under the new name.

:func:`rename_noreplace` is ``renameat2(fd, old, fd, new, RENAME_NOREPLACE)``: the
kernel refuses (EEXIST) when ``new`` exists, in the same step as the rename, so a
file that appears under the new name after a check is never overwritten. glibc has
had the wrapper since 2.28 and Linux the call since 3.15. Where neither the call
nor the flag is available (another OS, a file system without the flag), the name
is checked with ``lstat`` and ``os.rename`` is used: the check and the rename are
then two steps, which the callers' identity checks after the rename still cover.
"""

import ctypes
import ctypes.util
import errno
import os
from typing import Any

RENAME_NOREPLACE = 1

_renameat2: Any = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    _renameat2 = _libc.renameat2
    _renameat2.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    _renameat2.restype = ctypes.c_int
except (AttributeError, OSError):  # no renameat2 in this C library
    _renameat2 = None


def rename_noreplace(fd: int, old: str, new: str) -> None:
    """Rename ``old`` to ``new`` in the directory ``fd``; FileExistsError if ``new`` exists.

    Symbolic links are renamed, never followed. Other failures raise OSError.
    """
    if _renameat2 is not None:
        result = _renameat2(fd, os.fsencode(old), fd, os.fsencode(new), RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(code, os.strerror(code), old, None, new)
    try:
        os.lstat(new, dir_fd=fd)
    except FileNotFoundError:
        os.rename(old, new, src_dir_fd=fd, dst_dir_fd=fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), old, None, new)
